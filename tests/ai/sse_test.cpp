// SseParser: line endings in every split, field rules, comments, limits.
#include "ai/sse.hpp"

#include <gtest/gtest.h>

namespace banxway::ai {
namespace {

std::vector<SseEvent> parse_all(std::string_view text) {
  SseParser p;
  std::vector<SseEvent> out;
  Status st = p.feed(text, out);
  EXPECT_TRUE(st.ok()) << st.to_string();
  return out;
}

std::vector<SseEvent> parse_bytewise(std::string_view text) {
  SseParser p;
  std::vector<SseEvent> out;
  for (char c : text) {
    Status st = p.feed(std::string_view(&c, 1), out);
    EXPECT_TRUE(st.ok()) << st.to_string();
  }
  return out;
}

void expect_same(const std::vector<SseEvent>& a, const std::vector<SseEvent>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].type, b[i].type) << i;
    EXPECT_EQ(a[i].data, b[i].data) << i;
    EXPECT_EQ(a[i].id, b[i].id) << i;
  }
}

TEST(Sse, BasicEventsAndDefaultType) {
  auto ev = parse_all("data: hello\n\nevent: ping\ndata: {}\n\n");
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].type, "message");
  EXPECT_EQ(ev[0].data, "hello");
  EXPECT_EQ(ev[1].type, "ping");
  EXPECT_EQ(ev[1].data, "{}");
}

TEST(Sse, AllLineEndings) {
  const std::string lf = "event: a\ndata: 1\ndata: 2\n\ndata: x\n\n";
  const std::string crlf = "event: a\r\ndata: 1\r\ndata: 2\r\n\r\ndata: x\r\n\r\n";
  const std::string cr = "event: a\rdata: 1\rdata: 2\r\rdata: x\r\r";
  const std::string mixed = "event: a\rdata: 1\r\ndata: 2\n\r\ndata: x\r\n\n";
  auto ref = parse_all(lf);
  ASSERT_EQ(ref.size(), 2u);
  EXPECT_EQ(ref[0].type, "a");
  EXPECT_EQ(ref[0].data, "1\n2");
  EXPECT_EQ(ref[1].data, "x");
  for (const auto& s : {crlf, cr, mixed}) {
    expect_same(parse_all(s), ref);
    expect_same(parse_bytewise(s), ref);
  }
}

TEST(Sse, EverySplitPointGivesTheSameEvents) {
  const std::string text =
      ": keep-alive\r\nevent: content_block_delta\r\ndata: {\"a\":1}\r\nid: 7\r\n\r\n"
      "data:no-space\r\ndata:  two spaces\r\n\r\n:another comment\r\rdata: end\r\n\r\n";
  auto ref = parse_all(text);
  ASSERT_EQ(ref.size(), 3u);
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    for (size_t cut2 = cut; cut2 <= text.size(); cut2 += 7) {
      SseParser p;
      std::vector<SseEvent> out;
      ASSERT_TRUE(p.feed(std::string_view(text).substr(0, cut), out).ok());
      ASSERT_TRUE(p.feed(std::string_view(text).substr(cut, cut2 - cut), out).ok());
      ASSERT_TRUE(p.feed(std::string_view(text).substr(cut2), out).ok());
      expect_same(out, ref);
    }
  }
  expect_same(parse_bytewise(text), ref);
}

TEST(Sse, FieldRules) {
  auto ev = parse_all(
      "data:no-space\n\n"
      "data:  two\n\n"       // only one space is stripped
      "data\n\n"             // no colon: a field with an empty value
      "data:\ndata:\n\n"     // two empty data lines: one LF
      "unknown: x\ndata: y\n\n"
      "event: only-type\n\n"  // no data: not dispatched
      "data: z\n\n");
  ASSERT_EQ(ev.size(), 6u);
  EXPECT_EQ(ev[0].data, "no-space");
  EXPECT_EQ(ev[1].data, " two");
  EXPECT_EQ(ev[2].data, "");
  EXPECT_EQ(ev[3].data, "\n");
  EXPECT_EQ(ev[4].data, "y");
  EXPECT_EQ(ev[5].data, "z");
  EXPECT_EQ(ev[5].type, "message");  // the undispatched type does not leak
}

TEST(Sse, CommentsAreIgnored) {
  auto ev = parse_all(": ping\n\n:\n: keep-alive\ndata: a\n: in the middle\ndata: b\n\n");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].data, "a\nb");
}

TEST(Sse, IdPersistsAndRetryIsKept) {
  SseParser p;
  std::vector<SseEvent> ev;
  ASSERT_TRUE(p.feed("id: 1\nretry: 2500\ndata: a\n\ndata: b\n\nid\ndata: c\n\n", ev).ok());
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].id, "1");
  EXPECT_EQ(ev[1].id, "1");
  EXPECT_EQ(ev[2].id, "");
  EXPECT_EQ(p.retry_ms().value_or(-1), 2500);
  ASSERT_TRUE(p.feed("retry: 12x\n\n", ev).ok());
  EXPECT_EQ(p.retry_ms().value_or(-1), 2500);  // not all digits: ignored
}

TEST(Sse, IncompleteEventIsNotDispatched) {
  SseParser p;
  std::vector<SseEvent> ev;
  ASSERT_TRUE(p.feed("data: partial\n", ev).ok());
  EXPECT_TRUE(ev.empty());
  EXPECT_TRUE(p.in_event());
  ASSERT_TRUE(p.feed("\n", ev).ok());
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_FALSE(p.in_event());
}

TEST(Sse, LeadingBomIsSkipped) {
  auto ev = parse_all("\xEF\xBB\xBF" "data: x\n\n");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].data, "x");
}

TEST(Sse, LineOverLimitIsAnError) {
  SseParser p(64);
  std::vector<SseEvent> ev;
  ASSERT_TRUE(p.feed("data: " + std::string(40, 'a'), ev).ok());
  Status st = p.feed(std::string(40, 'b'), ev);  // still no line end: 86 bytes
  EXPECT_EQ(st.code(), Code::invalid_argument);
  EXPECT_NE(st.message().find("64-byte limit"), std::string::npos) << st.message();
  // stays failed
  EXPECT_EQ(p.feed("\n\n", ev).code(), Code::invalid_argument);
  EXPECT_TRUE(ev.empty());
}

TEST(Sse, EventOverLimitIsAnError) {
  SseParser p(64);
  std::vector<SseEvent> ev;
  Status st;
  for (int i = 0; i < 10 && st.ok(); ++i) st = p.feed("data: 0123456789\n", ev);
  EXPECT_EQ(st.code(), Code::invalid_argument);
  EXPECT_NE(st.message().find("event exceeds the 64-byte limit"), std::string::npos)
      << st.message();
}

TEST(Sse, ManyEventsWithinLimitAreFine) {
  SseParser p(64);
  std::vector<SseEvent> ev;
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(p.feed("data: 0123456789\n\n", ev).ok());
  EXPECT_EQ(ev.size(), 1000u);
}

}  // namespace
}  // namespace banxway::ai
