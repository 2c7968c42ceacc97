// net::http_stream (added for the LLM providers): chunks in order, the head first, aborts from
// the handlers or another thread, the size cap and the SSRF rule.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "net/http.hpp"
#include "support/http_stub.hpp"

namespace banxway::net {
namespace {

using namespace std::chrono_literals;
using bxtest::HttpStub;
using bxtest::StubRequest;
using bxtest::StubResponse;
using Clock = std::chrono::steady_clock;

HttpRequest local(const std::string& url) {
  HttpRequest r;
  r.url = url;
  r.allow_private_network = true;
  r.connect_timeout = 2s;
  r.timeout = 10s;
  return r;
}

StubResponse chunked(int n, std::chrono::milliseconds gap) {
  StubResponse r;
  r.content_type = "text/plain";
  r.headers = {{"X-Trace", "t1"}};
  for (int i = 0; i < n; ++i) r.chunks.push_back({gap, "chunk" + std::to_string(i) + ";"});
  return r;
}

TEST(HttpStream, HeadThenChunksInOrder) {
  HttpStub stub([](const StubRequest&) { return chunked(5, 20ms); });
  std::vector<std::string> pieces;
  int head_status = 0;
  std::string trace;
  bool head_before_data = false;
  StreamHandlers h;
  h.on_head = [&](int s, const std::vector<Header>& hs) {
    head_status = s;
    for (const auto& [k, v] : hs)
      if (k == "X-Trace") trace = v;
    head_before_data = pieces.empty();
    return true;
  };
  h.on_data = [&](std::string_view d) {
    pieces.emplace_back(d);
    return true;
  };
  auto r = http_stream(local(stub.base_url() + "/s"), h);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(*r, 200);
  EXPECT_EQ(head_status, 200);
  EXPECT_EQ(trace, "t1");
  EXPECT_TRUE(head_before_data);
  std::string all;
  for (const auto& p : pieces) all += p;
  EXPECT_EQ(all, "chunk0;chunk1;chunk2;chunk3;chunk4;");
  EXPECT_GE(pieces.size(), 2u);  // delivered as they came, not in one piece at the end
}

TEST(HttpStream, EmptyBodyStillDeliversTheHead) {
  HttpStub stub([](const StubRequest&) {
    StubResponse r;
    r.status = 204;
    return r;
  });
  int seen = 0;
  StreamHandlers h;
  h.on_head = [&](int s, const std::vector<Header>&) {
    seen = s;
    return true;
  };
  auto r = http_stream(local(stub.base_url() + "/"), h);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(*r, 204);
  EXPECT_EQ(seen, 204);
}

TEST(HttpStream, AbortFromAnotherThreadIsPrompt) {
  HttpStub stub([](const StubRequest&) { return chunked(50, 100ms); });
  std::atomic<bool> stop{false};
  std::atomic<int> got{0};
  StreamHandlers h;
  h.on_data = [&](std::string_view) {
    ++got;
    return true;
  };
  h.abort = [&] { return stop.load(); };
  Clock::time_point set_at;
  std::thread t([&] {
    while (got.load() < 2) std::this_thread::sleep_for(5ms);
    std::this_thread::sleep_for(30ms);  // mid-gap: the peer is silent now
    set_at = Clock::now();
    stop = true;
  });
  auto r = http_stream(local(stub.base_url() + "/"), h);
  auto back = Clock::now();
  t.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::unavailable);
  EXPECT_NE(r.status().message().find("cancelled"), std::string::npos);
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(back - set_at).count(), 150);
}

TEST(HttpStream, HandlersCanStopTheTransfer) {
  HttpStub stub([](const StubRequest&) { return chunked(5, 10ms); });
  StreamHandlers h;
  h.on_head = [](int, const std::vector<Header>&) { return false; };
  auto r = http_stream(local(stub.base_url() + "/"), h);
  EXPECT_EQ(r.status().code(), Code::unavailable);
  EXPECT_NE(r.status().message().find("cancelled"), std::string::npos);

  int calls = 0;
  StreamHandlers h2;
  h2.on_data = [&](std::string_view) { return ++calls < 2; };
  auto r2 = http_stream(local(stub.base_url() + "/"), h2);
  EXPECT_EQ(r2.status().code(), Code::unavailable);
  EXPECT_EQ(calls, 2);
}

TEST(HttpStream, ExceptionsFromHandlersAreRethrown) {
  HttpStub stub([](const StubRequest&) { return chunked(3, 0ms); });
  StreamHandlers h;
  h.on_data = [](std::string_view) -> bool { throw std::runtime_error("boom"); };
  EXPECT_THROW((void)http_stream(local(stub.base_url() + "/"), h), std::runtime_error);
}

TEST(HttpStream, SizeCapCountsAllStreamedBytes) {
  HttpStub stub([](const StubRequest&) { return chunked(40, 0ms); });
  HttpRequest req = local(stub.base_url() + "/");
  req.max_response_bytes = 100;
  StreamHandlers h;
  size_t total = 0;
  h.on_data = [&](std::string_view d) {
    total += d.size();
    return true;
  };
  auto r = http_stream(req, h);
  EXPECT_EQ(r.status().code(), Code::payload_too_large);
  EXPECT_LE(total, 100u);
}

TEST(HttpStream, SsrfRuleApplies) {
  HttpStub stub([](const StubRequest&) { return chunked(1, 0ms); });
  HttpRequest req = local(stub.base_url() + "/");
  req.allow_private_network = false;
  auto r = http_stream(req, {});
  EXPECT_EQ(r.status().code(), Code::permission_denied);
  EXPECT_EQ(stub.request_count(), 0u);
}

TEST(HttpStream, TimeoutApplies) {
  HttpStub stub([](const StubRequest&) { return chunked(3, 2000ms); });
  HttpRequest req = local(stub.base_url() + "/");
  req.timeout = 300ms;
  auto start = Clock::now();
  auto r = http_stream(req, {});
  EXPECT_EQ(r.status().code(), Code::unavailable);
  EXPECT_NE(r.status().message().find("timed out"), std::string::npos) << r.status().message();
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count(),
            1500);
}

}  // namespace
}  // namespace banxway::net
