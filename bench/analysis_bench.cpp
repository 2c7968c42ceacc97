// Message analysis throughput: analysis::analyze() (extraction + classification) over the
// subject and plain text of the corpus mbox messages, replicated to N, on one thread.
//
//   bench_analysis [--corpus DIR] [--messages N] [--json] [--freight-every K]
//
// DIR defaults to $BANXWAY_CORPUS and may be the corpus root (holding mbox/) or the mbox folder
// itself. Messages are parsed once with the project's MIME parser (not timed); then analyze() runs
// N times cycling over them. Prints messages/s and MB/s (subject + text bytes) per wall second and
// per CPU second of this process. --json also serializes each result with to_json (timed).
// The corpus (Apache mailing lists) holds no freight identifiers; --freight-every K replaces every
// K-th message with one of a few identifier-dense freight emails, to time the matching paths too.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "analysis/analyze.hpp"
#include "channels/email/mailbox_files.hpp"
#include "channels/email/mime.hpp"

namespace {

namespace fs = std::filesystem;

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct Msg {
  std::string subject, text;
};

const Msg kFreight[] = {
    {"Booking Confirmation - BKG 238475610 / INNSA-NLRTM",
     "Dear Customer,\n\nBooking no: 238475610 confirmed for 2x40HC, POL INNSA, POD NLRTM, FOB "
     "Nhava Sheva. Vessel MSC ANNA IMO 9074729. ETD 2026-12-05, ETA 28 Dec. CY cut-off 3.12.26, "
     "SI cut 2nd Dec, VGM cut Dec 1. Containers MSKU9070323 and CSQU 305438-3. B/L No. "
     "MAEU123456789. HS code 8471.30.01.\n\nThanks and regards,\nOps team\n+91 22 2345 6789\n"},
    {"URGENT: container held at customs - MSKU9070325",
     "Our container MSKU9070325 (typo? maybe TGHU9876542) is held by customs for examination. "
     "Demurrage is running!! Please send the commercial invoice and packing list immediately. "
     "MAWB 176-12345675 / 020-81140743, AWB 888-12345675. Delivery 5th January 2027.\n"},
    {"Rate request CIF Jebel Ali",
     "Hi, please quote your best rate for 1x20GP CIF AEJEA, HS "
     "39239090, cargo ready 12/12, pickup on Fri 28 Nov. Not urgent. Thanks!\n"},
};

}  // namespace

int main(int argc, char** argv) {
  std::string corpus;
  size_t messages = 100000;
  bool with_json = false;
  size_t freight_every = 0;
  if (const char* c = std::getenv("BANXWAY_CORPUS")) corpus = c;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k == "--corpus" && i + 1 < argc)
      corpus = argv[++i];
    else if (k == "--messages" && i + 1 < argc)
      messages = std::stoull(argv[++i]);
    else if (k == "--json")
      with_json = true;
    else if (k == "--freight-every" && i + 1 < argc)
      freight_every = std::stoull(argv[++i]);
    else {
      std::fprintf(stderr,
                   "usage: bench_analysis [--corpus DIR] [--messages N] [--json] "
                   "[--freight-every K]\n");
      return 2;
    }
  }
  if (corpus.empty()) {
    std::fprintf(stderr, "no corpus: pass --corpus DIR or set BANXWAY_CORPUS\n");
    return 2;
  }
  fs::path dir = fs::path(corpus);
  if (fs::is_directory(dir / "mbox")) dir /= "mbox";
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".mbox") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::vector<Msg> msgs;
  size_t unparsed = 0;
  for (const auto& f : files) {
    auto st = banxway::email::for_each_mbox_message(f.string(), [&](std::string&& raw, size_t) {
      auto p = banxway::email::parse_email(raw);
      if (!p.ok()) {
        ++unparsed;
        return true;
      }
      msgs.push_back(Msg{std::move(p->subject), std::move(p->text)});
      return true;
    });
    if (!st.ok()) {
      std::fprintf(stderr, "%s: %s\n", f.c_str(), st.message().c_str());
      return 1;
    }
  }
  if (msgs.empty()) {
    std::fprintf(stderr, "no messages in %s\n", dir.c_str());
    return 1;
  }
  size_t bytes_per_round = 0;
  for (const auto& m : msgs)
    bytes_per_round += std::min(m.subject.size(), banxway::analysis::kMaxAnalyzedBytes) +
                       std::min(m.text.size(), banxway::analysis::kMaxAnalyzedBytes);
  std::printf(
      "corpus: %zu messages from %zu mbox files (%zu unparseable), %.2f MB of subject+text\n",
      msgs.size(), files.size(), unparsed, bytes_per_round / 1e6);

  banxway::analysis::ExtractOptions opt;
  opt.reference_date = "2026-11-27";
  // Warm-up: the data tables are parsed on first use; that cost is not per message.
  (void)banxway::analysis::analyze("warm up", "ETA 5 Dec MSKU9070323", opt);

  size_t bytes = 0, entities = 0, json_bytes = 0;
  double cpu0 = cpu_seconds();
  auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < messages; ++i) {
    const Msg& m = freight_every && i % freight_every == 0
                       ? kFreight[(i / freight_every) % std::size(kFreight)]
                       : msgs[i % msgs.size()];
    auto a = banxway::analysis::analyze(m.subject, m.text, opt);
    const auto& e = a.extraction.entities;
    entities += e.containers.size() + e.awbs.size() + e.bls.size() + e.bookings.size() +
                e.ports.size() + e.incoterms.size() + e.hs_codes.size() + e.dates.size();
    if (with_json) json_bytes += banxway::analysis::to_json(a).size();
    bytes += std::min(m.subject.size(), banxway::analysis::kMaxAnalyzedBytes) +
             std::min(m.text.size(), banxway::analysis::kMaxAnalyzedBytes);
  }
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double cpu = cpu_seconds() - cpu0;
  std::printf("analyzed %zu messages (%.1f MB) in %.3f s wall, %.3f s CPU%s\n", messages,
              bytes / 1e6, wall, cpu, with_json ? " (with to_json)" : "");
  std::printf("  %.0f messages/s wall, %.0f messages/s CPU, %.1f MB/s wall, %.1f us/message\n",
              messages / wall, messages / cpu, bytes / 1e6 / wall, wall / messages * 1e6);
  std::printf("  entities found: %zu%s\n", entities,
              with_json ? (", JSON bytes: " + std::to_string(json_bytes)).c_str() : "");
  return 0;
}
