#include "channels/email/mailbox_files.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace banxway::email {
namespace fs = std::filesystem;

namespace {
// mboxrd: a body line ">From " (with any number of '>') was escaped on write; drop one '>'.
void unescape_line(std::string& out, std::string_view line) {
  size_t n = 0;
  while (n < line.size() && line[n] == '>') ++n;
  if (n > 0 && line.substr(n).starts_with("From "))
    out.append(line.substr(1));
  else
    out.append(line);
}
}  // namespace

Status for_each_mbox_message(const std::string& path,
                             const std::function<bool(std::string&&, size_t)>& fn) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open mbox " + path);
  std::string line, msg;
  size_t index = 0;
  bool in_message = false, prev_blank = true;
  auto flush = [&]() -> bool {
    if (!in_message) return true;
    // The blank line before the next "From " belongs to the mbox format, not the message.
    if (msg.size() >= 2 && msg.compare(msg.size() - 2, 2, "\n\n") == 0) msg.pop_back();
    bool go = fn(std::move(msg), index++);
    msg.clear();
    return go;
  };
  while (std::getline(in, line)) {
    bool had_cr = !line.empty() && line.back() == '\r';
    std::string_view l(line);
    if (had_cr) l.remove_suffix(1);
    if (l.starts_with("From ") && prev_blank) {
      if (!flush()) return Status();
      in_message = true;
      prev_blank = false;
      continue;
    }
    if (in_message) {
      unescape_line(msg, l);
      msg.push_back('\n');
    }
    prev_blank = l.empty();
  }
  flush();
  return Status();
}

Status for_each_maildir_message(const std::string& dir,
                                const std::function<bool(std::string&&, const std::string&)>& fn) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return NotFound("not a directory: " + dir);
  std::vector<fs::path> files;
  std::vector<fs::path> dirs;
  if (fs::is_directory(fs::path(dir) / "cur", ec) || fs::is_directory(fs::path(dir) / "new", ec))
    dirs = {fs::path(dir) / "cur", fs::path(dir) / "new"};
  else
    dirs = {fs::path(dir)};
  for (const auto& d : dirs) {
    if (!fs::is_directory(d, ec)) continue;
    for (const auto& e : fs::directory_iterator(d, ec))
      if (e.is_regular_file(ec) && e.path().filename().string()[0] != '.') files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    if (!fn(ss.str(), f.filename().string())) break;
  }
  return Status();
}

}  // namespace banxway::email
