// Outbound MIME (src/channels/email/mime_builder.cpp): what build_email() writes must parse back
// through our own parser with every field intact; header injection is refused field by field;
// reply subjects and Thread-Index follow the mail clients' conventions.
#include "channels/email/mime_builder.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>

#include "channels/email/mime.hpp"
#include "core/crypto.hpp"

using namespace banxway;
using namespace banxway::email;

namespace {

std::string binary_blob() {
  std::string b;
  for (int i = 0; i < 3000; ++i) b.push_back(static_cast<char>((i * 7 + i / 256) & 0xff));
  b += std::string("\0\r\n.\r\n\n\r", 8);  // NUL, CRLF, a lone dot line: must survive untouched
  return b;
}

std::string png_bytes() {
  // A PNG signature + padding: sniffing agrees with the declared image/png.
  std::string p("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
  p += std::string(64, '\x01');
  return p;
}

OutgoingEmail full_email() {
  OutgoingEmail e;
  e.from = {"Zoë Ops (Banxway)", "ops@example.test"};
  e.to = {{"Jürgen Müller", "juergen@customer.example"}, {"", "plain@customer.example"}};
  e.cc = {{"Carrier \"Desk\"", "desk@carrier.example"}};
  e.bcc = {{"Secret Boss", "boss@hidden.example"}};
  e.reply_to = {{"", "reply@example.test"}};
  e.subject = reply_subject("Fwd: RE: Sendung nach Zürich — 40' HC 🚢");
  e.message_id = "bx.0b6f0f0e-1111-4222-8333-944445555666.abcdef0123456789@example.test";
  e.in_reply_to = "parent@customer.example";
  e.references = {"root@customer.example", "middle@carrier.example"};
  e.text = "Hello Jürgen,\n\nthe container is booked.\nA line with trailing spaces   \n.\nEnd";
  e.html =
      "<p>Hello <b>Jürgen</b>,</p><p>see <img src=\"cid:logo@bx\"></p><script>alert(1)</script>";
  e.attachments.push_back({"Rechnung März €.pdf", "application/pdf", binary_blob(), "", false});
  e.attachments.push_back({"logo.png", "image/png", png_bytes(), "logo@bx", true});
  e.attachments.push_back({"Übersicht 日本.bin", "application/octet-stream",
                           std::string("\xff\x00\xfe", 3), "", false});
  e.date = TimePoint(std::chrono::milliseconds(1'767'225'600'000));  // 2026-01-01T00:00:00Z
  return e;
}

std::string headers_of(const std::string& raw) { return raw.substr(0, raw.find("\r\n\r\n")); }

bool has_bare_lf(const std::string& s) {
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return true;
  return false;
}

const Attachment* find_attachment(const ParsedEmail& m, const std::string& filename) {
  for (const auto& a : m.attachments)
    if (a.filename == filename) return &a;
  return nullptr;
}

}  // namespace

TEST(MimeBuilder, RoundTripThroughParser) {
  auto e = full_email();
  auto raw = build_email(e);
  ASSERT_TRUE(raw.ok()) << raw.status().to_string();
  EXPECT_FALSE(has_bare_lf(*raw)) << "every line ends in CRLF";
  for (unsigned char c : *raw) ASSERT_LT(c, 0x80) << "the message is 7-bit on the wire";

  auto parsed = parse_email(*raw);
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  const ParsedEmail& m = *parsed;
  ASSERT_TRUE(m.from);
  EXPECT_EQ(m.from->name, "Zoë Ops (Banxway)");
  EXPECT_EQ(m.from->email, "ops@example.test");
  ASSERT_EQ(m.to.size(), 2u);
  EXPECT_EQ(m.to[0].name, "Jürgen Müller");
  EXPECT_EQ(m.to[0].email, "juergen@customer.example");
  EXPECT_EQ(m.to[1].email, "plain@customer.example");
  ASSERT_EQ(m.cc.size(), 1u);
  EXPECT_EQ(m.cc[0].name, "Carrier \"Desk\"");
  EXPECT_EQ(m.cc[0].email, "desk@carrier.example");
  ASSERT_EQ(m.reply_to.size(), 1u);
  EXPECT_EQ(m.reply_to[0].email, "reply@example.test");
  EXPECT_EQ(m.subject, "Re: Sendung nach Zürich — 40' HC 🚢");
  EXPECT_EQ(m.message_id, e.message_id);
  EXPECT_EQ(m.in_reply_to, "parent@customer.example");
  EXPECT_EQ(m.references,
            (std::vector<std::string>{"root@customer.example", "middle@carrier.example",
                                      "parent@customer.example"}));
  ASSERT_TRUE(m.date);
  EXPECT_EQ(*m.date, *e.date);
  EXPECT_EQ(m.text, e.text);
  EXPECT_NE(m.html.find("Jürgen"), std::string::npos) << m.html;
  EXPECT_EQ(m.html.find("<script"), std::string::npos) << "parser sanitizes; content present";
  EXPECT_FALSE(m.auto_submitted);

  ASSERT_EQ(m.attachments.size(), 3u);
  const Attachment* pdf = find_attachment(m, "Rechnung März €.pdf");
  ASSERT_NE(pdf, nullptr);
  EXPECT_EQ(pdf->data, binary_blob());
  EXPECT_EQ(pdf->declared_type, "application/pdf");
  const Attachment* bin = find_attachment(m, "Übersicht 日本.bin");
  ASSERT_NE(bin, nullptr);
  EXPECT_EQ(bin->data, std::string("\xff\x00\xfe", 3));
  const Attachment* logo = find_attachment(m, "logo.png");
  ASSERT_NE(logo, nullptr);
  EXPECT_EQ(logo->content_id, "logo@bx");
  EXPECT_TRUE(logo->is_inline);
  EXPECT_EQ(logo->data, png_bytes());
  EXPECT_EQ(logo->media_type, "image/png");

  const std::string h = headers_of(*raw);
  EXPECT_NE(h.find("multipart/mixed"), std::string::npos);
  EXPECT_NE(raw->find("multipart/related"), std::string::npos);
  EXPECT_NE(raw->find("multipart/alternative"), std::string::npos);
  EXPECT_NE(raw->find("filename*=UTF-8''Rechnung%20M%C3%A4rz%20%E2%82%AC.pdf"), std::string::npos)
      << "RFC 2231 filename in UTF-8\n"
      << *raw;
  EXPECT_NE(h.find("From: =?UTF-8?"), std::string::npos) << "RFC 2047 names in UTF-8\n" << h;
  EXPECT_EQ(h.find("iso-8859"), std::string::npos) << h;
}

TEST(MimeBuilder, BccNeverInHeadersButInEnvelope) {
  auto e = full_email();
  auto raw = build_email(e);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->find("boss@hidden.example"), std::string::npos);
  EXPECT_EQ(raw->find("Secret Boss"), std::string::npos);
  EXPECT_EQ(headers_of(*raw).find("\nBcc:"), std::string::npos);
  auto env = envelope_recipients(e);
  EXPECT_EQ(env, (std::vector<std::string>{"juergen@customer.example", "plain@customer.example",
                                           "desk@carrier.example", "boss@hidden.example"}));
  // Only Bcc recipients: a valid message without To.
  OutgoingEmail only_bcc;
  only_bcc.from = {"", "ops@example.test"};
  only_bcc.bcc = {{"", "hidden@example.test"}};
  only_bcc.text = "x";
  auto r = build_email(only_bcc);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->find("hidden@example.test"), std::string::npos);
}

TEST(MimeBuilder, RequiredHeadersPresent) {
  OutgoingEmail e;
  e.from = {"", "ops@example.test"};
  e.to = {{"", "a@example.test"}};
  e.subject = "Plain";
  e.text = "body";
  e.auto_submitted = true;
  auto raw = build_email(e);
  ASSERT_TRUE(raw.ok()) << raw.status().to_string();
  const std::string h = "\r\n" + headers_of(*raw);
  EXPECT_NE(h.find("\r\nDate: "), std::string::npos) << h;
  EXPECT_NE(h.find("\r\nMIME-Version: 1.0"), std::string::npos) << h;
  EXPECT_NE(h.find("\r\nAuto-Submitted: auto-generated"), std::string::npos) << h;
  EXPECT_NE(h.find("text/plain"), std::string::npos) << h;
  auto m = parse_email(*raw);
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->auto_submitted);
  EXPECT_FALSE(m->message_id.empty()) << "an id is generated when the caller gives none";
  EXPECT_NE(m->message_id.find("@example.test"), std::string::npos);
  EXPECT_TRUE(m->date.has_value());
  EXPECT_EQ(m->text, "body");
  EXPECT_TRUE(m->attachments.empty());
  EXPECT_TRUE(m->html.empty());
}

TEST(MimeBuilder, InlineImageWithoutHtmlBecomesAttachment) {
  OutgoingEmail e;
  e.from = {"", "ops@example.test"};
  e.to = {{"", "a@example.test"}};
  e.text = "see image";
  e.attachments.push_back({"img.png", "image/png", png_bytes(), "img@bx", true});
  auto raw = build_email(e);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->find("multipart/related"), std::string::npos);
  auto m = parse_email(*raw);
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->attachments.size(), 1u);
  EXPECT_EQ(m->attachments[0].data, png_bytes());
}

TEST(MimeBuilder, ThreadIndexExtendedNotCopied) {
  // A parent with a header block and one child block (27 bytes), as Outlook writes it.
  std::string parent_raw = std::string("\x01\xdc\x5a\x10\x20\x30", 6) + std::string(16, '\x42') +
                           std::string("\x00\x00\x10\x20\x31", 5);
  std::string parent = crypto::base64_encode(parent_raw);
  auto e = full_email();
  e.parent_thread_index = parent;
  auto raw = build_email(e);
  ASSERT_TRUE(raw.ok());
  auto m = parse_email(*raw);
  ASSERT_TRUE(m.ok());
  ASSERT_FALSE(m->thread_index.empty());
  EXPECT_NE(m->thread_index, parent);
  std::string decoded;
  ASSERT_TRUE(crypto::base64_decode(m->thread_index, &decoded));
  EXPECT_EQ(decoded.size(), parent_raw.size() + 5);
  EXPECT_EQ(decoded.substr(0, parent_raw.size()), parent_raw);

  // The next reply extends again.
  auto again = next_thread_index(m->thread_index, *e.date + std::chrono::hours(1));
  ASSERT_TRUE(crypto::base64_decode(again, &decoded));
  EXPECT_EQ(decoded.size(), parent_raw.size() + 10);
}

TEST(MimeBuilder, ThreadIndexNewWhenAbsentOrUnusable) {
  auto now = TimePoint(std::chrono::milliseconds(1'767'225'600'000));
  for (std::string parent :
       {std::string(), std::string("not base64 !!"), crypto::base64_encode("too short")}) {
    std::string decoded;
    auto ti = next_thread_index(parent, now);
    ASSERT_TRUE(crypto::base64_decode(ti, &decoded)) << ti;
    EXPECT_EQ(decoded.size(), 22u) << parent;
    EXPECT_EQ(decoded[0], '\x01');
  }
  // Two new indexes differ (random GUID): two new conversations never collide.
  EXPECT_NE(next_thread_index("", now), next_thread_index("", now));

  OutgoingEmail e;
  e.from = {"", "ops@example.test"};
  e.to = {{"", "a@example.test"}};
  e.text = "x";
  auto raw = build_email(e);
  ASSERT_TRUE(raw.ok());
  auto m = parse_email(*raw);
  ASSERT_TRUE(m.ok());
  std::string decoded;
  ASSERT_TRUE(crypto::base64_decode(m->thread_index, &decoded));
  EXPECT_EQ(decoded.size(), 22u);
}

TEST(MimeBuilder, ReferencesCappedKeepingRootAndRecent) {
  OutgoingEmail e;
  e.from = {"", "ops@example.test"};
  e.to = {{"", "a@example.test"}};
  e.text = "x";
  for (int i = 0; i < 200; ++i)
    e.references.push_back("id" + std::to_string(i) + ".aaaaaaaaaaaaaaaaaaaa@example.test");
  e.in_reply_to = "id199.aaaaaaaaaaaaaaaaaaaa@example.test";
  auto raw = build_email(e);
  ASSERT_TRUE(raw.ok());
  // Folded: no header line is anywhere near the 998-byte limit.
  size_t line = 0;
  for (char c : *raw) {
    line = c == '\n' ? 0 : line + 1;
    ASSERT_LT(line, 998u);
  }
  auto m = parse_email(*raw);
  ASSERT_TRUE(m.ok());
  ASSERT_GT(m->references.size(), 10u);
  EXPECT_LT(m->references.size(), 200u);
  EXPECT_EQ(m->references.front(), "id0.aaaaaaaaaaaaaaaaaaaa@example.test");
  EXPECT_EQ(m->references.back(), "id199.aaaaaaaaaaaaaaaaaaaa@example.test");
  EXPECT_EQ(m->references[m->references.size() - 2], "id198.aaaaaaaaaaaaaaaaaaaa@example.test");
}

TEST(MimeBuilder, HeaderInjectionRejectedInEveryField) {
  struct Case {
    std::string field;
    std::function<void(OutgoingEmail&, const std::string&)> set;
  };
  const std::vector<Case> cases = {
      {"from.name", [](OutgoingEmail& e, const std::string& v) { e.from.name = v; }},
      {"from.email", [](OutgoingEmail& e, const std::string& v) { e.from.email = v; }},
      {"to[0].name", [](OutgoingEmail& e, const std::string& v) { e.to[0].name = v; }},
      {"to[1].email", [](OutgoingEmail& e, const std::string& v) { e.to[1].email = v; }},
      {"cc[0].name", [](OutgoingEmail& e, const std::string& v) { e.cc[0].name = v; }},
      {"cc[0].email", [](OutgoingEmail& e, const std::string& v) { e.cc[0].email = v; }},
      {"bcc[0].email", [](OutgoingEmail& e, const std::string& v) { e.bcc[0].email = v; }},
      {"reply_to[0].name", [](OutgoingEmail& e, const std::string& v) { e.reply_to[0].name = v; }},
      {"subject", [](OutgoingEmail& e, const std::string& v) { e.subject = v; }},
      {"message_id", [](OutgoingEmail& e, const std::string& v) { e.message_id = v; }},
      {"in_reply_to", [](OutgoingEmail& e, const std::string& v) { e.in_reply_to = v; }},
      {"references[1]", [](OutgoingEmail& e, const std::string& v) { e.references[1] = v; }},
      {"parent_thread_index",
       [](OutgoingEmail& e, const std::string& v) { e.parent_thread_index = v; }},
      {"attachments[0].filename",
       [](OutgoingEmail& e, const std::string& v) { e.attachments[0].filename = v; }},
      {"attachments[1].content_id",
       [](OutgoingEmail& e, const std::string& v) { e.attachments[1].content_id = v; }},
      {"attachments[2].media_type",
       [](OutgoingEmail& e, const std::string& v) { e.attachments[2].media_type = v; }},
  };
  const std::vector<std::string> payloads = {
      "x\r\nBcc: victim@evil.example", "x\nBcc: victim@evil.example", "x\rBcc: victim@evil.example",
      std::string("x\0y@example.test", 16)};
  for (const auto& c : cases) {
    for (const auto& p : payloads) {
      auto e = full_email();
      c.set(e, p);
      auto r = build_email(e);
      ASSERT_FALSE(r.ok()) << c.field << " accepted " << p;
      EXPECT_EQ(r.status().code(), Code::invalid_argument) << c.field;
      EXPECT_NE(r.status().message().find(c.field), std::string::npos)
          << c.field << ": " << r.status().message();
      EXPECT_NE(r.status().details().find("\"" + c.field + "\""), std::string::npos) << c.field;
    }
  }
}

TEST(MimeBuilder, MalformedAddressesAndMissingParties) {
  auto e = full_email();
  e.from.email = "";
  EXPECT_EQ(build_email(e).status().code(), Code::invalid_argument);
  for (std::string bad : {"no-at-sign", "a@b@c", "<a@b.example>", "a b@c.example", "a@.example",
                          "müller@example.test", "a@example.test>, evil@x.example"}) {
    auto e2 = full_email();
    e2.to[0].email = bad;
    auto r = build_email(e2);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("to[0].email"), std::string::npos) << bad;
  }
  auto none = full_email();
  none.to.clear();
  none.cc.clear();
  none.bcc.clear();
  auto r = build_email(none);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::invalid_argument);
  EXPECT_NE(r.status().message().find("recipient"), std::string::npos);

  auto badid = full_email();
  badid.message_id = "a b@example.test";
  EXPECT_FALSE(build_email(badid).ok());
  badid.message_id = "x@y><evil@z";
  EXPECT_FALSE(build_email(badid).ok());
  auto badutf = full_email();
  badutf.subject = "\xc3\x28";
  EXPECT_FALSE(build_email(badutf).ok());
}

TEST(ReplySubject, ExactlyOneRe) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"Booking 123", "Re: Booking 123"},
      {"Re: Booking 123", "Re: Booking 123"},
      {"RE: Booking 123", "Re: Booking 123"},
      {"re:Booking 123", "Re: Booking 123"},
      {"Re: Re: RE: Booking 123", "Re: Booking 123"},
      {"Re[2]: Booking 123", "Re: Booking 123"},
      {"Re (3): Booking 123", "Re: Booking 123"},
      {"RE : Booking 123", "Re: Booking 123"},
      {"AW: Booking 123", "Re: Booking 123"},
      {"Aw: WG: Booking 123", "Re: Booking 123"},
      {"Fwd: Booking 123", "Re: Booking 123"},
      {"FW: Re: Booking 123", "Re: Booking 123"},
      {"SV: VS: Booking 123", "Re: Booking 123"},
      {"TR: RV: Booking 123", "Re: Booking 123"},
      {"Antw: Booking 123", "Re: Booking 123"},
      {"回复：Booking 123", "Re: Booking 123"},
      {"转发: 回复: Booking 123", "Re: Booking 123"},
      {"  Re:   Booking 123  ", "Re: Booking 123"},
      {"Ref: Booking 123", "Re: Ref: Booking 123"},  // "Ref" is a freight word, not a marker
      {"Reefer booking", "Re: Reefer booking"},
      {"Rechnung: März", "Re: Rechnung: März"},
      {"[ops] Re: Booking", "Re: [ops] Re: Booking"},
      {"Folded\r\n subject", "Re: Folded   subject"},
      {"", "Re:"},
      {"Re:", "Re:"},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(reply_subject(in), want) << in;
}

TEST(MimeBuilder, MessageAttachmentsAreNeverBase64) {
  // RFC 2046 5.2.1: message/rfc822 only as 7bit/8bit/binary. A 7-bit clean one goes out 7bit;
  // a binary one is demoted to application/octet-stream (base64) rather than breaking the rule.
  OutgoingEmail e;
  e.from = {"", "ops@example.test"};
  e.to = {{"", "a@example.test"}};
  e.text = "forwarding";
  e.attachments.push_back({"fwd.eml", "message/rfc822",
                           "From: x@example.test\r\nSubject: inner\r\n\r\nInner body\r\n", "",
                           false});
  e.attachments.push_back({"bad.eml", "message/rfc822", std::string("\x00\xff", 2), "", false});
  e.attachments.push_back({"x.bin", "multipart/mixed", "abc", "", false});
  auto raw = build_email(e);
  ASSERT_TRUE(raw.ok()) << raw.status().to_string();
  auto rfc822 = raw->find("Content-Type: message/rfc822");
  ASSERT_NE(rfc822, std::string::npos) << *raw;
  EXPECT_EQ(raw->find("Content-Type: message/rfc822", rfc822 + 1), std::string::npos) << *raw;
  auto next_part = raw->find("\r\n\r\n", rfc822);
  EXPECT_EQ(raw->substr(rfc822, next_part - rfc822).find("base64"), std::string::npos) << *raw;
  EXPECT_EQ(raw->find("multipart/mixed", raw->find("x.bin") - 80), std::string::npos);
  for (unsigned char c : *raw) ASSERT_LT(c, 0x80);
  auto m = parse_email(*raw);
  ASSERT_TRUE(m.ok());
}
