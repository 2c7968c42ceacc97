// Pieces of WhatsApp's message JSON that more than one adapter writes: Exotel's v2 API wraps
// Meta's Cloud API content object, so both build templates the same way.
#pragma once

#include <string>
#include <vector>

#include "core/json.hpp"

namespace banxway::messaging {

/// A template's body component: {"type":"body","parameters":[{"type":"text","text":…},…]}.
inline void write_template_body(json::Writer& w, const std::vector<std::string>& params) {
  w.StartObject();
  json::key(w, "type");
  json::write_str(w, "body");
  json::key(w, "parameters");
  w.StartArray();
  for (const auto& p : params) {
    w.StartObject();
    json::key(w, "type");
    json::write_str(w, "text");
    json::key(w, "text");
    json::write_str(w, p);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

/// The start of a template object up to its components: "name" and "language":{"code"}
/// (default "en"); the caller writes "components" (if any) and closes the object.
inline void write_template_head(json::Writer& w, const std::string& name,
                                const std::string& language) {
  json::key(w, "name");
  json::write_str(w, name);
  json::key(w, "language");
  w.StartObject();
  json::key(w, "code");
  json::write_str(w, language.empty() ? std::string("en") : language);
  w.EndObject();
}

}  // namespace banxway::messaging
