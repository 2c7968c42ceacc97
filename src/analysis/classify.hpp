// Rule-based classification of a message: intent, sentiment, urgency, language and the
// documents it asks for. Keyword and phrase weights come from data/analysis/lexicon.tsv;
// the rules are in docs/ANALYSIS.md. Deterministic, no model.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace banxway::analysis {

struct Classification {
  std::string intent;  // rate_request booking status_inquiry document_submission
                       // document_request complaint invoice_query customs pickup delivery other
  double intent_confidence = 0;
  std::string sentiment;                         // negative neutral positive
  double sentiment_score = 0;                    // [-1, 1]
  std::string urgency;                           // low normal high
  std::string language;                          // ISO 639-1 or "und"
  std::vector<std::string> requested_documents;  // asked for ("please send the packing list")
  std::vector<std::string> submitted_documents;  // sent with it ("attached is the packing list")
};

/// Only the first 64 KiB of text are read.
Classification classify(std::string_view subject, std::string_view text);

struct Tokens;
/// The same on subject and text already joined (joined_message) and tokenized, for analyze():
/// tokens before body_token are the subject's.
Classification classify_tokens(std::string_view joined, const Tokens& toks, size_t body_token);

/// subject + blank line + text, each cut to 64 KiB at a character boundary.
std::string joined_message(std::string_view subject, std::string_view text);
/// The index of the first token at or after byte subject_bytes.
size_t first_body_token(const Tokens& toks, size_t subject_bytes);

}  // namespace banxway::analysis
