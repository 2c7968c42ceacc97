// The email ingest pipeline: normalize -> identify -> thread -> persist -> emit, one
// transaction per message (or per batch for imports). Idempotent: a message seen before
// (same Message-ID, or same raw bytes when it has none) returns the stored one and writes nothing.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/context.hpp"

namespace banxway::pipeline {

struct IngestOptions {
  std::optional<std::string> channel_account_id;
  /// When the message arrived (for a missing or broken Date); default: now.
  std::optional<TimePoint> arrived_at;
};

struct IngestResult {
  std::string message_id;  // the stored message's row id
  std::string thread_id;
  bool duplicate = false;
  bool new_thread = false;
  std::string reason;      // how the thread was chosen (see threading.hpp)
  std::vector<std::string> merged;  // threads merged into thread_id
  std::vector<std::string> warnings;
  std::string message_json;  // the stored message (for the API response)
};

/// Ingests one raw RFC 5322 message for ctx's organization.
Result<IngestResult> ingest_email(api::Ctx& ctx, std::string_view raw, const IngestOptions& opts = {});

/// Ingests many messages, `batch` per transaction (imports). A message that fails is reported in
/// its slot and does not stop the others (its batch is retried one message at a time).
std::vector<Result<IngestResult>> ingest_email_batch(api::Ctx& ctx,
                                                     const std::vector<std::string_view>& raws,
                                                     size_t batch = 200,
                                                     const IngestOptions& opts = {});

}  // namespace banxway::pipeline
