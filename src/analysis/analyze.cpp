#include "analysis/analyze.hpp"

#include "analysis/lexicon.hpp"
#include "core/json.hpp"

namespace banxway::analysis {

Analysis analyze(std::string_view subject, std::string_view text, const ExtractOptions& opt) {
  // One tokenization of subject + text serves both halves; the blank line between them is a
  // sentence break, so no phrase or context runs from the subject into the text.
  std::string joined = joined_message(subject, text);
  Tokens toks;
  tokenize(joined, toks);
  Analysis a;
  a.extraction = extract_tokens(joined, toks, opt);
  a.cls = classify_tokens(joined, toks, first_body_token(toks, analyzed_prefix(subject).size()));
  return a;
}

namespace {

void string_array(json::Writer& w, std::string_view name, const std::vector<std::string>& v) {
  json::key(w, name);
  w.StartArray();
  for (const auto& s : v) json::write_str(w, s);
  w.EndArray();
}

}  // namespace

std::string to_json(const Analysis& a) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  const Classification& c = a.cls;
  const Entities& e = a.extraction.entities;
  w.StartObject();
  json::key(w, "intent");
  json::write_str(w, c.intent);
  json::key(w, "intent_confidence");
  w.Double(c.intent_confidence);
  json::key(w, "sentiment");
  json::write_str(w, c.sentiment);
  json::key(w, "sentiment_score");
  w.Double(c.sentiment_score);
  json::key(w, "urgency");
  json::write_str(w, c.urgency);
  json::key(w, "language");
  json::write_str(w, c.language);
  string_array(w, "requested_documents", c.requested_documents);
  string_array(w, "submitted_documents", c.submitted_documents);
  json::key(w, "entities");
  w.StartObject();
  string_array(w, "containers", e.containers);
  string_array(w, "awbs", e.awbs);
  string_array(w, "bls", e.bls);
  string_array(w, "bookings", e.bookings);
  string_array(w, "ports", e.ports);
  string_array(w, "incoterms", e.incoterms);
  string_array(w, "hs_codes", e.hs_codes);
  string_array(w, "imos", e.imos);
  json::key(w, "dates");
  w.StartArray();
  for (const DateRef& d : e.dates) {
    w.StartObject();
    json::key(w, "kind");
    json::write_str(w, d.kind);
    json::key(w, "date");
    json::write_str(w, d.date);
    json::key(w, "raw");
    json::write_str(w, d.raw);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  json::key(w, "rejected");
  w.StartArray();
  for (const Rejected& r : a.extraction.rejected) {
    w.StartObject();
    json::key(w, "kind");
    json::write_str(w, r.kind);
    json::key(w, "raw");
    json::write_str(w, r.raw);
    json::key(w, "reason");
    json::write_str(w, r.reason);
    w.EndObject();
  }
  w.EndArray();
  json::key(w, "sources");
  w.StartObject();
  for (const char* k : {"intent", "sentiment", "urgency", "language", "entities"}) {
    w.Key(k);
    w.String("rules");
  }
  w.EndObject();
  json::key(w, "source");
  w.String("rules");
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace banxway::analysis
