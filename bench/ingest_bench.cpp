// Email ingest throughput: the corpus mbox files replicated to N messages, ingested through
// Engine::ingest_email_batch (system principal of a freshly bootstrapped organization) into a fresh
// database, from one thread (the engine adds its parse thread unless --no-parse-thread). Every copy
// gets a suffix on its Message-ID and on every id in In-Reply-To / References, a tag on its Subject
// and its own Outlook Thread-Index key, so each copy threads exactly like the original corpus does
// (see copy_of_message).
//
//   bench_ingest [--corpus DIR] [--messages N] [--window W] [--batch B] [--db URL]
//                [--blob-dir DIR] [--blob-inline-max BYTES] [--cache-mb MB] [--no-fts]
//                [--same-subjects] [--org ID --first-copy K] [--call N] [--no-parse-thread]
//
// --blob-inline-max: blobs up to BYTES live in the database (the engine's default, 64K); 0 puts
// every raw message and attachment in a file of the blob directory, as before stop 15. --cache-mb
// and --no-fts (SQLite only) are for attributing time, not product settings. --same-subjects keeps
// every copy's subjects, so copies join the first copy's threads (the replication of stops 1-16).
// --org and --first-copy continue an earlier run's database (its organization, copies numbered from
// K) to measure at a size without importing it again. DIR defaults to $BANXWAY_CORPUS; URL defaults
// to a new SQLite file in a temp directory (removed afterwards). --call N passes N messages per
// Engine::ingest_email_batch call (default: one batch); --no-parse-thread parses on the calling
// thread (EngineOptions::ingest_parse_thread). Prints messages/s for the first W (default 10k)
// messages, for each later window of W starting at a power-of-ten-ish checkpoint, peak RSS at each
// checkpoint, and the overall rate — per wall second and per CPU second (user + sys) of this
// process, since on a shared machine the wall rate moves with the neighbours.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "banxway/engine.hpp"
#include "channels/email/mailbox_files.hpp"
#include "core/crypto.hpp"
#include "core/json.hpp"
#include "engine_impl.hpp"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// User + system CPU seconds of this process so far.
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

long peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024;
}

bool ieq_prefix(std::string_view line, std::string_view name) {
  if (line.size() < name.size()) return false;
  for (size_t i = 0; i < name.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(line[i])) != std::tolower(static_cast<unsigned char>(name[i])))
      return false;
  return true;
}

// Appends a one-line Thread-Index header whose 22-byte conversation key is XORed with `copy`,
// keeping the line's ending. False (nothing appended) when the value is not such a key.
bool append_thread_index_copy(std::string_view line, size_t copy, std::string& out) {
  std::string_view v = line.substr(std::string_view("thread-index:").size());
  size_t eol = v.size();
  while (eol > 0 && (v[eol - 1] == '\n' || v[eol - 1] == '\r')) --eol;
  std::string value(v.substr(0, eol)), key;
  std::erase_if(value, [](char c) { return c == ' ' || c == '\t'; });
  if (!banxway::crypto::base64_decode(value, &key) || key.size() < 22) return false;
  for (size_t b = 0; b < 4; ++b) key[21 - b] ^= static_cast<char>((copy >> (8 * b)) & 0xff);
  out += "Thread-Index: " + banxway::crypto::base64_encode(key);
  out.append(v.substr(eol));
  return true;
}

// Adds `suffix` inside every <...> id of the Message-ID, In-Reply-To and References headers
// (continuation lines included), before the '@' so the id stays well formed; and, unless
// `tag` is empty, appends " " + tag to the end of the Subject header (after its last
// continuation line). Without the tag a copy's first message has the same subject, sender and
// date as the original's, so the subject fallback of threading rightly files it into the
// original's thread, and its replies follow it there: every copy collapses into the first
// copy's threads (204 threads of about 5,000 messages each at 1M). With the tag each copy
// forms threads of its own, as the original corpus does. A one-line Outlook Thread-Index is
// made per copy too when tagging (its 22-byte key XOR `copy`), or copies would meet through it.
std::string copy_of_message(const std::string& raw, const std::string& suffix, const std::string& tag,
                        size_t copy) {
  if (suffix.empty() && tag.empty()) return raw;
  std::string out;
  out.reserve(raw.size() + 256);
  size_t pos = 0;
  bool in_ids = false;      // inside one of the three headers (incl. folded lines)
  bool in_subject = false;  // inside the Subject header (incl. folded lines)
  size_t subject_end = std::string::npos;  // in `out`: just before the subject's line break
  auto tag_subject = [&] {
    if (subject_end != std::string::npos && !tag.empty()) out.insert(subject_end, " " + tag);
    subject_end = std::string::npos;
  };
  while (pos < raw.size()) {
    size_t nl = raw.find('\n', pos);
    size_t end = nl == std::string::npos ? raw.size() : nl + 1;
    std::string_view line(raw.data() + pos, end - pos);
    if (line == "\n" || line == "\r\n") {  // end of the header block
      if (in_subject) tag_subject();
      out.append(raw, pos, std::string::npos);
      return out;
    }
    if (line[0] != ' ' && line[0] != '\t') {
      if (in_subject) tag_subject();
      in_ids = ieq_prefix(line, "message-id:") || ieq_prefix(line, "in-reply-to:") ||
               ieq_prefix(line, "references:");
      in_subject = ieq_prefix(line, "subject:");
    }
    const bool folded_next = end < raw.size() && (raw[end] == ' ' || raw[end] == '\t');
    if (!tag.empty() && !folded_next && ieq_prefix(line, "thread-index:") &&
        append_thread_index_copy(line, copy, out)) {
      pos = end;
      continue;
    }
    if (!in_ids) {
      out.append(line);
    } else {
      for (size_t i = 0; i < line.size(); ++i) {
        char ch = line[i];
        if (ch == '@' && !suffix.empty()) {
          // Only inside an angle-bracketed id: look back for '<' without '>' in between.
          size_t lt = std::string_view(line).rfind('<', i);
          size_t gt = lt == std::string_view::npos ? lt : std::string_view(line).find('>', lt);
          if (lt != std::string_view::npos && (gt == std::string_view::npos || gt > i)) out += suffix;
        }
        out.push_back(ch);
      }
    }
    if (in_subject) {
      size_t eol = line.size();
      while (eol > 0 && (line[eol - 1] == '\n' || line[eol - 1] == '\r')) --eol;
      subject_end = out.size() - (line.size() - eol);
    }
    pos = end;
  }
  if (in_subject) tag_subject();
  return out;
}

struct Args {
  std::string corpus;
  std::string db;
  size_t messages = 100000;
  size_t window = 10000;
  size_t batch = 200;
  std::string blob_dir;
  long blob_inline_max = -1;  // -1: the engine's default
  // Diagnostics (not the product's behaviour): a larger SQLite page cache for the writer, and
  // no full-text index (its triggers dropped), to attribute time.
  long cache_mb = 0;
  // Continue an earlier run's database: its organization, copies numbered from first_copy.
  std::string org;
  size_t first_copy = 0;
  // Copies keep the original subjects, and so join the first copy's threads (before stop 17).
  bool same_subjects = false;
  bool no_fts = false;
  // Messages per Engine::ingest_email_batch call (0: one batch). Each call starts its own
  // parse thread, so larger calls keep it busy; windows are measured to within one call.
  size_t call = 0;
  bool no_parse_thread = false;  // EngineOptions::ingest_parse_thread off
};

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (const char* c = std::getenv("BANXWAY_CORPUS")) a.corpus = c;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", k.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--corpus") a.corpus = next();
    else if (k == "--db") a.db = next();
    else if (k == "--messages") a.messages = std::stoull(next());
    else if (k == "--window") a.window = std::stoull(next());
    else if (k == "--batch") a.batch = std::stoull(next());
    else if (k == "--blob-dir") a.blob_dir = next();
    else if (k == "--blob-inline-max") a.blob_inline_max = std::stol(next());
    else if (k == "--cache-mb") a.cache_mb = std::stol(next());
    else if (k == "--org") a.org = next();
    else if (k == "--same-subjects") a.same_subjects = true;
    else if (k == "--first-copy") a.first_copy = std::stoul(next());
    else if (k == "--no-fts") a.no_fts = true;
    else if (k == "--call") a.call = std::stoull(next());
    else if (k == "--no-parse-thread") a.no_parse_thread = true;
    else {
      std::fprintf(stderr,
                   "usage: bench_ingest [--corpus DIR] [--messages N] [--window W] [--batch B] "
                   "[--db URL] [--blob-dir DIR] [--blob-inline-max BYTES] "
                   "[--cache-mb MB] [--no-fts] [--org ID --first-copy K] [--same-subjects] "
                   "[--call N] [--no-parse-thread]\n");
      return 2;
    }
  }
  if (a.corpus.empty()) {
    std::fprintf(stderr, "no corpus: pass --corpus DIR or set BANXWAY_CORPUS\n");
    return 2;
  }
  std::vector<std::string> originals;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(fs::path(a.corpus) / "mbox"))
    if (e.path().extension() == ".mbox") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    auto st = banxway::email::for_each_mbox_message(f.string(), [&](std::string&& raw, size_t) {
      originals.push_back(std::move(raw));
      return true;
    });
    if (!st.ok()) {
      std::fprintf(stderr, "%s: %s\n", f.c_str(), st.message().c_str());
      return 1;
    }
  }
  if (originals.empty()) {
    std::fprintf(stderr, "no messages in %s/mbox\n", a.corpus.c_str());
    return 1;
  }

  fs::path tmpdir;
  if (a.db.empty()) {
    tmpdir = fs::temp_directory_path() / ("bench_ingest." + std::to_string(::getpid()));
    fs::create_directories(tmpdir);
    a.db = "sqlite://" + (tmpdir / "bench.db").string();
  }
  banxway::EngineOptions opts;
  opts.database_url = a.db;
  if (a.db.starts_with("postgres")) {
    tmpdir = fs::temp_directory_path() / ("bench_ingest." + std::to_string(::getpid()));
    fs::create_directories(tmpdir);
    opts.blob_dir = (tmpdir / "blobs").string();
  }
  // A separate blob directory (e.g. on tmpfs) separates file-creation cost from the rest.
  if (!a.blob_dir.empty()) opts.blob_dir = a.blob_dir;
  if (a.blob_inline_max >= 0) opts.blob_inline_max_bytes = static_cast<size_t>(a.blob_inline_max);
  opts.ingest_parse_thread = !a.no_parse_thread;
  auto engine = banxway::Engine::open(opts);
  if (!engine.ok()) {
    std::fprintf(stderr, "open: %s\n", engine.status().message().c_str());
    return 1;
  }
  if (a.cache_mb > 0 || a.no_fts) {
    std::string sql;
    if (a.cache_mb > 0) sql += "PRAGMA cache_size=-" + std::to_string(a.cache_mb * 1024) + ";";
    if (a.no_fts)
      // Without the deferral table a batch does not index full text itself (migration 0004).
      sql += "DROP TRIGGER IF EXISTS messages_fts_ai; DROP TRIGGER IF EXISTS messages_fts_ad;"
             "DROP TRIGGER IF EXISTS messages_fts_au; DROP TABLE IF EXISTS messages_fts_deferred;";
    auto st = (*engine)->impl().core.db->transaction(
        [&](banxway::store::Conn& c) { return c.exec_script(sql); });
    if (!st.ok()) {
      std::fprintf(stderr, "diagnostic settings: %s\n", st.message().c_str());
      return 1;
    }
  }
  // A fresh organization per run, so a reused PostgreSQL database still starts empty for it;
  // --org continues an earlier run's organization (measuring at scale without re-importing).
  std::string org_id = a.org;
  if (org_id.empty()) {
    auto boot = (*engine)->bootstrap("Ingest Bench");
    if (!boot.ok()) {
      std::fprintf(stderr, "bootstrap: %s\n", boot.status().message().c_str());
      return 1;
    }
    banxway::json::Document d;
    if (!banxway::json::parse(boot->org_json, &d).ok()) return 1;
    org_id = d["id"].GetString();
  }
  auto who = (*engine)->system_principal(org_id, "bench");
  if (!who.ok()) return 1;

  std::printf("corpus: %zu messages from %zu mbox files; target %zu messages, batch %zu, db %s\n",
              originals.size(), files.size(), a.messages, a.batch, a.db.c_str());
  // Checkpoints: windows of W messages that start at 0 (an empty database), at W (W messages
  // stored: "the rate at 10k"), at 10 W, 100 W... (when reached) and the last window.
  std::vector<size_t> window_starts = {0};
  if (2 * a.window <= a.messages) window_starts.push_back(a.window);
  for (size_t s = 10 * a.window; s + a.window <= a.messages; s *= 10) window_starts.push_back(s);
  if (a.messages >= 2 * a.window && a.messages - a.window > window_starts.back())
    window_starts.push_back(a.messages - a.window);

  size_t done = 0, copy = a.first_copy, errors = 0, duplicates = 0;
  double rate_first = 0, rate_last = 0;
  auto t_all = Clock::now();
  // Open windows: first message, start time, CPU seconds at the start; they may overlap by up
  // to one batch.
  struct Window {
    size_t first;
    size_t checkpoint;  // the window_starts entry it measures (first is that, rounded to a batch)
    Clock::time_point start;
    double cpu;
  };
  std::vector<Window> open_windows;
  double cpu_rate_first = 0, cpu_rate_last = 0;
  double rate_at_w = 0, cpu_rate_at_w = 0;  // the window that starts with W messages stored
  std::vector<std::string> raws;
  while (done < a.messages) {
    // One copy of the corpus (or the part that is still needed), ids suffixed per copy.
    std::string suffix = copy == 0 ? "" : ".c" + std::to_string(copy);
    std::string tag = copy == 0 || a.same_subjects ? "" : "#c" + std::to_string(copy);
    raws.clear();
    size_t n = std::min(originals.size(), a.messages - done);
    for (size_t i = 0; i < n; ++i) raws.push_back(copy_of_message(originals[i], suffix, tag, copy));
    ++copy;
    // Feed in slices of one call each, so window boundaries are measured to within one call.
    const size_t call = a.call ? a.call : a.batch;
    for (size_t off = 0; off < n; off += call) {
      size_t m = std::min(call, n - off);
      for (size_t w : window_starts)
        if (done <= w && w < done + m) open_windows.push_back({done, w, Clock::now(), cpu_seconds()});
      std::vector<std::string_view> views(raws.begin() + off, raws.begin() + off + m);
      auto results = (*engine)->ingest_email_batch(*who, views, a.batch);
      for (auto& r : results) {
        if (!r.ok()) {
          if (errors++ < 5) std::fprintf(stderr, "error: %s\n", r.status().message().c_str());
        } else if (r->find("\"duplicate\":true") != std::string::npos) {
          ++duplicates;
        }
      }
      done += m;
      for (auto it = open_windows.begin(); it != open_windows.end();) {
        if (done - it->first < a.window) {
          ++it;
          continue;
        }
        double s = std::chrono::duration<double>(Clock::now() - it->start).count();
        double rate = static_cast<double>(done - it->first) / s;
        double cpu_rate = static_cast<double>(done - it->first) / (cpu_seconds() - it->cpu);
        if (it->first == 0) {
          rate_first = rate;
          cpu_rate_first = cpu_rate;
        }
        if (it->checkpoint == a.window) {
          rate_at_w = rate;
          cpu_rate_at_w = cpu_rate;
        }
        rate_last = rate;
        cpu_rate_last = cpu_rate;
        std::printf("window %zu..%zu: %.0f messages/s, %.0f messages per CPU second, "
                    "peak RSS %ld MB\n",
                    it->first, done, rate, cpu_rate, peak_rss_mb());
        std::fflush(stdout);
        it = open_windows.erase(it);
      }
    }
  }
  double total_s = std::chrono::duration<double>(Clock::now() - t_all).count();
  // CPU time as well as wall time: on a shared machine the wall rate depends on the neighbours.
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  double user_s = static_cast<double>(u.ru_utime.tv_sec) + u.ru_utime.tv_usec / 1e6;
  double sys_s = static_cast<double>(u.ru_stime.tv_sec) + u.ru_stime.tv_usec / 1e6;
  std::printf("total: %zu messages in %.1f s = %.0f messages/s (%zu duplicates, %zu errors), "
              "peak RSS %ld MB\n"
              "cpu: user %.1f s + sys %.1f s = %.0f messages per CPU second\n",
              done, total_s, static_cast<double>(done) / total_s, duplicates, errors, peak_rss_mb(),
              user_s, sys_s, static_cast<double>(done) / (user_s + sys_s));
  if (rate_first > 0 && rate_last > 0 && window_starts.size() > 1)
    std::printf("last window / first window: %.2f (wall), %.2f (per CPU second)\n",
                rate_last / rate_first, cpu_rate_last / cpu_rate_first);
  if (rate_at_w > 0 && rate_last > 0 && window_starts.size() > 2)
    std::printf("last window / window at %zu stored: %.2f (wall), %.2f (per CPU second)\n",
                a.window, rate_last / rate_at_w, cpu_rate_last / cpu_rate_at_w);
  // How the copies threaded: each copy forming its own threads gives about copies x the
  // original corpus's thread count.
  auto threads = (*engine)->impl().core.db->query(
      "SELECT count(*), max(message_count) FROM threads WHERE org_id = ?",
      std::vector<banxway::store::Value>{org_id});
  if (threads.ok() && !threads->empty())
    std::printf("threads: %lld (largest: %lld messages) for %zu copies of the corpus\n",
                static_cast<long long>(threads->rows[0].int64(0)),
                static_cast<long long>(threads->rows[0].int64(1)), copy - a.first_copy);
  engine->reset();
  if (!tmpdir.empty()) {
    std::error_code ec;
    fs::remove_all(tmpdir, ec);
  }
  return errors ? 1 : 0;
}
