#include "params.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>
#include <cstdlib>

#include "router.hpp"

namespace bxserver {
namespace {

namespace rj = rapidjson;
using banxway::InvalidArgument;
using banxway::Result;
using banxway::Status;

ParamKind kind_from_type_name(std::string_view t) {
  if (t == "string") return ParamKind::string;
  if (t == "integer") return ParamKind::integer;
  if (t == "number") return ParamKind::number;
  if (t == "boolean") return ParamKind::boolean;
  if (t == "array") return ParamKind::array;
  return ParamKind::other;
}

// "type" may be a name or a list such as ["string","null"]; a query value is never null, so
// the first non-null type decides.
ParamKind kind_of(const rj::Value& schema) {
  if (!schema.IsObject()) return ParamKind::other;
  auto t = schema.FindMember("type");
  if (t == schema.MemberEnd()) return ParamKind::other;
  if (t->value.IsString()) return kind_from_type_name(t->value.GetString());
  if (t->value.IsArray()) {
    for (const auto& v : t->value.GetArray())
      if (v.IsString() && std::string_view(v.GetString()) != "null")
        return kind_from_type_name(v.GetString());
  }
  return ParamKind::other;
}

std::unique_ptr<OpSpec> spec_from(const banxway::OperationInfo& info) {
  auto spec = std::make_unique<OpSpec>();
  spec->name = info.name;
  spec->is_list = info.is_list;
  auto dot = info.name.find('.');
  // An invitation creates a user too: 201 like any other create.
  spec->is_create = dot != std::string::npos && (info.name.compare(dot + 1, 6, "create") == 0 ||
                                                 info.name.compare(dot + 1, 6, "invite") == 0);
  spec->is_accepted = dot != std::string::npos && info.name.substr(dot + 1) == "send";
  rj::Document d;
  d.Parse(info.params_schema.data(), info.params_schema.size());
  if (d.HasParseError() || !d.IsObject()) return spec;
  auto props = d.FindMember("properties");
  if (props == d.MemberEnd() || !props->value.IsObject()) return spec;
  for (const auto& p : props->value.GetObject()) {
    std::string key(p.name.GetString(), p.name.GetStringLength());
    ParamKind k = kind_of(p.value);
    if (k == ParamKind::array && p.value.HasMember("items"))
      spec->item_kinds[key] = kind_of(p.value["items"]);
    spec->props.emplace(std::move(key), k);
  }
  return spec;
}

Status bad_param(std::string_view name, std::string message) {
  std::string details = "{\"param\":\"";
  for (char c : name) {
    // Names come from the client; keep the details JSON valid whatever they contain.
    if (c == '"' || c == '\\') details += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) details += c;
  }
  details += "\"}";
  return InvalidArgument(std::move(message), std::move(details));
}

// Converts one query value to the JSON type the schema wants. Returns false when it cannot.
bool coerce(ParamKind kind, const std::string& text, rj::Value& out,
            rj::Document::AllocatorType& a) {
  const char* b = text.data();
  const char* e = b + text.size();
  switch (kind) {
    case ParamKind::integer: {
      int64_t v = 0;
      auto [p, ec] = std::from_chars(b, e, v);
      if (ec != std::errc() || p != e) return false;
      out.SetInt64(v);
      return true;
    }
    case ParamKind::number: {
      if (text.empty()) return false;
      char* end = nullptr;
      double v = std::strtod(b, &end);
      if (end != e) return false;
      out.SetDouble(v);
      return true;
    }
    case ParamKind::boolean:
      if (text == "true" || text == "1")
        out.SetBool(true);
      else if (text == "false" || text == "0")
        out.SetBool(false);
      else
        return false;
      return true;
    default:
      out.SetString(text.data(), static_cast<rj::SizeType>(text.size()), a);
      return true;
  }
}

const char* kind_label(ParamKind k) {
  switch (k) {
    case ParamKind::integer:
      return "an integer";
    case ParamKind::number:
      return "a number";
    case ParamKind::boolean:
      return "true or false";
    default:
      return "a string";
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// Adds one decoded query pair to `doc`. `from_query` lists the keys the query already set, so a
// repeated key is an error (except for arrays, where repetition is how a list is written).
Status add_query_pair(const OpSpec& op, const std::string& key, const std::string& text,
                      rj::Document& doc, std::vector<std::string>& from_query) {
  auto& a = doc.GetAllocator();
  auto pk = op.props.find(key);
  ParamKind kind = pk == op.props.end() ? ParamKind::string : pk->second;
  bool seen = false;
  for (const auto& k : from_query) seen = seen || k == key;

  rj::Value v;
  ParamKind want = kind;
  if (kind == ParamKind::array) {
    auto ik = op.item_kinds.find(key);
    want = ik == op.item_kinds.end() ? ParamKind::string : ik->second;
  }
  if (!coerce(want, text, v, a))
    return bad_param(
        key, "query parameter '" + key + "' must be " + kind_label(want) + ", got '" + text + "'");

  auto existing = doc.FindMember(rj::Value(rj::StringRef(key.data(), key.size())));
  if (kind == ParamKind::array) {
    if (existing != doc.MemberEnd() && !seen)
      return bad_param(key, "parameter '" + key + "' is given in both the query and the body");
    if (existing == doc.MemberEnd()) {
      rj::Value arr(rj::kArrayType);
      arr.PushBack(v, a);
      doc.AddMember(rj::Value(key.c_str(), static_cast<rj::SizeType>(key.size()), a), arr, a);
    } else {
      existing->value.PushBack(v, a);
    }
  } else if (seen) {
    return bad_param(key, "query parameter '" + key + "' is given more than once");
  } else if (existing != doc.MemberEnd()) {
    if (existing->value != v)
      return bad_param(key, "query parameter '" + key + "' contradicts the body");
  } else {
    doc.AddMember(rj::Value(key.c_str(), static_cast<rj::SizeType>(key.size()), a), v, a);
  }
  if (!seen) from_query.push_back(key);
  return Status::OK();
}

Status merge_query(const OpSpec& op, std::string_view query, rj::Document& doc) {
  std::vector<std::string> from_query;
  std::string key, value;
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    std::string_view k = pair.substr(0, eq);
    std::string_view v = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (!percent_decode(k, key, true) || !percent_decode(v, value, true))
      return InvalidArgument("malformed %-escape in the query string near '" +
                             std::string(pair.substr(0, 64)) + "'");
    if (key.empty()) continue;
    BX_RETURN_IF_ERROR(add_query_pair(op, key, value, doc, from_query));
  }
  return Status::OK();
}

Status merge_path_id(const ParamsInput& in, rj::Document& doc) {
  auto& a = doc.GetAllocator();
  std::string_view name = in.id_param;
  auto existing = doc.FindMember(rj::Value(rj::StringRef(name.data(), name.size())));
  if (existing != doc.MemberEnd()) {
    const auto& v = existing->value;
    bool same = v.IsString() && std::string_view(v.GetString(), v.GetStringLength()) == in.id_value;
    if (same) return Status::OK();
    std::string msg(name);  // appended piecewise: GCC 12 warns falsely on "'" + std::string
    msg += " in the request does not match the id in the path";
    return bad_param(name, std::move(msg));
  }
  doc.AddMember(rj::Value(name.data(), static_cast<rj::SizeType>(name.size()), a),
                rj::Value(in.id_value.data(), static_cast<rj::SizeType>(in.id_value.size()), a), a);
  return Status::OK();
}

}  // namespace

OpCatalog::OpCatalog(const std::vector<banxway::OperationInfo>& ops) {
  for (const auto& info : ops) {
    specs_.push_back(spec_from(info));
    names_.push_back(info.name);
  }
  for (const auto& s : specs_) by_name_.emplace(s->name, s.get());
}

const OpSpec* OpCatalog::find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

Result<std::string> build_params(const OpSpec& op, const ParamsInput& in) {
  if (in.query.empty() && in.id_param.empty()) return std::string(in.body);

  rj::Document doc;
  if (!trim(in.body).empty()) {
    doc.Parse<rj::kParseValidateEncodingFlag>(in.body.data(), in.body.size());
    // Not an object, or not JSON: let the engine's validation describe the problem.
    if (doc.HasParseError() || !doc.IsObject()) return std::string(in.body);
  } else {
    doc.SetObject();
  }
  BX_RETURN_IF_ERROR(merge_query(op, in.query, doc));
  if (!in.id_param.empty()) BX_RETURN_IF_ERROR(merge_path_id(in, doc));

  rj::StringBuffer sb;
  rj::Writer<rj::StringBuffer, rj::UTF8<>, rj::UTF8<>, rj::CrtAllocator,
             rj::kWriteValidateEncodingFlag>
      w(sb);
  if (!doc.Accept(w)) return InvalidArgument("query string and path must be valid UTF-8");
  return std::string(sb.GetString(), sb.GetSize());
}

}  // namespace bxserver
