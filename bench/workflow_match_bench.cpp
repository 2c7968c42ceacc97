// Matching cost: one message.received event against N enabled workflows (10 / 100 / 1,000 /
// 10,000), facts already loaded (the records are read once per event, whatever N is: that cost
// is the database's and is measured end to end by bench_workflow_runtime). Also the cost of
// compiling one definition, which happens once per saved version.
//
//   bench_workflow_match [--benchmark_repetitions=5 ...]
//
// The workflows are varied the way an organization's rules are: each tests the direction, one
// of 50 keywords in the subject, a customer tier among several, and some use matches/starts_with
// or a `not` group. About 2% of them match the event.
#include <benchmark/benchmark.h>

#include <string>
#include <tuple>
#include <vector>

#include "workflow/runner.hpp"

namespace {

using namespace banxway;

const char* kWords[] = {"urgent", "delay", "customs", "invoice", "booking", "rollover", "demurrage",
                        "detention", "reefer", "hazmat", "bl", "telex", "release", "arrival",
                        "eta", "etd", "cutoff", "vgm", "amendment", "quote", "rate", "payment",
                        "credit", "damage", "claim", "shortage", "inspection", "hold", "fumigation",
                        "permit", "license", "surrender", "manifest", "isf", "ams", "ens",
                        "transshipment", "feeder", "vessel", "voyage", "container", "seal",
                        "weight", "pallet", "cargo", "pickup", "delivery", "pod", "receipt",
                        "complaint"};
constexpr int kWordCount = sizeof(kWords) / sizeof(kWords[0]);

std::string definition(int i) {
  const std::string word = kWords[i % kWordCount];
  std::string cond;
  switch (i % 4) {
    case 0:
      cond = R"({"all":[{"field":"message.direction","op":"eq","value":"inbound"},
                {"field":"message.subject","op":"contains","value":")" + word + R"("}]})";
      break;
    case 1:
      cond = R"({"all":[{"field":"message.direction","op":"eq","value":"inbound"},
                {"any":[{"field":"message.subject","op":"starts_with","value":")" + word + R"("},
                        {"field":"customer.tier","op":"in","value":["gold","key"]}]},
                {"not":{"field":"thread.status","op":"eq","value":"closed"}}]})";
      break;
    case 2:
      cond = R"({"all":[{"field":"message.channel","op":"eq","value":"email"},
                {"field":"message.subject","op":"matches","value":"(?i)\\b)" + word + R"(\\b"},
                {"field":"thread.priority","op":"ne","value":"urgent"}]})";
      break;
    default:
      cond = R"({"all":[{"field":"customer.tier","op":"eq","value":"tier)" + std::to_string(i % 97) +
             R"("},{"field":"message.subject","op":"contains","value":")" + word + R"("}]})";
  }
  return R"({"name":"rule )" + std::to_string(i) + R"(","priority":)" + std::to_string(i % 20) +
         R"(,"trigger":{"event":"message.received"},"conditions":)" + cond +
         R"(,"steps":[{"action":"add_tag","value":")" + word + R"("}]})";
}

struct Fixture {
  std::shared_ptr<workflow::OrgSet> set;
  workflow::Facts facts;
  runtime::EventRecord ev;
  explicit Fixture(int n) {
    std::vector<std::tuple<std::string, int, std::string>> rows;
    std::vector<std::string> texts;
    for (int i = 0; i < n; ++i) {
      rows.emplace_back("wf-" + std::to_string(i), 1, definition(i));
      texts.push_back(std::get<2>(rows.back()));
    }
    set = workflow::Cache::build(rows, texts, 1);
    ev.id = 1;
    ev.type = "message.received";
    ev.actor = "system:ingest";
    facts.set(workflow::Root::event, R"({"id":1,"type":"message.received","data":{}})");
    facts.set(workflow::Root::message,
              R"({"id":"m1","direction":"inbound","channel":"email","subject":"Re: Customs hold on MSCU1234565 - please release","snippet":"..."})");
    facts.set(workflow::Root::thread,
              R"({"id":"t1","status":"open","priority":"normal","tags":[],"subject":"Customs hold"})");
    facts.set(workflow::Root::customer, R"({"id":"c1","name":"Acme","tier":"silver"})");
  }
};

void BM_MatchEvent(benchmark::State& state) {
  Fixture f(static_cast<int>(state.range(0)));
  if (f.set->entries.size() != static_cast<size_t>(state.range(0))) {
    state.SkipWithError("some definitions did not compile");
    return;
  }
  size_t matched = 0;
  for (auto _ : state) {
    auto m = workflow::match(*f.set, f.ev, f.facts);
    matched = m.size();
    benchmark::DoNotOptimize(m.data());
  }
  state.counters["workflows"] = static_cast<double>(state.range(0));
  state.counters["matched"] = static_cast<double>(matched);
}
BENCHMARK(BM_MatchEvent)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond);

void BM_CompileDefinition(benchmark::State& state) {
  const std::string text = definition(1);
  for (auto _ : state) {
    workflow::FieldTable fields;
    auto d = workflow::compile(text, fields);
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_CompileDefinition)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
