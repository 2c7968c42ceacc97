// The shared mail corpus through parse_email(): every .eml under $BANXWAY_CORPUS/eml and every
// message of $BANXWAY_CORPUS/mbox/*.mbox. Skipped (with a message) when BANXWAY_CORPUS is unset,
// since a user's clone has no corpus next to it.
#include <glib.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "channels/email/mailbox_files.hpp"
#include "channels/email/mime.hpp"

using namespace banxway;
using namespace banxway::email;
namespace fs = std::filesystem;

namespace {

bool valid_utf8(const std::string& s) {
  return g_utf8_validate_len(s.data(), static_cast<gssize>(s.size()), nullptr);
}

// Names the first field that is not valid UTF-8, or "".
std::string bad_field(const ParsedEmail& m) {
  const std::pair<const char*, const std::string*> fields[] = {{"message_id", &m.message_id},
                                                               {"in_reply_to", &m.in_reply_to},
                                                               {"thread_index", &m.thread_index},
                                                               {"thread_topic", &m.thread_topic},
                                                               {"subject", &m.subject},
                                                               {"text", &m.text},
                                                               {"new_text", &m.new_text},
                                                               {"signature", &m.signature},
                                                               {"html", &m.html},
                                                               {"list_id", &m.list_id}};
  for (auto [name, s] : fields)
    if (!valid_utf8(*s)) return name;
  for (const auto& r : m.references)
    if (!valid_utf8(r)) return "references";
  std::vector<const Address*> addrs;
  if (m.from) addrs.push_back(&*m.from);
  for (const auto* l : {&m.to, &m.cc, &m.reply_to})
    for (const auto& a : *l) addrs.push_back(&a);
  for (const auto* a : addrs)
    if (!valid_utf8(a->name) || !valid_utf8(a->email)) return "address";
  for (const auto& a : m.attachments)
    if (!valid_utf8(a.filename) || !valid_utf8(a.content_id) || !valid_utf8(a.media_type))
      return "attachment";
  for (const auto& w : m.warnings)
    if (!valid_utf8(w)) return "warnings";
  if (!m.text.empty() && m.new_text.empty()) return "new_text (empty while text is not)";
  return {};
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The mbox reader the import command uses (banxway::email::for_each_mbox_message).
std::vector<std::string> split_mbox(const fs::path& path) {
  std::vector<std::string> out;
  auto st = banxway::email::for_each_mbox_message(path.string(), [&](std::string&& raw, size_t) {
    out.push_back(std::move(raw));
    return true;
  });
  EXPECT_TRUE(st.ok()) << st.to_string();
  return out;
}

const char* corpus_dir() {
  const char* dir = std::getenv("BANXWAY_CORPUS");
  return dir && *dir ? dir : nullptr;
}

struct Tally {
  int parsed = 0, rejected = 0, with_warnings = 0, warnings = 0;
  std::map<std::string, int> kinds;  // warning text up to ':' -> count
  void add(const ParsedEmail& m) {
    ++parsed;
    if (!m.warnings.empty()) ++with_warnings;
    warnings += static_cast<int>(m.warnings.size());
    for (const auto& w : m.warnings) ++kinds[w.substr(0, w.find_first_of(":("))];
  }
  void report(const char* what) const {
    std::cout << "[corpus] " << what << ": " << parsed << " parsed, " << rejected << " rejected, "
              << with_warnings << " with warnings, " << warnings << " warnings\n";
    for (const auto& [k, n] : kinds) std::cout << "[corpus]   " << n << " x " << k << "\n";
  }
};

}  // namespace

TEST(Corpus, EveryEmlFileParsesWithValidUtf8) {
  const char* dir = corpus_dir();
  if (!dir) GTEST_SKIP() << "BANXWAY_CORPUS is not set (point it at ../shared/corpus)";
  const fs::path root = fs::path(dir) / "eml";
  ASSERT_TRUE(fs::is_directory(root)) << root;
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file() && e.path().extension() == ".eml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());
  Tally t;
  for (const auto& f : files) {
    const std::string raw = read_file(f);
    auto r = parse_email(raw);
    if (!r.ok()) {
      // Rejected is acceptable only with a reason and only for input that is not a message.
      EXPECT_EQ(r.status().code(), Code::invalid_argument) << f << ": " << r.status().to_string();
      EXPECT_FALSE(r.status().message().empty()) << f;
      std::cout << "[corpus] rejected " << f.lexically_relative(root).string() << ": "
                << r.status().message() << "\n";
      ++t.rejected;
      continue;
    }
    EXPECT_EQ(bad_field(*r), "") << f;
    t.add(*r);
  }
  t.report("eml");
  EXPECT_EQ(t.parsed + t.rejected, static_cast<int>(files.size()));
}

TEST(Corpus, EveryMboxMessageParses) {
  const char* dir = corpus_dir();
  if (!dir) GTEST_SKIP() << "BANXWAY_CORPUS is not set (point it at ../shared/corpus)";
  const fs::path root = fs::path(dir) / "mbox";
  ASSERT_TRUE(fs::is_directory(root)) << root;
  Tally t;
  int threaded = 0, with_attachments = 0, with_html = 0;
  for (const auto& e : fs::directory_iterator(root)) {
    if (e.path().extension() != ".mbox") continue;
    int index = 0;
    for (const std::string& raw : split_mbox(e.path())) {
      auto r = parse_email(raw);
      ASSERT_TRUE(r.ok()) << e.path() << " #" << index << ": " << r.status().to_string();
      EXPECT_EQ(bad_field(*r), "") << e.path() << " #" << index;
      if (!r->in_reply_to.empty() || !r->references.empty()) ++threaded;
      if (!r->attachments.empty()) ++with_attachments;
      if (!r->html.empty() && !r->text.empty()) ++with_html;
      t.add(*r);
      ++index;
    }
  }
  t.report("mbox");
  std::cout << "[corpus] mbox: " << threaded << " replies, " << with_attachments
            << " with attachments, " << with_html << " with HTML\n";
  EXPECT_GT(t.parsed, 700);
}
