#include "access_log.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <mutex>
#include <string>

namespace bxserver {
namespace {

class BatchedStderrSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  ~BatchedStderrSink() override { write_out(); }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    buf_.append(line.data(), line.size());
    if (buf_.size() >= kBatch) write_out();
  }
  void flush_() override { write_out(); }

 private:
  static constexpr size_t kBatch = 64 << 10;

  void write_out() {
    size_t off = 0;
    while (off < buf_.size()) {
      ssize_t n = ::write(STDERR_FILENO, buf_.data() + off, buf_.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // stderr is gone: drop the log rather than the request
      off += static_cast<size_t>(n);
    }
    buf_.clear();
  }

  std::string buf_;
};

}  // namespace

std::shared_ptr<spdlog::logger> access_logger() {
  static std::once_flag once;
  std::call_once(once, [] {
    auto log = std::make_shared<spdlog::logger>("access", std::make_shared<BatchedStderrSink>());
    log->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ access %v", spdlog::pattern_time_type::utc);
    log->flush_on(spdlog::level::off);
    spdlog::register_logger(log);
    spdlog::flush_every(std::chrono::seconds(1));
  });
  return spdlog::get("access");
}

}  // namespace bxserver
