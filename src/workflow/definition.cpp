#include "workflow/definition.hpp"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "core/env.hpp"
#include "sched/cron.hpp"
#include "sched/duration.hpp"
#include "sched/zone.hpp"

namespace banxway::workflow {

namespace {

constexpr const char* kRootNames[kRootCount] = {"event",    "thread",   "message", "contact",
                                                "customer", "shipment", "analysis"};

constexpr size_t kMaxSteps = 100;
constexpr size_t kMaxConditionNodes = 200;
constexpr size_t kMaxPattern = 512;
constexpr size_t kMaxMatchInput = 64 * 1024;
constexpr int kMaxConditionDepth = 8;

Status err(const std::string& path, std::string_view what) {
  return InvalidArgument(path + ": " + std::string(what));
}

std::string to_lower(std::string_view s) {
  std::string o(s);
  for (auto& ch : o) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return o;
}

bool valid_event_type(std::string_view t) {
  if (t.empty() || t.size() > 100 || t.front() == '.' || t.back() == '.') return false;
  bool dot = false;
  for (char ch : t) {
    if (ch == '.') {
      dot = true;
      continue;
    }
    if (!(std::islower(static_cast<unsigned char>(ch)) || ch == '_')) return false;
  }
  return dot && t.find("..") == std::string_view::npos;
}

std::optional<Op> op_of(std::string_view s) {
  static const std::pair<const char*, Op> kOps[] = {
      {"eq", Op::eq},           {"ne", Op::ne},
      {"in", Op::in},           {"not_in", Op::not_in},
      {"contains", Op::contains}, {"starts_with", Op::starts_with},
      {"matches", Op::matches}, {"gt", Op::gt},
      {"gte", Op::gte},         {"lt", Op::lt},
      {"lte", Op::lte},         {"exists", Op::exists},
      {"changed", Op::changed}, {"changed_from", Op::changed_from},
      {"changed_to", Op::changed_to}};
  for (const auto& [n, o] : kOps)
    if (s == n) return o;
  return std::nullopt;
}

std::optional<double> time_ms(std::string_view s) {
  // Only full timestamps count as times ("2026-11-27T10:00:00Z"); a bare number is a number.
  if (s.size() < 20 || s[4] != '-' || s[10] != 'T') return std::nullopt;
  TimePoint t;
  if (!parse_time(s, &t)) return std::nullopt;
  return static_cast<double>(t.time_since_epoch().count());
}

// The comparable number of a JSON value: a number, a numeric literal, or a timestamp.
std::optional<double> number_of(const json::Value& v) {
  if (v.IsNumber()) return v.GetDouble();
  if (v.IsString()) return time_ms(std::string_view(v.GetString(), v.GetStringLength()));
  return std::nullopt;
}

Literal literal_of(const json::Value& v) {
  Literal l;
  if (v.IsBool()) {
    l.kind = Literal::Kind::boolean;
    l.b = v.GetBool();
  } else if (v.IsNumber()) {
    l.kind = Literal::Kind::number;
    l.n = v.GetDouble();
  } else if (v.IsString()) {
    l.kind = Literal::Kind::string;
    l.lower = to_lower(std::string_view(v.GetString(), v.GetStringLength()));
  }
  return l;
}

// A field's value against a literal: strings case-insensitively, numbers numerically.
bool equals(const json::Value* v, const Literal& l, const std::string* lowered = nullptr) {
  switch (l.kind) {
    case Literal::Kind::null: return !v || v->IsNull();
    case Literal::Kind::boolean: return v && v->IsBool() && v->GetBool() == l.b;
    case Literal::Kind::number: return v && v->IsNumber() && v->GetDouble() == l.n;
    case Literal::Kind::string:
      if (!v || !v->IsString()) return false;
      if (lowered) return *lowered == l.lower;
      return to_lower(std::string_view(v->GetString(), v->GetStringLength())) == l.lower;
  }
  return false;
}

struct Compiler {
  FieldTable& fields;
  uint32_t* roots_used;
  size_t nodes = 0;

  Result<Cond> cond(const json::Value& v, const std::string& path, int depth) {
    if (++nodes > kMaxConditionNodes)
      return err(path, "too many conditions (at most " + std::to_string(kMaxConditionNodes) + ")");
    if (depth > kMaxConditionDepth)
      return err(path, "conditions nested too deep (at most " +
                           std::to_string(kMaxConditionDepth) + " levels)");
    if (!v.IsObject()) return err(path, "a condition must be an object");
    Cond c;
    for (const char* group : {"all", "any"}) {
      if (const json::Value* g = json::get(v, group)) {
        if (v.MemberCount() != 1)
          return err(path, std::string("a \"") + group + "\" group has no other keys");
        if (!g->IsArray()) return err(path + "." + group, "must be an array of conditions");
        c.kind = group[1] == 'l' ? Cond::Kind::all : Cond::Kind::any;
        for (rapidjson::SizeType i = 0; i < g->Size(); ++i) {
          BX_ASSIGN_OR_RETURN(Cond k, cond((*g)[i],
                                           path + "." + group + "[" + std::to_string(i) + "]",
                                           depth + 1));
          c.kids.push_back(std::move(k));
        }
        return c;
      }
    }
    if (const json::Value* n = json::get(v, "not")) {
      if (v.MemberCount() != 1) return err(path, "a \"not\" group has no other keys");
      c.kind = Cond::Kind::not_;
      BX_ASSIGN_OR_RETURN(Cond k, cond(*n, path + ".not", depth + 1));
      c.kids.push_back(std::move(k));
      return c;
    }
    return leaf(v, path);
  }

  Result<Cond> leaf(const json::Value& v, const std::string& path) {
    Cond c;
    c.kind = Cond::Kind::leaf;
    auto field = json::get_string(v, "field");
    if (!field)
      return err(path, "a condition needs \"field\" (or is an all/any/not group)");
    auto slot = fields.intern(*field);
    if (!slot.ok()) return err(path + ".field", slot.status().message());
    c.slot = *slot;
    *roots_used |= 1u << static_cast<int>(fields.at(c.slot).root);
    auto op_text = json::get_string(v, "op");
    if (!op_text) return err(path, "a condition needs \"op\"");
    auto op = op_of(*op_text);
    if (!op)
      return err(path + ".op",
                 "unknown operator \"" + std::string(op_text->substr(0, 40)) +
                     "\" (eq ne in not_in contains starts_with matches gt gte lt lte exists "
                     "changed changed_from changed_to)");
    c.op = *op;
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
      std::string_view k(it->name.GetString(), it->name.GetStringLength());
      if (k != "field" && k != "op" && k != "value")
        return err(path, "unknown key \"" + std::string(k.substr(0, 40)) + "\"");
    }
    const json::Value* value = json::get(v, "value");
    const std::string vpath = path + ".value";
    auto need_value = [&]() -> Status {
      if (!value) return err(path, "operator " + std::string(*op_text) + " needs a \"value\"");
      return Status();
    };
    switch (c.op) {
      case Op::eq:
      case Op::ne:
      case Op::changed_from:
      case Op::changed_to:
        BX_RETURN_IF_ERROR(need_value());
        if (value->IsObject() || value->IsArray())
          return err(vpath, "must be a string, number, boolean or null");
        c.value = literal_of(*value);
        break;
      case Op::in:
      case Op::not_in:
        BX_RETURN_IF_ERROR(need_value());
        if (!value->IsArray() || value->Empty()) return err(vpath, "must be a non-empty array");
        for (const auto& x : value->GetArray()) {
          if (x.IsObject() || x.IsArray()) return err(vpath, "items must be scalars");
          c.set.push_back(literal_of(x));
        }
        break;
      case Op::contains:
      case Op::starts_with:
        BX_RETURN_IF_ERROR(need_value());
        if (!value->IsString()) return err(vpath, "must be a string");
        c.lower = to_lower(value->GetString());
        break;
      case Op::matches: {
        BX_RETURN_IF_ERROR(need_value());
        if (!value->IsString()) return err(vpath, "must be a string (a regular expression)");
        if (value->GetStringLength() > kMaxPattern)
          return err(vpath, "pattern longer than " + std::to_string(kMaxPattern) + " characters");
        RE2::Options o;
        o.set_log_errors(false);
        o.set_max_mem(1 << 20);
        auto re = std::make_shared<RE2>(
            re2::StringPiece(value->GetString(), value->GetStringLength()), o);
        if (!re->ok()) return err(vpath, "bad regular expression: " + re->error());
        c.re = std::move(re);
        break;
      }
      case Op::gt:
      case Op::gte:
      case Op::lt:
      case Op::lte:
        BX_RETURN_IF_ERROR(need_value());
        if (value->IsNumber()) {
          c.number = value->GetDouble();
        } else if (value->IsString()) {
          c.number = time_ms(value->GetString());
          c.time_value = true;
          if (!c.number) return err(vpath, "must be a number or an ISO 8601 timestamp");
        } else {
          return err(vpath, "must be a number or an ISO 8601 timestamp");
        }
        break;
      case Op::exists:
        if (value && !value->IsBool()) return err(vpath, "must be a boolean (default true)");
        c.exists_expected = value ? value->GetBool() : true;
        break;
      case Op::changed:
        if (value) return err(vpath, "changed takes no value");
        break;
    }
    c.key = std::to_string(c.slot) + "|" + std::string(*op_text) + "|" +
            (value ? json::stringify(*value) : std::string());
    if ((c.op == Op::changed || c.op == Op::changed_from || c.op == Op::changed_to) &&
        fields.at(c.slot).path.size() != 1)
      return err(path + ".field", "changed* operators apply to a top-level field of a record "
                                  "(\"thread.status\")");
    return c;
  }
};

Result<int> step_ref(const json::Value& step, const char* key, const std::string& path,
                     const std::map<std::string, int>& ids) {
  const json::Value* v = json::get(step, key);
  if (!v) return -1;
  if (!v->IsString()) return err(path + "." + key, "must be a step id");
  auto it = ids.find(v->GetString());
  if (it == ids.end())
    return err(path + "." + key, "no step with id \"" + std::string(v->GetString()) + "\"");
  return it->second;
}

Status require_string(const json::Value& step, const char* key, const std::string& path,
                      size_t max_len = 10000) {
  auto s = json::get_string(step, key);
  if (!s || s->empty()) return err(path, std::string("needs \"") + key + "\" (a string)");
  if (s->size() > max_len)
    return err(path + "." + key, "longer than " + std::to_string(max_len) + " characters");
  return check_template(*s, path + "." + key);
}

Status one_of(const json::Value& step, const char* key, const std::string& path,
              std::initializer_list<const char*> allowed) {
  auto s = json::get_string(step, key);
  if (!s) return err(path, std::string("needs \"") + key + "\"");
  for (const char* a : allowed)
    if (*s == a) return Status();
  std::string list;
  for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
  return err(path + "." + key, "must be one of " + list);
}

// The records a step's templates name ({{thread.subject}} -> thread), over every string in it.
void template_roots(const json::Value& v, uint32_t* roots) {
  if (v.IsString()) {
    std::string_view t(v.GetString(), v.GetStringLength());
    size_t at = 0;
    while ((at = t.find("{{", at)) != std::string_view::npos) {
      at += 2;
      while (at < t.size() && t[at] == ' ') ++at;
      for (int r = 0; r < kRootCount; ++r) {
        std::string_view name = kRootNames[r];
        if (t.substr(at, name.size()) == name &&
            (at + name.size() == t.size() || t[at + name.size()] == '.' || t[at + name.size()] == '}' ||
             t[at + name.size()] == ' '))
          *roots |= 1u << r;
      }
    }
  } else if (v.IsArray()) {
    for (const auto& x : v.GetArray()) template_roots(x, roots);
  } else if (v.IsObject()) {
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) template_roots(it->value, roots);
  }
}

std::optional<Action> action_of(std::string_view s) {
  for (int i = 0; i <= static_cast<int>(Action::stop); ++i)
    if (action_name(static_cast<Action>(i)) == s) return static_cast<Action>(i);
  return std::nullopt;
}

}  // namespace

std::string_view root_name(Root r) { return kRootNames[static_cast<int>(r)]; }

std::string_view action_name(Action a) {
  static constexpr const char* kNames[] = {
      "set_status", "set_priority", "assign", "add_tag", "remove_tag", "add_note",
      "create_action", "notify", "send_reply", "link_shipment", "webhook", "wait", "branch",
      "stop"};
  return kNames[static_cast<int>(a)];
}

std::string_view trigger_kind_name(TriggerKind k) {
  static constexpr const char* kNames[] = {"event", "schedule", "relative", "manual"};
  return kNames[static_cast<int>(k)];
}

Result<int> FieldTable::intern(std::string_view dotted) {
  if (auto it = by_text_.find(dotted); it != by_text_.end()) return it->second;
  if (dotted.empty() || dotted.size() > 200) return InvalidArgument("a field path is 1 to 200 characters");
  Field f;
  f.text = std::string(dotted);
  size_t start = 0;
  std::vector<std::string> parts;
  while (true) {
    size_t dot = dotted.find('.', start);
    std::string_view part = dotted.substr(start, dot == std::string_view::npos ? dotted.npos : dot - start);
    if (part.empty()) return InvalidArgument("empty segment in field path \"" + f.text + "\"");
    parts.emplace_back(part);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  int root = -1;
  for (int i = 0; i < kRootCount; ++i)
    if (parts[0] == kRootNames[i]) root = i;
  if (root < 0)
    return InvalidArgument("unknown record \"" + parts[0] +
                           "\" (event, thread, message, contact, customer, shipment, analysis)");
  f.root = static_cast<Root>(root);
  f.path.assign(parts.begin() + 1, parts.end());
  int slot = static_cast<int>(fields_.size());
  by_text_.emplace(f.text, slot);
  fields_.push_back(std::move(f));
  return slot;
}

Facts::Facts()
    : roots{json::Document(&pool), json::Document(&pool), json::Document(&pool),
            json::Document(&pool), json::Document(&pool), json::Document(&pool),
            json::Document(&pool)},
      changes(&pool) {}

void Facts::set(Root r, std::string_view text) {
  auto& d = roots[static_cast<int>(r)];
  if (json::parse(text, &d).ok() && d.IsObject()) present[static_cast<int>(r)] = true;
}

// ---- evaluation ------------------------------------------------------------------------------

Evaluator::Evaluator(const FieldTable& fields, const Facts& facts)
    : fields_(fields), facts_(facts), values_(fields.size(), nullptr), state_(fields.size(), 0),
      lower_(fields.size()) {}

const json::Value* Evaluator::value(int slot) {
  auto s = static_cast<size_t>(slot);
  if (s >= values_.size()) return nullptr;  // a field interned after this evaluator was made
  if (state_[s] & 1) return values_[s];
  state_[s] |= 1;
  const auto& f = fields_.at(slot);
  const json::Value* v = facts_.root(f.root);
  for (const auto& seg : f.path) {
    if (!v || !v->IsObject()) {
      v = nullptr;
      break;
    }
    auto it = v->FindMember(rapidjson::StringRef(seg.data(), seg.size()));
    v = it == v->MemberEnd() ? nullptr : &it->value;
  }
  if (v && v->IsNull()) v = nullptr;
  values_[s] = v;
  return v;
}

const std::string& Evaluator::lower_text(int slot) {
  auto s = static_cast<size_t>(slot);
  if (!(state_[s] & 2)) {
    state_[s] |= 2;
    const json::Value* v = value(slot);
    if (v && v->IsString()) lower_[s] = to_lower(std::string_view(v->GetString(), v->GetStringLength()));
  }
  return lower_[s];
}

bool Evaluator::eval(const Cond& c) {
  switch (c.kind) {
    case Cond::Kind::all:
      for (const auto& k : c.kids)
        if (!eval(k)) return false;
      return true;
    case Cond::Kind::any:
      for (const auto& k : c.kids)
        if (eval(k)) return true;
      return false;
    case Cond::Kind::not_:
      return !eval(c.kids[0]);
    case Cond::Kind::leaf:
      return leaf(c);
  }
  return false;
}

bool Evaluator::leaf(const Cond& c) {
  if (c.op == Op::changed || c.op == Op::changed_from || c.op == Op::changed_to) {
    const auto& f = fields_.at(c.slot);
    if (!facts_.changes.IsObject()) return false;
    const json::Value* ch = json::get(facts_.changes, f.path[0].c_str());
    if (!ch || !ch->IsObject()) return false;
    if (c.op == Op::changed) return true;
    const json::Value* side = json::get(*ch, c.op == Op::changed_from ? "from" : "to");
    return equals(side, c.value);
  }
  const json::Value* v = value(c.slot);
  switch (c.op) {
    case Op::exists:
      return (v != nullptr) == c.exists_expected;
    case Op::eq:
    case Op::ne: {
      bool eq = v && v->IsString() ? equals(v, c.value, &lower_text(c.slot)) : equals(v, c.value);
      return c.op == Op::eq ? eq : !eq;
    }
    case Op::in:
    case Op::not_in: {
      bool found = false;
      if (v) {
        const std::string* t = v->IsString() ? &lower_text(c.slot) : nullptr;
        for (const auto& x : c.set)
          if (equals(v, x, t)) {
            found = true;
            break;
          }
      }
      return c.op == Op::in ? found : !found;
    }
    case Op::contains:
      if (!v) return false;
      if (v->IsString()) return lower_text(c.slot).find(c.lower) != std::string::npos;
      if (v->IsArray()) {
        for (const auto& x : v->GetArray())
          if (x.IsString() && to_lower(std::string_view(x.GetString(), x.GetStringLength())) == c.lower)
            return true;
      }
      return false;
    case Op::starts_with:
      return v && v->IsString() && lower_text(c.slot).compare(0, c.lower.size(), c.lower) == 0;
    case Op::matches: {
      if (!v || !v->IsString()) return false;
      size_t n = std::min<size_t>(v->GetStringLength(), kMaxMatchInput);
      return RE2::PartialMatch(re2::StringPiece(v->GetString(), n), *c.re);
    }
    case Op::gt:
    case Op::gte:
    case Op::lt:
    case Op::lte: {
      if (!v) return false;
      std::optional<double> x = number_of(*v);
      if (!x || !c.number) return false;
      double a = *x, b = *c.number;
      switch (c.op) {
        case Op::gt: return a > b;
        case Op::gte: return a >= b;
        case Op::lt: return a < b;
        default: return a <= b;
      }
    }
    default:
      return false;
  }
}

// ---- matcher ---------------------------------------------------------------------------------

uint32_t Matcher::add(const Cond& c) {
  const uint32_t at = static_cast<uint32_t>(code_.size());
  code_.push_back(0);  // header, patched below
  if (c.kind == Cond::Kind::leaf) {
    auto it = ids_.find(c.key);
    uint32_t id;
    if (it != ids_.end()) {
      id = it->second;
    } else {
      id = static_cast<uint32_t>(leaves_.size());
      leaves_.push_back(&c);
      ids_.emplace(c.key, id);
    }
    code_.push_back(id);
  } else {
    for (const auto& k : c.kids) add(k);
  }
  const uint32_t size = static_cast<uint32_t>(code_.size()) - at;
  code_[at] = static_cast<uint32_t>(c.kind) | (size << 2);
  return at;
}

bool Matcher::eval(uint32_t at, Evaluator& ev, std::vector<int8_t>& memo) const {
  return run(code_.data() + at, ev, memo);
}

bool Matcher::run(const uint32_t* p, Evaluator& ev, std::vector<int8_t>& memo) const {
  const auto kind = static_cast<Cond::Kind>(p[0] & 3u);
  const uint32_t size = p[0] >> 2;
  switch (kind) {
    case Cond::Kind::leaf: {
      int8_t& m = memo[p[1]];
      if (m < 0) m = ev.leaf(*leaves_[p[1]]) ? 1 : 0;
      return m == 1;
    }
    case Cond::Kind::not_:
      return !run(p + 1, ev, memo);
    case Cond::Kind::all:
      for (const uint32_t* q = p + 1; q < p + size; q += q[0] >> 2)
        if (!run(q, ev, memo)) return false;
      return true;
    case Cond::Kind::any:
      for (const uint32_t* q = p + 1; q < p + size; q += q[0] >> 2)
        if (run(q, ev, memo)) return true;
      return false;
  }
  return false;
}

// ---- templates -------------------------------------------------------------------------------

Status check_template(std::string_view t, const std::string& path) {
  size_t at = 0;
  while ((at = t.find("{{", at)) != std::string_view::npos) {
    size_t end = t.find("}}", at + 2);
    if (end == std::string_view::npos) return err(path, "a \"{{\" without its \"}}\"");
    std::string_view inner = t.substr(at + 2, end - at - 2);
    while (!inner.empty() && inner.front() == ' ') inner.remove_prefix(1);
    while (!inner.empty() && inner.back() == ' ') inner.remove_suffix(1);
    FieldTable scratch;
    auto s = scratch.intern(inner);
    if (!s.ok()) return err(path, "{{" + std::string(inner.substr(0, 60)) + "}}: " + s.status().message());
    at = end + 2;
  }
  return Status();
}

std::string render(std::string_view t, const Facts& facts, Escape escape) {
  std::string out;
  out.reserve(t.size());
  size_t at = 0;
  while (true) {
    size_t open = t.find("{{", at);
    if (open == std::string_view::npos) break;
    size_t end = t.find("}}", open + 2);
    if (end == std::string_view::npos) break;
    out.append(t.substr(at, open - at));
    std::string_view inner = t.substr(open + 2, end - open - 2);
    while (!inner.empty() && inner.front() == ' ') inner.remove_prefix(1);
    while (!inner.empty() && inner.back() == ' ') inner.remove_suffix(1);
    FieldTable ft;
    std::string text;
    if (auto slot = ft.intern(inner); slot.ok()) {
      Evaluator ev(ft, facts);
      if (const json::Value* v = ev.value(*slot)) {
        if (v->IsString()) text.assign(v->GetString(), v->GetStringLength());
        else if (v->IsBool()) text = v->GetBool() ? "true" : "false";
        else if (v->IsInt64()) text = std::to_string(v->GetInt64());
        else if (v->IsNumber()) text = json::stringify(*v);
        else if (v->IsArray()) {
          for (const auto& x : v->GetArray())
            if (x.IsString()) text += (text.empty() ? "" : ", ") + std::string(x.GetString());
        }
      }
    }
    if (escape == Escape::html) {
      for (char ch : text) {
        switch (ch) {
          case '<': out += "&lt;"; break;
          case '>': out += "&gt;"; break;
          case '&': out += "&amp;"; break;
          case '"': out += "&quot;"; break;
          case '\'': out += "&#39;"; break;
          default: out += ch;
        }
      }
    } else {
      out += text;
    }
    at = end + 2;
  }
  out.append(t.substr(at));
  return out;
}

// ---- compile ---------------------------------------------------------------------------------

Result<Cond> compile_condition(const json::Value& v, const std::string& path, FieldTable& fields,
                               uint32_t* roots_used) {
  Compiler comp{fields, roots_used};
  return comp.cond(v, path, 1);
}

Result<std::shared_ptr<const Definition>> compile(std::string_view text, FieldTable& fields) {
  json::Document d;
  json::ParseLimits lim;
  lim.max_bytes = 256 * 1024;
  lim.max_depth = 24;
  Status st = json::parse(text, &d, lim);
  if (!st.ok()) return err("definition", st.message());
  return compile(d, fields);  // copies d once into the definition's own document
}

Result<std::shared_ptr<const Definition>> compile(const json::Value& given, FieldTable& fields) {
  if (!given.IsObject()) return err("definition", "must be a JSON object");
  auto def = std::make_shared<Definition>();
  def->doc.CopyFrom(given, def->doc.GetAllocator());
  const json::Value& v = def->doc;
  static const std::set<std::string_view> kKeys = {"name",  "enabled",    "priority",
                                                    "trigger", "conditions", "steps",
                                                    "retry", "description"};
  for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
    std::string_view k(it->name.GetString(), it->name.GetStringLength());
    if (!kKeys.count(k)) return err(std::string(k.substr(0, 40)), "unknown key");
  }
  auto name = json::get_string(v, "name");
  if (!name || name->empty()) return err("name", "required (a non-empty string)");
  if (name->size() > 200) return err("name", "longer than 200 characters");
  def->name = std::string(*name);
  if (const json::Value* e = json::get(v, "enabled")) {
    if (!e->IsBool()) return err("enabled", "must be a boolean");
    def->enabled = e->GetBool();
  }
  if (const json::Value* p = json::get(v, "priority")) {
    if (!p->IsInt() || p->GetInt() < -1000 || p->GetInt() > 1000)
      return err("priority", "must be an integer from -1000 to 1000 (lower runs first)");
    def->priority = p->GetInt();
  }
  if (const json::Value* r = json::get(v, "retry")) {
    if (!r->IsObject()) return err("retry", "must be an object");
    if (const json::Value* m = json::get(*r, "max_attempts")) {
      if (!m->IsInt() || m->GetInt() < 1 || m->GetInt() > 20)
        return err("retry.max_attempts", "must be an integer from 1 to 20");
      def->retry.max_attempts = m->GetInt();
    }
    if (const json::Value* b = json::get(*r, "backoff")) {
      if (!b->IsString()) return err("retry.backoff", "must be an ISO 8601 duration");
      auto d = sched::parse_duration(b->GetString());
      if (!d.ok()) return err("retry.backoff", d.status().message());
      if (d->count() < 1 || d->count() > 86400)
        return err("retry.backoff", "must be from 1 second to 1 day");
      def->retry.backoff = *d;
    }
    for (auto it = r->MemberBegin(); it != r->MemberEnd(); ++it) {
      std::string_view k(it->name.GetString(), it->name.GetStringLength());
      if (k != "max_attempts" && k != "backoff")
        return err("retry." + std::string(k.substr(0, 40)), "unknown key (max_attempts, backoff)");
    }
  }

  // trigger
  const json::Value* t = json::get(v, "trigger");
  if (!t || !t->IsObject()) return err("trigger", "required (an object)");
  Trigger& tr = def->trigger;
  int kinds = 0;
  if (auto e = json::get_string(*t, "event")) {
    ++kinds;
    if (!valid_event_type(*e))
      return err("trigger.event", "not an event type (lower-case words joined by dots, "
                                  "e.g. \"message.received\")");
    tr.kind = TriggerKind::event;
    tr.event = std::string(*e);
  } else if (json::get(*t, "event")) {
    return err("trigger.event", "must be a string");
  }
  if (const json::Value* s = json::get(*t, "schedule")) {
    ++kinds;
    if (!s->IsString()) return err("trigger.schedule", "must be a cron expression (a string)");
    auto cron = sched::Cron::parse(s->GetString());
    if (!cron.ok()) return err("trigger.schedule", cron.status().message());
    tr.kind = TriggerKind::schedule;
    tr.cron = cron->text();
    if (auto z = json::get_string(*t, "time_zone")) {
      auto zone = sched::find_zone(*z);
      if (!zone.ok()) return err("trigger.time_zone", zone.status().message());
      tr.time_zone = std::string(*z);
    }
  }
  if (const json::Value* r = json::get(*t, "relative")) {
    ++kinds;
    if (!r->IsObject()) return err("trigger.relative", "must be an object {field, offset}");
    auto f = json::get_string(*r, "field");
    static const std::set<std::string_view> kTimeFields = {
        "shipment.eta", "shipment.etd", "thread.last_message_at", "thread.created_at",
        "thread.snoozed_until"};
    if (!f || !kTimeFields.count(*f))
      return err("trigger.relative.field",
                 "must be one of shipment.eta, shipment.etd, thread.last_message_at, "
                 "thread.created_at, thread.snoozed_until");
    tr.field = std::string(*f);
    auto off = json::get_string(*r, "offset");
    if (!off) return err("trigger.relative.offset", "required (an ISO 8601 duration, e.g. \"-PT24H\")");
    auto d = sched::parse_duration(*off);
    if (!d.ok()) return err("trigger.relative.offset", d.status().message());
    tr.offset = *d;
    tr.kind = TriggerKind::relative;
  }
  if (const json::Value* m = json::get(*t, "manual")) {
    ++kinds;
    if (!m->IsBool() || !m->GetBool()) return err("trigger.manual", "must be true");
    tr.kind = TriggerKind::manual;
  }
  if (kinds != 1)
    return err("trigger", "exactly one of \"event\", \"schedule\", \"relative\" or \"manual\"");

  // conditions
  Compiler comp{fields, &def->roots_used};
  if (const json::Value* c = json::get(v, "conditions")) {
    BX_ASSIGN_OR_RETURN(def->conditions, comp.cond(*c, "conditions", 1));
    def->has_conditions = true;
  }

  // steps: ids first (forward references are allowed), then each step.
  const json::Value* steps = json::get(v, "steps");
  if (!steps || !steps->IsArray() || steps->Empty())
    return err("steps", "required (a non-empty array)");
  if (steps->Size() > kMaxSteps)
    return err("steps", "at most " + std::to_string(kMaxSteps) + " steps");
  std::map<std::string, int> ids;
  for (rapidjson::SizeType i = 0; i < steps->Size(); ++i) {
    const std::string path = "steps[" + std::to_string(i) + "]";
    const json::Value& s = (*steps)[i];
    if (!s.IsObject()) return err(path, "a step must be an object");
    std::string id = "step-" + std::to_string(i + 1);
    if (const json::Value* idv = json::get(s, "id")) {
      if (!idv->IsString() || idv->GetStringLength() == 0 || idv->GetStringLength() > 64)
        return err(path + ".id", "must be a string of 1 to 64 characters");
      id = idv->GetString();
    }
    if (!ids.emplace(id, static_cast<int>(i)).second)
      return err(path + ".id", "duplicate step id \"" + id + "\"");
  }
  for (rapidjson::SizeType i = 0; i < steps->Size(); ++i) {
    const std::string path = "steps[" + std::to_string(i) + "]";
    const json::Value& s = (*steps)[i];
    Step st;
    st.spec = &s;
    for (const auto& [k, idx] : ids)
      if (idx == static_cast<int>(i)) st.id = k;
    auto a = json::get_string(s, "action");
    if (!a) return err(path, "needs \"action\"");
    auto action = action_of(*a);
    if (!action)
      return err(path + ".action",
                 "unknown action \"" + std::string(a->substr(0, 40)) +
                     "\" (set_status set_priority assign add_tag remove_tag add_note "
                     "create_action notify send_reply link_shipment webhook wait branch stop)");
    st.action = *action;
    BX_ASSIGN_OR_RETURN(st.next, step_ref(s, "next", path, ids));
    switch (st.action) {
      case Action::set_status:
        BX_RETURN_IF_ERROR(one_of(s, "value", path, {"open", "pending", "snoozed", "resolved", "closed"}));
        break;
      case Action::set_priority:
        BX_RETURN_IF_ERROR(one_of(s, "value", path, {"low", "normal", "high", "urgent"}));
        break;
      case Action::add_tag:
      case Action::remove_tag:
        BX_RETURN_IF_ERROR(require_string(s, "value", path, 64));
        break;
      case Action::add_note:
        BX_RETURN_IF_ERROR(require_string(s, "text", path));
        break;
      case Action::create_action:
        BX_RETURN_IF_ERROR(require_string(s, "title", path, 500));
        if (auto due = json::get_string(s, "due_in")) {
          auto d = sched::parse_duration(*due);
          if (!d.ok()) return err(path + ".due_in", d.status().message());
        }
        break;
      case Action::notify: {
        BX_RETURN_IF_ERROR(require_string(s, "text", path, 2000));
        const json::Value* to = json::get(s, "to");
        if (!to || !to->IsObject() || to->MemberCount() != 1)
          return err(path + ".to", "needs exactly one of {\"user_id\"}, {\"role\"}, "
                                   "{\"assignee\": true} or {\"followers\": true}");
        if (auto r = json::get_string(*to, "role")) {
          if (*r != "viewer" && *r != "agent" && *r != "manager" && *r != "admin")
            return err(path + ".to.role", "must be viewer, agent, manager or admin");
        } else if (auto u = json::get_string(*to, "user_id")) {
          if (!is_uuid(*u)) return err(path + ".to.user_id", "not a UUID");
        } else if (!json::get_bool(*to, "assignee").value_or(false) &&
                   !json::get_bool(*to, "followers").value_or(false)) {
          return err(path + ".to", "needs exactly one of {\"user_id\"}, {\"role\"}, "
                                   "{\"assignee\": true} or {\"followers\": true}");
        }
        break;
      }
      case Action::assign: {
        auto how = json::get_string(s, "strategy").value_or("user");
        if (how == "user") {
          auto u = json::get_string(s, "user_id");
          if (!u || !is_uuid(*u)) return err(path + ".user_id", "required (a user's UUID)");
        } else if (how == "round_robin" || how == "least_loaded") {
          const json::Value* users = json::get(s, "users");
          auto role = json::get_string(s, "role");
          auto team = json::get_string(s, "team");
          if (team) {
            if (team->empty() || team->size() > 100)
              return err(path + ".team", "must be a team name (1 to 100 characters)");
          } else if (users) {
            if (!users->IsArray() || users->Empty() || users->Size() > 500)
              return err(path + ".users", "must be a non-empty array of user ids (at most 500)");
            for (const auto& u : users->GetArray())
              if (!u.IsString() || !is_uuid(u.GetString()))
                return err(path + ".users", "every item must be a user's UUID");
          } else if (!role || (*role != "agent" && *role != "manager" && *role != "admin")) {
            return err(path, "who takes turns: \"team\" (users.team), \"users\" (an array of "
                             "user ids) or \"role\" (agent, manager or admin)");
          }
        } else {
          return err(path + ".strategy", "must be user, round_robin or least_loaded");
        }
        break;
      }
      case Action::send_reply: {
        BX_RETURN_IF_ERROR(require_string(s, "text", path, 20000));
        if (auto ch = json::get_string(s, "channel"))
          if (*ch != "email" && *ch != "whatsapp" && *ch != "sms" && *ch != "same")
            return err(path + ".channel", "must be same, email, whatsapp or sms");
        break;
      }
      case Action::link_shipment:
        BX_RETURN_IF_ERROR(require_string(s, "reference", path, 100));
        break;
      case Action::webhook: {
        auto url = json::get_string(s, "url");
        if (!url || (url->rfind("https://", 0) != 0 && url->rfind("http://", 0) != 0))
          return err(path + ".url", "required (an http or https URL)");
        if (url->size() > 2000) return err(path + ".url", "longer than 2000 characters");
        break;
      }
      case Action::wait: {
        if (auto f = json::get_string(s, "for")) {
          auto d = sched::parse_duration(*f);
          if (!d.ok()) return err(path + ".for", d.status().message());
          if (d->count() <= 0) return err(path + ".for", "must be a positive duration");
          st.wait_for = *d;
        }
        if (auto u = json::get_string(s, "until")) {
          if (u->find("{{") == std::string_view::npos) {
            TimePoint tp;
            if (!parse_time(*u, &tp)) return err(path + ".until", "not an ISO 8601 time or {{field}}");
          } else {
            BX_RETURN_IF_ERROR(check_template(*u, path + ".until"));
          }
          st.wait_until = std::string(*u);
        }
        if (auto e = json::get_string(s, "until_event")) {
          if (!valid_event_type(*e)) return err(path + ".until_event", "not an event type");
          st.until_event = std::string(*e);
        }
        if (!st.wait_for && !st.wait_until)
          return err(path, "a wait needs \"for\" (a duration) or \"until\" (a time); with "
                           "\"until_event\" that is its timeout");
        if (st.wait_for && st.wait_until) return err(path, "\"for\" or \"until\", not both");
        BX_ASSIGN_OR_RETURN(st.on_timeout, step_ref(s, "on_timeout", path, ids));
        if (json::get(s, "on_event")) {
          if (st.until_event.empty()) return err(path + ".on_event", "only with \"until_event\"");
          BX_ASSIGN_OR_RETURN(st.on_event, step_ref(s, "on_event", path, ids));
        }
        break;
      }
      case Action::branch: {
        const json::Value* c = json::get(s, "if");
        if (!c) return err(path, "a branch needs \"if\" (conditions)");
        Compiler branch{fields, &st.roots};
        BX_ASSIGN_OR_RETURN(st.when, branch.cond(*c, path + ".if", 1));
        st.has_when = true;
        BX_ASSIGN_OR_RETURN(st.then_step, step_ref(s, "then", path, ids));
        BX_ASSIGN_OR_RETURN(st.else_step, step_ref(s, "else", path, ids));
        if (st.then_step < 0 && st.else_step < 0)
          return err(path, "a branch needs \"then\" and/or \"else\" (step ids)");
        break;
      }
      case Action::stop:
        break;
    }
    // What the step reads: its templates' records, its thread (the thread actions, a notify
    // to the assignee, a reply's channel), a branch's conditions.
    template_roots(s, &st.roots);
    switch (st.action) {
      case Action::set_status: case Action::set_priority: case Action::add_tag:
      case Action::remove_tag: case Action::notify: case Action::send_reply:
      case Action::webhook:
        st.roots |= 1u << static_cast<int>(Root::thread);
        break;
      default:
        break;
    }
    def->steps.push_back(std::move(st));
  }
  return std::shared_ptr<const Definition>(std::move(def));
}

}  // namespace banxway::workflow
