// Workflow definitions: parsing, validation and compilation (docs/WORKFLOWS.md).
//
// A definition is JSON (see the example and docs/WORKFLOWS.md). compile() checks it all
// at save time and reports the first problem with the JSON path that holds it
// ("steps[2].for: not an ISO 8601 duration"), then turns it into a form that is cheap to run:
// every condition's field is interned into a FieldTable slot, values are pre-parsed (numbers,
// times, lower-cased text, sets), and `matches` patterns are compiled once (RE2: linear time,
// bounded memory). Evaluating a compiled condition against an event's Facts resolves each
// distinct field once per event, however many workflows test it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "banxway/status.hpp"
#include "core/json.hpp"

namespace re2 {
class RE2;
}

namespace banxway::workflow {

/// The objects a condition or template can read. Each is a JSON object (or absent).
enum class Root : uint8_t { event, thread, message, contact, customer, shipment, analysis, count };
inline constexpr int kRootCount = static_cast<int>(Root::count);
std::string_view root_name(Root r);

/// Interned field paths ("thread.status" -> slot). Shared by every workflow of an organization.
class FieldTable {
 public:
  struct Field {
    Root root;
    std::vector<std::string> path;  // below the root; empty = the root object itself
    std::string text;               // "thread.status"
  };
  /// The slot of a field path; InvalidArgument for an unknown root or an empty segment.
  Result<int> intern(std::string_view dotted);
  const Field& at(int slot) const { return fields_[static_cast<size_t>(slot)]; }
  size_t size() const { return fields_.size(); }

 private:
  std::vector<Field> fields_;
  std::map<std::string, int, std::less<>> by_text_;
};

/// What one event (or thread) looks like to conditions: one JSON object per root, plus the
/// changes the event carries ({"status": {"from": "open", "to": "pending"}}).
struct Facts {
  Facts();
  Facts(const Facts&) = delete;
  Facts& operator=(const Facts&) = delete;
  rapidjson::MemoryPoolAllocator<> pool{4096};  // shared by the documents below
  json::Document roots[kRootCount];
  bool present[kRootCount] = {};
  json::Document changes;  // object or null
  std::chrono::sys_time<std::chrono::milliseconds> now{};

  void set(Root r, std::string_view json_object_text);  // ignored unless an object
  const json::Value* root(Root r) const {
    return present[static_cast<int>(r)] ? &roots[static_cast<int>(r)] : nullptr;
  }
};

enum class Op : uint8_t {
  eq, ne, in, not_in, contains, starts_with, matches, gt, gte, lt, lte, exists,
  changed, changed_from, changed_to
};

/// A scalar literal of a condition (no JSON document per leaf: thousands of workflows stay
/// small and close together in memory).
struct Literal {
  enum class Kind : uint8_t { null, boolean, number, string } kind = Kind::null;
  bool b = false;
  double n = 0;
  std::string lower;  // strings: lower-cased (comparisons are case-insensitive)
};

struct Cond {
  enum class Kind : uint8_t { all, any, not_, leaf } kind = Kind::leaf;
  std::vector<Cond> kids;
  // leaf
  int slot = -1;
  Op op = Op::eq;
  Literal value;                // eq/ne/changed_from/changed_to
  std::vector<Literal> set;     // in / not_in
  std::string lower;            // lower-cased string literal (contains, starts_with, eq on text)
  std::optional<double> number; // numeric literal, or a time literal as epoch milliseconds
  bool time_value = false;      // the literal was an ISO 8601 time
  std::shared_ptr<re2::RE2> re;        // matches
  bool exists_expected = true;
  std::string key;  // leaf identity (field, operator, literal as written): equal leaves share it
};

/// Per-event evaluation state: each field slot resolved at most once.
class Evaluator {
 public:
  Evaluator(const FieldTable& fields, const Facts& facts);
  bool eval(const Cond& c);
  const json::Value* value(int slot);
  /// One leaf (no group).
  bool leaf(const Cond& c);

 private:
  const std::string& lower_text(int slot);

  const FieldTable& fields_;
  const Facts& facts_;
  std::vector<const json::Value*> values_;
  std::vector<uint8_t> state_;  // bit 0: resolved, bit 1: lower-cased text cached
  std::vector<std::string> lower_;
};

/// Many workflows' conditions as one flat program (matching thousands per event): leaves
/// that are equal across workflows are stored once and evaluated at most once per event, and
/// the group structure is a compact array walked in place instead of a tree of allocations.
class Matcher {
 public:
  /// Appends a condition tree (its leaves must outlive the Matcher); returns its entry point.
  uint32_t add(const Cond& c);
  /// Per-event memo of leaf results (reset for each event).
  std::vector<int8_t> memo() const { return std::vector<int8_t>(leaves_.size(), -1); }
  bool eval(uint32_t at, Evaluator& ev, std::vector<int8_t>& memo) const;
  size_t leaf_count() const { return leaves_.size(); }

 private:
  bool run(const uint32_t* p, Evaluator& ev, std::vector<int8_t>& memo) const;
  // Word layout: header = kind (2 bits) | size in words << 2; a leaf's header is followed by
  // its leaf id; a group's by its children.
  std::vector<uint32_t> code_;
  std::vector<const Cond*> leaves_;
  std::map<std::string, uint32_t, std::less<>> ids_;
};

enum class Action : uint8_t {
  set_status, set_priority, assign, add_tag, remove_tag, add_note, create_action, notify,
  send_reply, link_shipment, webhook, wait, branch, stop
};
std::string_view action_name(Action a);

struct Step {
  std::string id;  // given or "step-<n>"
  Action action = Action::stop;
  const json::Value* spec = nullptr;  // the step object as written, inside Definition::doc
  // branch
  Cond when;
  bool has_when = false;
  int then_step = -1, else_step = -1;  // -1: continue with the next step
  // wait
  std::optional<std::chrono::seconds> wait_for;
  std::optional<std::string> wait_until;  // ISO time, or a {{template}} resolving to one
  std::string until_event;
  int on_timeout = -1;  // step index; -1: next step
  int on_event = -2;    // step index; -2: finish the run (the awaited thing happened)
  int next = -1;        // explicit "next": step index; -1: the following step
  uint32_t roots = 0;   // records the step reads (templates, its thread, branch conditions)
};

enum class TriggerKind : uint8_t { event, schedule, relative, manual };
std::string_view trigger_kind_name(TriggerKind k);

struct Trigger {
  TriggerKind kind = TriggerKind::manual;
  std::string event;  // event: the event type
  std::string cron;   // schedule: 5-field cron expression
  std::string time_zone;  // schedule: IANA zone; empty = the organization's
  std::string field;      // relative: "shipment.eta", "thread.last_message_at"
  std::chrono::seconds offset{0};  // relative: signed offset from the field's time
};

struct RetryPolicy {
  int max_attempts = 3;  // per step, including the first
  /// Delay before the second attempt; doubles for each further one (capped at an hour). Unset:
  /// the job queue's backoff (1 s doubling, with jitter).
  std::optional<std::chrono::seconds> backoff;
};

struct Definition {
  // The definition as written (steps point into it), in small chunks: an organization may
  // hold thousands of compiled definitions.
  rapidjson::MemoryPoolAllocator<> pool{1024};
  json::Document doc{&pool};
  std::string name;
  bool enabled = true;
  int priority = 0;
  Trigger trigger;
  Cond conditions;
  bool has_conditions = false;
  std::vector<Step> steps;
  RetryPolicy retry;
  uint32_t roots_used = 0;  // bit per Root read by the conditions (what to load per event)
};

/// Parses and validates a definition. Errors are InvalidArgument("<path>: <problem>").
/// Fields are interned into `fields` (a failed compile may leave extra slots: harmless).
Result<std::shared_ptr<const Definition>> compile(std::string_view json_text, FieldTable& fields);
Result<std::shared_ptr<const Definition>> compile(const json::Value& def, FieldTable& fields);

/// Condition compilation on its own (workflows.test's ad-hoc conditions, and the branch step).
Result<Cond> compile_condition(const json::Value& v, const std::string& path, FieldTable& fields,
                               uint32_t* roots_used);

/// Expands {{root.field}} placeholders from facts. Unknown fields expand to the empty string;
/// `escape` is applied to every substituted value (not to the template's own text).
enum class Escape : uint8_t { none, html };
std::string render(std::string_view tmpl, const Facts& facts, Escape escape = Escape::none);
/// Checks a template's placeholders at save time (unknown root or bad syntax -> error at path).
Status check_template(std::string_view tmpl, const std::string& path);

}  // namespace banxway::workflow
