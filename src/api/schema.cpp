#include "api/schema.hpp"

#include <cctype>
#include <cmath>

#include "core/env.hpp"

namespace banxway::api {
namespace {

Result<std::unique_ptr<SchemaNode>> compile_node(const json::Value& v, const std::string& path) {
  if (!v.IsObject()) return Internal("schema at " + path + " is not an object");
  auto n = std::make_unique<SchemaNode>();
  auto type_bit = [](std::string_view t) -> unsigned {
    if (t == "string") return SchemaNode::kString;
    if (t == "integer") return SchemaNode::kInteger;
    if (t == "number") return SchemaNode::kNumber;
    if (t == "boolean") return SchemaNode::kBoolean;
    if (t == "object") return SchemaNode::kObject;
    if (t == "array") return SchemaNode::kArray;
    if (t == "null") return SchemaNode::kNull;
    return 0;
  };
  if (auto* t = json::get(v, "type")) {
    if (t->IsString()) {
      n->types = type_bit(t->GetString());
    } else if (t->IsArray()) {
      for (auto& e : t->GetArray())
        if (e.IsString()) n->types |= type_bit(e.GetString());
    }
    if (!n->types) return Internal("schema at " + path + " has an unknown type");
  }
  if (auto* p = json::get(v, "properties"); p && p->IsObject()) {
    for (auto& m : p->GetObject()) {
      std::string name = m.name.GetString();
      BX_ASSIGN_OR_RETURN(auto child, compile_node(m.value, path + "." + name));
      n->properties.emplace_back(name, std::move(child));
    }
  }
  if (auto* r = json::get(v, "required"); r && r->IsArray())
    for (auto& e : r->GetArray()) n->required.emplace_back(e.GetString());
  if (auto b = json::get_bool(v, "additionalProperties")) n->additional = *b;
  if (auto* e = json::get(v, "enum"); e && e->IsArray())
    for (auto& x : e->GetArray())
      if (x.IsString()) n->enum_values.emplace_back(x.GetString());
  if (auto x = json::get_int(v, "minLength")) n->min_length = *x;
  if (auto x = json::get_int(v, "maxLength")) n->max_length = *x;
  if (auto x = json::get_int(v, "minItems")) n->min_items = *x;
  if (auto x = json::get_int(v, "maxItems")) n->max_items = *x;
  if (auto* x = json::get(v, "minimum"); x && x->IsNumber()) n->minimum = x->GetDouble();
  if (auto* x = json::get(v, "maximum"); x && x->IsNumber()) n->maximum = x->GetDouble();
  if (auto f = json::get_string(v, "format")) n->format = std::string(*f);
  if (auto* it = json::get(v, "items")) {
    BX_ASSIGN_OR_RETURN(n->items, compile_node(*it, path + "[]"));
  }
  return n;
}

Status fail(const std::string& field, const std::string& what) {
  std::string shown = field.empty() ? "params" : field;
  return InvalidArgument(shown + ": " + what, "{\"field\":" + json::quote(shown) + "}");
}

const char* type_words(unsigned types) {
  switch (types & ~SchemaNode::kNull) {
    case SchemaNode::kString: return "a string";
    case SchemaNode::kInteger: return "an integer";
    case SchemaNode::kNumber: return "a number";
    case SchemaNode::kBoolean: return "a boolean";
    case SchemaNode::kObject: return "an object";
    case SchemaNode::kArray: return "an array";
    default: return "a value of another type";
  }
}

bool type_ok(unsigned types, const json::Value& v) {
  if (!types) return true;
  if (v.IsNull()) return types & SchemaNode::kNull;
  if (v.IsString()) return types & SchemaNode::kString;
  if (v.IsBool()) return types & SchemaNode::kBoolean;
  if (v.IsObject()) return types & SchemaNode::kObject;
  if (v.IsArray()) return types & SchemaNode::kArray;
  if (v.IsNumber()) {
    if (types & SchemaNode::kNumber) return true;
    if (types & SchemaNode::kInteger) {
      if (v.IsInt64() || v.IsUint64()) return true;
      double d = v.GetDouble();
      return std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15;
    }
  }
  return false;
}

bool is_e164(std::string_view s) {
  if (s.size() < 3 || s.size() > 16 || s[0] != '+' || s[1] == '0') return false;
  for (size_t i = 1; i < s.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  return true;
}

Status check(const SchemaNode& n, json::Value& v, json::Document::AllocatorType& alloc,
             const std::string& field) {
  if (!type_ok(n.types, v))
    return fail(field, v.IsNull() ? std::string("must not be null")
                                  : std::string("expected ") + type_words(n.types));
  if (v.IsNull()) return Status();
  if (v.IsString()) {
    std::string_view s(v.GetString(), v.GetStringLength());
    if (s.find('\0') != std::string_view::npos) return fail(field, "contains a NUL character");
    size_t len = utf8_length(s);
    if (n.min_length && static_cast<int64_t>(len) < *n.min_length)
      return fail(field, *n.min_length == 1 ? "must not be empty"
                                            : "shorter than " + std::to_string(*n.min_length) +
                                                  " characters");
    if (n.max_length && static_cast<int64_t>(len) > *n.max_length)
      return fail(field, "longer than " + std::to_string(*n.max_length) + " characters");
    if (!n.enum_values.empty()) {
      bool found = false;
      for (auto& e : n.enum_values) found = found || e == s;
      if (!found) {
        std::string list;
        for (auto& e : n.enum_values) list += (list.empty() ? "" : ", ") + e;
        return fail(field, "must be one of: " + list);
      }
    }
    if (n.format == "uuid") {
      if (!is_uuid(s)) return fail(field, "expected a UUID");
      std::string lower(s);
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      v.SetString(lower.data(), static_cast<rapidjson::SizeType>(lower.size()), alloc);
    } else if (n.format == "email") {
      if (!is_email(s)) return fail(field, "expected an email address");
    } else if (n.format == "date-time") {
      TimePoint t;
      if (!parse_time(s, &t)) return fail(field, "expected an ISO-8601 date-time with a zone");
    } else if (n.format == "e164") {
      if (!is_e164(s)) return fail(field, "expected a phone number in E.164 form (+countrycode…)");
    }
  } else if (v.IsNumber()) {
    double d = v.GetDouble();
    if (n.minimum && d < *n.minimum)
      return fail(field, "must be at least " + json::stringify(json::Value(*n.minimum)));
    if (n.maximum && d > *n.maximum)
      return fail(field, "must be at most " + json::stringify(json::Value(*n.maximum)));
    if ((n.types & SchemaNode::kInteger) && !(n.types & SchemaNode::kNumber) && !v.IsInt64()) {
      v.SetInt64(static_cast<int64_t>(d));  // 2.0 -> 2
    }
  } else if (v.IsArray()) {
    auto size = static_cast<int64_t>(v.Size());
    if (n.min_items && size < *n.min_items)
      return fail(field, "needs at least " + std::to_string(*n.min_items) + " items");
    if (n.max_items && size > *n.max_items)
      return fail(field, "has more than " + std::to_string(*n.max_items) + " items");
    if (n.items) {
      for (rapidjson::SizeType i = 0; i < v.Size(); ++i)
        BX_RETURN_IF_ERROR(check(*n.items, v[i], alloc, field + "[" + std::to_string(i) + "]"));
    }
  } else if (v.IsObject()) {
    std::string prefix = field.empty() ? "" : field + ".";
    for (auto& m : v.GetObject()) {
      std::string_view name(m.name.GetString(), m.name.GetStringLength());
      const SchemaNode* p = n.property(name);
      if (!p) {
        if (!n.additional) return fail(prefix + std::string(name), "unknown field");
        continue;
      }
      BX_RETURN_IF_ERROR(check(*p, m.value, alloc, prefix + std::string(name)));
    }
    for (auto& r : n.required)
      if (!v.HasMember(r.c_str())) return fail(prefix + r, "is required");
  }
  return Status();
}

}  // namespace

const SchemaNode* SchemaNode::property(std::string_view name) const {
  for (auto& [k, v] : properties)
    if (k == name) return v.get();
  return nullptr;
}

Result<Schema> Schema::compile(std::string_view text) {
  json::Document d;
  BX_RETURN_IF_ERROR(json::parse(text, &d));
  Schema s;
  s.text_ = std::string(text);
  BX_ASSIGN_OR_RETURN(auto root, compile_node(d, "$"));
  s.root_ = std::shared_ptr<SchemaNode>(std::move(root));
  return s;
}

Status Schema::validate(json::Value& params, json::Document::AllocatorType& alloc) const {
  return check(*root_, params, alloc, "");
}

size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

bool is_email(std::string_view s) {
  auto at = s.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= s.size() || s.size() > 320) return false;
  auto domain = s.substr(at + 1);
  if (domain.find('.') == std::string_view::npos || domain.front() == '.' || domain.back() == '.')
    return false;
  for (unsigned char c : s)
    if (c <= ' ' || c == '<' || c == '>' || c == ',' || c == ';' || c == '"' || c == 0x7f)
      return false;
  return s.substr(0, at).find('@') == std::string_view::npos;
}

}  // namespace banxway::api
