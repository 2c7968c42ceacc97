// inbound.email: hand banxway one raw RFC 5322 message (MTA pipes, tools, tests).
#include "api/registry.hpp"
#include "core/crypto.hpp"
#include "pipeline/ingest.hpp"
#include "services/common.hpp"

namespace banxway::api {

std::string ingest_result_json(const pipeline::IngestResult& r) {
  std::string j = "{\"message\":" + r.message_json + ",\"thread_id\":" + json::quote(r.thread_id) +
                   ",\"duplicate\":" + (r.duplicate ? "true" : "false") + ",\"new_thread\":" +
                   (r.new_thread ? "true" : "false") + ",\"threaded_by\":" +
                   (r.reason.empty() ? std::string("null") : json::quote(r.reason)) +
                   ",\"merged\":[";
  for (size_t i = 0; i < r.merged.size(); ++i) j += (i ? "," : "") + json::quote(r.merged[i]);
  j += "],\"warnings\":[";
  for (size_t i = 0; i < r.warnings.size(); ++i) j += (i ? "," : "") + json::quote(r.warnings[i]);
  return j + "]}";
}

void register_inbound_ops(Registry& r) {
  r.add("inbound.email",
        "Ingest one raw RFC 5322 message (as text in `raw`, or as base64 in `raw_base64` when it "
        "holds 8-bit bytes that are not UTF-8); idempotent by Message-ID",
        Permission::write,
        R"({"type":"object","properties":{
            "raw":{"type":"string","minLength":1},
            "raw_base64":{"type":"string","minLength":1},
            "channel_account_id":{"type":"string","format":"uuid"}}})",
        [](Ctx& ctx, json::Value& p) -> Result<std::string> {
          auto raw = param_str(p, "raw");
          auto b64 = param_str(p, "raw_base64");
          if (raw.has_value() == b64.has_value())
            return InvalidArgument("raw: give exactly one of raw and raw_base64",
                                   "{\"field\":\"raw\"}");
          std::string bytes;
          if (b64) {
            std::string cleaned;
            for (char ch : *b64)
              if (ch != '\n' && ch != '\r') cleaned.push_back(ch);
            if (!crypto::base64_decode(cleaned, &bytes))
              return InvalidArgument("raw_base64: not valid base64", "{\"field\":\"raw_base64\"}");
          }
          pipeline::IngestOptions o;
          if (auto acct = param_str(p, "channel_account_id")) {
            services::DbReader c(ctx.db());
            BX_RETURN_IF_ERROR(services::require_ref(c, ctx, "channel_accounts", *acct,
                                                     "channel_account_id"));
            o.channel_account_id = *acct;
          }
          BX_ASSIGN_OR_RETURN(auto res, pipeline::ingest_email(ctx, b64 ? bytes : *raw, o));
          return ingest_result_json(res);
        });
}

}  // namespace banxway::api
