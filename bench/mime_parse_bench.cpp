// parse_email() throughput over the shared mail corpus: every message of mbox/*.mbox (and,
// separately, the hard MIME cases of eml/**.eml), parsed over and over. Reports messages/s
// (items_per_second) and MB/s (bytes_per_second). BM_GMimeOnly* measure GMime's own parse of
// the same messages (the message tree built, every part visited, nothing decoded), for
// comparison: what parse_email adds on top of it (decoding, charset conversion, HTML to text,
// sanitizing, reply splitting, attachment sniffing) is the difference.
//
//   bench_mime_parse [--corpus DIR] [benchmark flags]      (DIR defaults to $BANXWAY_CORPUS)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gmime/gmime.h>

#include "channels/email/mailbox_files.hpp"
#include "channels/email/mime.hpp"

namespace {

namespace fs = std::filesystem;

std::vector<std::string> g_mbox, g_eml;
size_t g_mbox_bytes = 0, g_eml_bytes = 0;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void parse_all(benchmark::State& state, const std::vector<std::string>& msgs, size_t bytes) {
  if (msgs.empty()) {
    state.SkipWithError("no messages in the corpus");
    return;
  }
  size_t failed = 0;
  for (auto _ : state) {
    for (const auto& raw : msgs) {
      auto r = banxway::email::parse_email(raw);
      if (!r.ok()) ++failed;
      benchmark::DoNotOptimize(r);
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * msgs.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["messages"] = static_cast<double>(msgs.size());
  state.counters["rejected"] =
      static_cast<double>(failed) / static_cast<double>(state.iterations());
}

void count_part(GMimeObject*, GMimeObject*, gpointer data) { ++*static_cast<size_t*>(data); }

void gmime_only(benchmark::State& state, const std::vector<std::string>& msgs, size_t bytes) {
  if (msgs.empty()) {
    state.SkipWithError("no messages in the corpus");
    return;
  }
  (void)banxway::email::parse_email(msgs[0]);  // GMime initialized the way the library does it
  size_t parts = 0, failed = 0;
  for (auto _ : state) {
    for (const auto& raw : msgs) {
      GMimeStream* stream = g_mime_stream_mem_new_with_buffer(raw.data(), raw.size());
      GMimeParser* parser = g_mime_parser_new_with_stream(stream);
      GMimeMessage* msg = g_mime_parser_construct_message(parser, nullptr);
      if (msg) {
        g_mime_message_foreach(msg, count_part, &parts);
        g_object_unref(msg);
      } else {
        ++failed;
      }
      g_object_unref(parser);
      g_object_unref(stream);
    }
  }
  benchmark::DoNotOptimize(parts);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * msgs.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["rejected"] =
      static_cast<double>(failed) / static_cast<double>(state.iterations());
}

void BM_GMimeOnlyMboxCorpus(benchmark::State& state) { gmime_only(state, g_mbox, g_mbox_bytes); }
BENCHMARK(BM_GMimeOnlyMboxCorpus)->Unit(benchmark::kMillisecond);

void BM_ParseMboxCorpus(benchmark::State& state) { parse_all(state, g_mbox, g_mbox_bytes); }
BENCHMARK(BM_ParseMboxCorpus)->Unit(benchmark::kMillisecond);

void BM_ParseEmlCorpus(benchmark::State& state) { parse_all(state, g_eml, g_eml_bytes); }
BENCHMARK(BM_ParseEmlCorpus)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  std::string corpus;
  if (const char* env = std::getenv("BANXWAY_CORPUS")) corpus = env;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--corpus") == 0 && i + 1 < argc) {
      corpus = argv[++i];
      continue;
    }
    args.push_back(argv[i]);
  }
  if (corpus.empty() || !fs::is_directory(fs::path(corpus) / "mbox")) {
    std::fprintf(stderr,
                 "bench_mime_parse: no corpus (set BANXWAY_CORPUS or pass --corpus DIR holding "
                 "mbox/ and eml/); nothing to measure\n");
    return 0;
  }
  for (const auto& e : fs::directory_iterator(fs::path(corpus) / "mbox"))
    if (e.path().extension() == ".mbox")
      (void)banxway::email::for_each_mbox_message(e.path().string(), [](std::string&& raw, size_t) {
        g_mbox.push_back(std::move(raw));
        return true;
      });
  if (fs::is_directory(fs::path(corpus) / "eml"))
    for (const auto& e : fs::recursive_directory_iterator(fs::path(corpus) / "eml"))
      if (e.is_regular_file() && e.path().extension() == ".eml")
        g_eml.push_back(read_file(e.path()));
  for (const auto& m : g_mbox) g_mbox_bytes += m.size();
  for (const auto& m : g_eml) g_eml_bytes += m.size();
  std::fprintf(stderr,
               "bench_mime_parse: %zu mbox messages (%zu bytes), %zu eml files (%zu bytes)\n",
               g_mbox.size(), g_mbox_bytes, g_eml.size(), g_eml_bytes);

  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
