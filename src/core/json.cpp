#include "core/json.hpp"

#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

#include <string>

namespace banxway::json {
namespace {

// Forwards SAX events to a Document while enforcing a nesting limit.
class DepthLimitedHandler {
 public:
  DepthLimitedHandler(Document& doc, int max_depth) : doc_(doc), max_depth_(max_depth) {}
  bool Null() { return doc_.Null(); }
  bool Bool(bool b) { return doc_.Bool(b); }
  bool Int(int i) { return doc_.Int(i); }
  bool Uint(unsigned u) { return doc_.Uint(u); }
  bool Int64(int64_t i) { return doc_.Int64(i); }
  bool Uint64(uint64_t u) { return doc_.Uint64(u); }
  bool Double(double d) { return doc_.Double(d); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool c) { return doc_.RawNumber(s, n, c); }
  bool String(const char* s, rapidjson::SizeType n, bool c) { return doc_.String(s, n, c); }
  bool StartObject() { return ++depth_ <= max_depth_ && doc_.StartObject(); }
  bool Key(const char* s, rapidjson::SizeType n, bool c) { return doc_.Key(s, n, c); }
  bool EndObject(rapidjson::SizeType n) {
    --depth_;
    return doc_.EndObject(n);
  }
  bool StartArray() { return ++depth_ <= max_depth_ && doc_.StartArray(); }
  bool EndArray(rapidjson::SizeType n) {
    --depth_;
    return doc_.EndArray(n);
  }
  bool too_deep() const { return depth_ > max_depth_; }

 private:
  Document& doc_;
  int max_depth_;
  int depth_ = 0;
};

}  // namespace

Status parse(std::string_view text, Document* doc, const ParseLimits& limits) {
  if (text.size() > limits.max_bytes)
    return PayloadTooLarge("JSON body is " + std::to_string(text.size()) +
                           " bytes; the limit is " + std::to_string(limits.max_bytes));
  DepthLimitedHandler handler(*doc, limits.max_depth);
  rapidjson::MemoryStream ms(text.data(), text.size());
  rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> is(ms);
  rapidjson::Reader reader;
  rapidjson::ParseResult r;
  auto generator = [&](Document&) -> bool {
    r = reader.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseStopWhenDoneFlag>(
        is, handler);
    return !r.IsError();
  };
  doc->SetNull();
  doc->Populate(generator);
  std::string err;
  if (r.IsError()) {
    if (handler.too_deep())
      err = "JSON nests deeper than " + std::to_string(limits.max_depth) + " levels";
    else
      err = std::string("malformed JSON at offset ") + std::to_string(r.Offset()) + ": " +
            rapidjson::GetParseError_En(r.Code());
  } else {
    // Only whitespace may follow the value.
    for (size_t i = is.Tell(); i < text.size(); ++i) {
      char c = text[i];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
        err = "malformed JSON at offset " + std::to_string(i) + ": unexpected text after the value";
        break;
      }
    }
  }
  if (!err.empty()) {
    doc->SetNull();
    return InvalidArgument(err);
  }
  return Status();
}

}  // namespace banxway::json

namespace banxway::json {

std::string stringify(const Value& v) {
  rapidjson::StringBuffer sb;
  Writer w(sb);
  v.Accept(w);
  return std::string(sb.GetString(), sb.GetSize());
}

const Value* get(const Value& obj, const char* key) {
  if (!obj.IsObject()) return nullptr;
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd()) return nullptr;
  return &it->value;
}

std::optional<std::string_view> get_string(const Value& obj, const char* key) {
  const Value* v = get(obj, key);
  if (!v || !v->IsString()) return std::nullopt;
  return std::string_view(v->GetString(), v->GetStringLength());
}

std::optional<int64_t> get_int(const Value& obj, const char* key) {
  const Value* v = get(obj, key);
  if (!v || !v->IsInt64()) return std::nullopt;
  return v->GetInt64();
}

std::optional<bool> get_bool(const Value& obj, const char* key) {
  const Value* v = get(obj, key);
  if (!v || !v->IsBool()) return std::nullopt;
  return v->GetBool();
}

void write_raw(Writer& w, std::string_view text) {
  if (text.empty())
    w.Null();
  else
    w.RawValue(text.data(), text.size(), rapidjson::kObjectType);
}

void write_opt(Writer& w, const std::optional<std::string>& s) {
  if (s)
    write_str(w, *s);
  else
    w.Null();
}

std::string quote(std::string_view s) {
  rapidjson::StringBuffer sb;
  Writer w(sb);
  write_str(w, s);
  return std::string(sb.GetString(), sb.GetSize());
}

}  // namespace banxway::json
