// MIME parsing and normalization (src/channels/email/mime*.cpp): headers, ids, charsets,
// multipart structure, attachments and sniffing, with fixtures written here.
#include "channels/email/mime.hpp"

#include <glib.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <string>

using namespace banxway;
using namespace banxway::email;

namespace {

bool valid_utf8(const std::string& s) {
  return g_utf8_validate_len(s.data(), static_cast<gssize>(s.size()), nullptr);
}

// Every string field of the result is valid UTF-8 without NUL bytes.
void expect_clean(const ParsedEmail& m) {
  for (const std::string* s : {&m.message_id, &m.in_reply_to, &m.thread_index, &m.thread_topic,
                               &m.subject, &m.text, &m.new_text, &m.signature, &m.html, &m.list_id})
    EXPECT_TRUE(valid_utf8(*s)) << *s;
  for (const auto& r : m.references) EXPECT_TRUE(valid_utf8(r));
  for (const auto* list : {&m.to, &m.cc, &m.reply_to})
    for (const auto& a : *list) EXPECT_TRUE(valid_utf8(a.name) && valid_utf8(a.email));
  if (m.from) EXPECT_TRUE(valid_utf8(m.from->name) && valid_utf8(m.from->email));
  for (const auto& a : m.attachments) {
    EXPECT_TRUE(valid_utf8(a.filename)) << a.filename;
    EXPECT_TRUE(valid_utf8(a.content_id));
    EXPECT_EQ(a.filename.find('/'), std::string::npos);
  }
  for (const auto& w : m.warnings) EXPECT_TRUE(valid_utf8(w)) << w;
}

ParsedEmail parse_ok(std::string_view raw, const ParseLimits& limits = {},
                     const HtmlOptions& html = {}) {
  auto r = parse_email(raw, limits, html);
  if (!r.ok()) {
    ADD_FAILURE() << r.status().to_string();
    return {};
  }
  expect_clean(*r);
  return std::move(r).value();
}

bool has_warning(const ParsedEmail& m, std::string_view needle) {
  for (const auto& w : m.warnings)
    if (w.find(needle) != std::string::npos) return true;
  return false;
}

std::string warnings_of(const ParsedEmail& m) {
  std::string s;
  for (const auto& w : m.warnings) s += w + "; ";
  return s;
}

std::string base64(std::string_view data) {
  gchar* b = g_base64_encode(reinterpret_cast<const guchar*>(data.data()), data.size());
  std::string s(b);
  g_free(b);
  std::string out;  // 76-column lines, as mailers write them
  for (size_t i = 0; i < s.size(); i += 76) out += s.substr(i, 76) + "\n";
  return out;
}

const Attachment* find_attachment(const ParsedEmail& m, std::string_view name) {
  for (const auto& a : m.attachments)
    if (a.filename == name) return &a;
  return nullptr;
}

constexpr const char* kHead =
    "From: Alice <alice@Example.COM>\n"
    "To: ops@forwarder.example\n"
    "Date: Tue, 02 Jan 2024 10:00:00 +0000\n"
    "Message-ID: <m1@example.com>\n"
    "MIME-Version: 1.0\n";

std::string with_head(std::string_view rest) { return std::string(kHead) + std::string(rest); }

// A minimal PE32 executable header: enough for libmagic to call it a Windows program.
std::string fake_exe() {
  std::string b(0x40, '\0');
  b[0] = 'M';
  b[1] = 'Z';
  b[0x3c] = 0x40;
  const unsigned char pe[] = {'P', 'E', 0, 0, 0x4c, 0x01, 0x01, 0,    0, 0,    0,    0,    0,
                              0,   0,   0, 0, 0,    0,    0,    0xe0, 0, 0x02, 0x01, 0x0b, 0x01};
  b.append(reinterpret_cast<const char*>(pe), sizeof pe);
  b.append(0xe0 + 64, '\0');
  return b;
}

}  // namespace

// --- headers and ids ---------------------------------------------------------------------

TEST(MimeHeaders, DecodesRfc2047SubjectAndNamesWithMixedCharsets) {
  auto m = parse_ok(
      "From: =?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@VM1.ULG.AC.BE>\n"
      "To: =?utf-8?b?w5xuw69jw7Zkw6kg5pel5pys?= <u@Example.org>, plain@b.example\n"
      "Cc: \"Doe, Jane\" <jane@c.example>, team: x@d.example, y@d.example;\n"
      "Reply-To: =?windows-1252?q?M=FCller?= <reply@E.example>\n"
      "Subject: =?utf-8?B?w6nDqQ==?=\n =?iso-8859-1?q?=E9t=E9?= plain =?koi8-r?b?8NLJ18XU?=\n"
      "Date: Tue, 1 Jul 2003 10:52:37 +0200\n"
      "\n"
      "body\n");
  EXPECT_EQ(m.subject, "ééété plain Привет");
  ASSERT_TRUE(m.from);
  EXPECT_EQ(m.from->name, "André Pirard");
  EXPECT_EQ(m.from->email, "PIRARD@vm1.ulg.ac.be");  // domain lower-cased, local part kept
  ASSERT_EQ(m.to.size(), 2u);
  EXPECT_EQ(m.to[0].name, "Ünïcödé 日本");
  EXPECT_EQ(m.to[0].email, "u@example.org");
  EXPECT_EQ(m.to[1].name, "");
  ASSERT_EQ(m.cc.size(), 3u);  // the group flattens to its members
  EXPECT_EQ(m.cc[0].name, "Doe, Jane");
  EXPECT_EQ(m.cc[2].email, "y@d.example");
  ASSERT_EQ(m.reply_to.size(), 1u);
  EXPECT_EQ(m.reply_to[0].name, "Müller");
  EXPECT_EQ(m.reply_to[0].email, "reply@e.example");
  ASSERT_TRUE(m.date);
  EXPECT_EQ(m.date->time_since_epoch(), std::chrono::milliseconds(1057049557000));
}

TEST(MimeHeaders, NormalizesMessageIds) {
  EXPECT_EQ(normalize_message_id("<abc.123@Example.COM>"), "abc.123@example.com");
  EXPECT_EQ(normalize_message_id("  <ABC@x.Y> (sent by a robot)"), "ABC@x.y");
  EXPECT_EQ(normalize_message_id("(comment <not@this>) <real@id.example>"), "real@id.example");
  EXPECT_EQ(normalize_message_id("bare@NoBrackets.example"), "bare@nobrackets.example");
  EXPECT_EQ(normalize_message_id("< spaced @ id.example >"), "spaced@id.example");
  EXPECT_EQ(normalize_message_id("<>"), "");
  EXPECT_EQ(normalize_message_id(""), "");
  EXPECT_EQ(normalize_message_id("no id here"), "");
  EXPECT_EQ(normalize_message_id("<first@a.example> <second@b.example>"), "first@a.example");
}

TEST(MimeHeaders, ReferencesAreOrderedDeduplicatedAndCapped) {
  std::string refs =
      "References: <root@a.example> <mid@A.example>\n <root@a.example>"
      " (comment <x@y>) <parent@a.example> <m1@example.com>\n";
  auto m = parse_ok(
      with_head("In-Reply-To: John's message <parent@A.EXAMPLE> of today\n" + refs + "\nhi\n"));
  EXPECT_EQ(m.message_id, "m1@example.com");
  EXPECT_EQ(m.in_reply_to, "parent@a.example");
  EXPECT_EQ(m.references,
            (std::vector<std::string>{"root@a.example", "mid@a.example", "parent@a.example"}));

  std::string many = "References:";
  for (int i = 0; i < 250; ++i) many += " <r" + std::to_string(i) + "@x.example>\n";
  auto big = parse_ok(with_head(many + "\nhi\n"));
  ASSERT_EQ(big.references.size(), 100u);
  EXPECT_EQ(big.references.front(), "r150@x.example");  // the newest are kept
  EXPECT_EQ(big.references.back(), "r249@x.example");
}

TEST(MimeHeaders, MissingOrBrokenDateIsNullopt) {
  auto missing = parse_ok("From: a@b.example\nSubject: x\n\nbody\n");
  EXPECT_FALSE(missing.date);
  EXPECT_TRUE(has_warning(missing, "no Date")) << warnings_of(missing);
  auto broken = parse_ok("From: a@b.example\nDate: the day after tomorrow\n\nbody\n");
  EXPECT_FALSE(broken.date);
  EXPECT_TRUE(has_warning(broken, "Date")) << warnings_of(broken);
  auto silly = parse_ok("From: a@b.example\nDate: Mon, 1 Jan 1601 00:00:00 +0000\n\nbody\n");
  EXPECT_FALSE(silly.date);
}

TEST(MimeHeaders, OutlookThreadAndListHeaders) {
  auto m =
      parse_ok(with_head("Thread-Index: AdQ9aBc1dGhyZWFkLWluZGV4\n"
                         "Thread-Topic: =?utf-8?q?Booking_caf=C3=A9?=\n"
                         "List-Id: Maven Developers List <Dev.Maven.Apache.Org>\n"
                         "Subject: x\n\nhi\n"));
  EXPECT_EQ(m.thread_index, "AdQ9aBc1dGhyZWFkLWluZGV4");
  EXPECT_EQ(m.thread_topic, "Booking café");
  EXPECT_TRUE(m.auto_submitted);
  EXPECT_EQ(m.list_id, "dev.maven.apache.org");

  EXPECT_TRUE(
      parse_ok(with_head("Auto-Submitted: auto-replied\n\nout of office\n")).auto_submitted);
  EXPECT_FALSE(parse_ok(with_head("Auto-Submitted: no\n\nhuman\n")).auto_submitted);
  EXPECT_TRUE(parse_ok(with_head("Precedence: bulk\n\nnews\n")).auto_submitted);
  EXPECT_FALSE(parse_ok(with_head("\nhuman\n")).auto_submitted);
}

TEST(MimeHeaders, SkipsMboxFromLineAndLeadingBlankLines) {
  auto m = parse_ok("From someone@example.com  Tue Jan  2 10:00:00 2024\n\n" +
                    with_head("Subject: s\n\nhi\n"));
  EXPECT_EQ(m.subject, "s");
  EXPECT_EQ(m.text, "hi");
  EXPECT_EQ(parse_ok("\xEF\xBB\xBF" + with_head("Subject: bom\n\nhi\n")).subject, "bom");
}

// --- failures ----------------------------------------------------------------------------

TEST(MimeErrors, RejectsOnlyWhatIsNotAMessage) {
  EXPECT_EQ(parse_email("").status().code(), Code::invalid_argument);
  EXPECT_EQ(parse_email(" \r\n\r\n  ").status().code(), Code::invalid_argument);
  auto pdf = parse_email("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n");
  EXPECT_EQ(pdf.status().code(), Code::invalid_argument);
  EXPECT_NE(pdf.status().message().find("not an email message"), std::string::npos);
  EXPECT_EQ(parse_email(std::string_view("\x89PNG\r\n\x1a\n\0\0", 10)).status().code(),
            Code::invalid_argument);

  ParseLimits small;
  small.max_message_bytes = 100;
  auto big = parse_email(with_head("\n" + std::string(200, 'x')), small);
  EXPECT_EQ(big.status().code(), Code::payload_too_large);
  EXPECT_NE(big.status().message().find("limit is 100"), std::string::npos);
}

// --- bodies and charsets -----------------------------------------------------------------

TEST(MimeText, Iso2022JpAndWindows1252Bodies) {
  auto jp = parse_ok(
      with_head("Content-Type: text/plain; charset=ISO-2022-JP\nContent-Transfer-Encoding: 7bit\n\n"
                "\x1b$B$3$s$K$A$O!\"@$3&\x1b(B\n"));
  EXPECT_EQ(jp.text, "こんにちは、世界");

  auto win =
      parse_ok(with_head("Content-Type: text/plain; charset=windows-1252\n"
                         "Content-Transfer-Encoding: 8bit\n\nCaf\xe9 \x80 5 \x93quoted\x94\r\n"));
  EXPECT_EQ(win.text, "Café € 5 “quoted”");

  // No charset at all but 8-bit bytes that are not UTF-8: Windows-1252 with a warning.
  auto unlabeled =
      parse_ok(with_head("Content-Type: text/plain\n\nGr\xfc\xdf"
                         "e\n"));
  EXPECT_EQ(unlabeled.text, "Grüße");
  EXPECT_TRUE(has_warning(unlabeled, "windows-1252")) << warnings_of(unlabeled);

  auto unknown = parse_ok(with_head("Content-Type: text/plain; charset=x-klingon\n\nqapla\xe9\n"));
  EXPECT_EQ(unknown.text, "qaplaé");
  EXPECT_TRUE(has_warning(unknown, "unknown charset x-klingon")) << warnings_of(unknown);
}

TEST(MimeText, QuotedPrintableAndBase64WithGarbage) {
  auto qp = parse_ok(with_head(
      "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
      "Gr=C3=BC=C3=9Fe =ZZ soft=\nbreak =E2=82=AC=\n"));
  EXPECT_NE(qp.text.find("Grüße"), std::string::npos) << qp.text;
  EXPECT_NE(qp.text.find("softbreak €"), std::string::npos) << qp.text;

  auto b64 = parse_ok(
      with_head("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
                "SGVsbG8g!!w6l0w6k=\n***garbage***\n"));
  EXPECT_NE(b64.text.find("Hello"), std::string::npos) << b64.text;
}

TEST(MimeText, InvalidUtf8AndNulBytesAreRepaired) {
  std::string body = "bad \xff\xfe bytes \xc3 and a NUL";
  body += '\0';
  body += " here\n";
  std::string raw =
      with_head("Subject: 8bit \xff header\nContent-Type: text/plain; charset=utf-8\n\n") + body;
  auto m = parse_ok(raw);
  EXPECT_EQ(m.text.find('\0'), std::string::npos);
  EXPECT_NE(m.text.find("\xEF\xBF\xBD"), std::string::npos);  // U+FFFD
  EXPECT_NE(m.text.find("here"), std::string::npos);
  EXPECT_TRUE(has_warning(m, "invalid UTF-8")) << warnings_of(m);
  EXPECT_TRUE(has_warning(m, "NUL")) << warnings_of(m);
}

// The UTF-8 check and the control-character cleanup skip ASCII runs a word at a time: a bad
// byte, a valid multi-byte character or a control at every offset around those words must come
// out as the byte-by-byte rules say.
TEST(MimeText, EveryOffsetAroundAsciiRunsIsCheckedAndCleaned) {
  const std::string head = with_head("Content-Type: text/plain; charset=utf-8\n\n");
  for (size_t k = 0; k < 18; ++k) {
    const std::string run(k, 'a'), tail(11, 'z');
    auto bad = parse_ok(head + run + "\xff" + tail + "\n");
    EXPECT_NE(bad.text.find(run + "\xEF\xBF\xBD" + tail), std::string::npos) << k;
    EXPECT_TRUE(has_warning(bad, "invalid UTF-8")) << k << warnings_of(bad);
    // A 2-byte and a 4-byte character are kept; a 3-byte one cut off by the end is not.
    auto good = parse_ok(head + run + "\xC3\xA9" + tail + "\xF0\x9F\x93\xA6" + run + "\n");
    EXPECT_NE(good.text.find(run + "\xC3\xA9" + tail + "\xF0\x9F\x93\xA6" + run),
              std::string::npos)
        << k;
    EXPECT_FALSE(has_warning(good, "invalid UTF-8")) << k << warnings_of(good);
    auto cut = parse_ok(head + "x\n" + run + "\xE2\x82");
    EXPECT_NE(cut.text.find(run + "\xEF\xBF\xBD"), std::string::npos) << k;
    // A control byte dropped, CRLF and a lone CR turned into LF, tab kept.
    auto ctl = parse_ok(head + run + "\x01" + "b\tc\r\nd\re\x7F" + "f\n");
    EXPECT_NE(ctl.text.find(run + "b\tc\nd\nef"), std::string::npos) << k;
    // Controls and a lone CR followed by a long clean run (no LF or tab close behind them).
    const std::string clean(12, 'q');
    auto lone = parse_ok(head + run + "\x01" + clean + "\x1B" + clean + "\r" + clean + "\n");
    EXPECT_NE(lone.text.find(run + clean + clean + "\n" + clean), std::string::npos) << k;
    auto del = parse_ok(head + run + "\x7F" + "g\n");
    EXPECT_NE(del.text.find(run + "g"), std::string::npos) << k;
    EXPECT_EQ(del.text.find('\x7F'), std::string::npos) << k;
  }
}

TEST(MimeText, FormatFlowedIsJoined) {
  auto m =
      parse_ok(with_head("Content-Type: text/plain; charset=utf-8; format=flowed\n\n"
                         "This is one \nlong line.\n> quoted \n> more\nend\n"));
  EXPECT_EQ(m.text, "This is one long line.\n> quoted more\nend");
}

TEST(MimeStructure, AlternativePicksTextAndSanitizesHtml) {
  auto m = parse_ok(with_head(
      "Content-Type: multipart/alternative; boundary=\"alt\"\n\n"
      "--alt\nContent-Type: text/plain; charset=utf-8\n\nPlain version\n"
      "--alt\nContent-Type: text/html; charset=utf-8\n\n"
      "<html><head><style>p{color:red}</style><script>alert(1)</script></head>"
      "<body><p onclick=\"steal()\">HTML <b>version</b></p><a href=\"javascript:x()\">x</a>"
      "</body></html>\n"
      "--alt--\n"));
  EXPECT_EQ(m.text, "Plain version");
  EXPECT_EQ(m.new_text, "Plain version");
  EXPECT_EQ(m.html, "<p>HTML <b>version</b></p><a>x</a>");
  EXPECT_TRUE(m.attachments.empty());
}

TEST(MimeStructure, HtmlOnlyDerivesTextAndSplitsTheReply) {
  auto m = parse_ok(with_head(
      "Content-Type: text/html; charset=utf-8\n\n"
      "<div>Container MSCU1234565 is released.</div><br>"
      "<div class=\"gmail_quote\">On Mon, Jan 1, 2024 at 9:00 AM Bob &lt;bob@x.example&gt; "
      "wrote:<br><blockquote>When is it released?</blockquote></div>\n"));
  EXPECT_NE(m.text.find("> When is it released?"), std::string::npos) << m.text;
  EXPECT_EQ(m.new_text, "Container MSCU1234565 is released.");
}

TEST(MimeStructure, RelatedCidImageIsInlineAndRewritten) {
  const std::string png("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\1\0\0\0\1\x08\x06\0\0\0", 29);
  HtmlOptions ho;
  ho.cid_url_prefix = "/api/v1/attachments/by-cid/m1/";
  auto m = parse_ok(
      with_head("Content-Type: multipart/related; boundary=\"rel\"\n\n"
                "--rel\nContent-Type: text/html; charset=utf-8\n\n"
                "<p>Logo: <img src=\"cid:logo%40x.example\" alt=\"logo\"> <img "
                "src=\"https://t.example/p.gif\"></p>\n"
                "--rel\nContent-Type: image/png; name=logo.png\nContent-ID: <logo@x.example>\n"
                "Content-Disposition: attachment; filename=logo.png\nContent-Transfer-Encoding: "
                "base64\n\n" +
                base64(png) + "--rel--\n"),
      {}, ho);
  ASSERT_EQ(m.attachments.size(), 1u);
  const Attachment& a = m.attachments[0];
  EXPECT_EQ(a.content_id, "logo@x.example");
  EXPECT_TRUE(a.is_inline);  // referenced from the HTML although declared an attachment
  EXPECT_EQ(a.media_type, "image/png");
  EXPECT_EQ(a.data, png);
  EXPECT_EQ(m.html,
            "<p>Logo: <img src=\"/api/v1/attachments/by-cid/m1/logo@x.example\" alt=\"logo\"> "
            "<img></p>");
  EXPECT_EQ(m.text, "Logo:");
}

TEST(MimeStructure, AttachedMessageIsAnAttachmentNotText) {
  auto m = parse_ok(
      with_head("Subject: Fwd: booking\nContent-Type: multipart/mixed; boundary=\"mix\"\n\n"
                "--mix\nContent-Type: text/plain\n\nSee the booking below.\n"
                "--mix\nContent-Type: message/rfc822\nContent-Disposition: attachment\n\n"
                "From: Carrier <booking@carrier.example>\nSubject: Booking 123 / confirmed\n"
                "Message-ID: <inner@carrier.example>\n\nThe inner booking text.\n"
                "--mix--\n"));
  EXPECT_EQ(m.text, "See the booking below.");
  EXPECT_EQ(m.new_text, "See the booking below.");
  EXPECT_EQ(m.text.find("inner booking"), std::string::npos);
  ASSERT_EQ(m.attachments.size(), 1u);
  const Attachment& a = m.attachments[0];
  EXPECT_EQ(a.filename, "Booking 123 confirmed.eml");  // the '/' must not make a path
  EXPECT_EQ(a.media_type, "message/rfc822");
  EXPECT_NE(a.data.find("The inner booking text."), std::string::npos);
  EXPECT_NE(a.data.find("Message-ID: <inner@carrier.example>"), std::string::npos);
  EXPECT_EQ(m.message_id, "m1@example.com");
}

TEST(MimeStructure, Base64AttachedMessageKeepsItsBytesAndSubject) {
  std::string inner = "From: carrier@x.example\nSubject: Big forwarded\n\n";
  for (int i = 0; i < 40000; ++i) inner += "line " + std::to_string(i) + " of the forwarded text\n";
  auto m = parse_ok(with_head(
      "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nfwd\n"
      "--b\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n" +
      base64(inner) + "--b--\n"));
  ASSERT_EQ(m.attachments.size(), 1u) << warnings_of(m);
  EXPECT_EQ(m.attachments[0].filename, "Big forwarded.eml");
  EXPECT_EQ(m.attachments[0].media_type, "message/rfc822");
  EXPECT_EQ(m.attachments[0].data, inner);
  EXPECT_EQ(m.text, "fwd");
}

TEST(MimeStructure, MixedKeepsTextPartsInOrderAndAttachments) {
  auto m = parse_ok(
      with_head("Content-Type: multipart/mixed; boundary=b\n\n"
                "--b\nContent-Type: text/plain\n\nFirst part.\n"
                "--b\nContent-Type: text/csv; name=rates.csv\n\na,b\n1,2\n"
                "--b\nContent-Type: text/plain\nContent-Disposition: inline\n\n-- \nlist footer\n"
                "--b--\n"));
  EXPECT_EQ(m.text, "First part.\n-- \nlist footer");
  EXPECT_EQ(m.new_text, "First part.");
  EXPECT_EQ(m.signature, "list footer");
  ASSERT_EQ(m.attachments.size(), 1u);
  EXPECT_EQ(m.attachments[0].filename, "rates.csv");
  EXPECT_EQ(m.attachments[0].media_type, "text/csv");
  EXPECT_FALSE(m.attachments[0].is_inline);
}

// --- attachments -------------------------------------------------------------------------

TEST(MimeAttachments, Rfc2231FilenameWithContinuationsAndCharset) {
  auto m = parse_ok(with_head(
      "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nsee file\n"
      "--b\nContent-Type: application/pdf\n"
      "Content-Disposition: attachment;\n filename*0*=utf-8''na%C3%AFve%20;\n"
      " filename*1*=r%C3%A9sum%C3%A9;\n filename*2=\".pdf\"\n\n%PDF-1.4\n--b\n"
      "Content-Type: application/octet-stream; name=\"=?utf-8?q?B=C3=BCro_plan=2Exlsx?=\"\n\nxx\n"
      "--b\nContent-Type: application/octet-stream\n"
      "Content-Disposition: attachment; filename=\"..\\\\..\\\\windows\\\\evil\x01\xe2\x80\xae"
      "gpj.exe\"\n\nMZ\n--b--\n"));
  ASSERT_EQ(m.attachments.size(), 3u) << warnings_of(m);
  EXPECT_EQ(m.attachments[0].filename, "naïve résumé.pdf");
  EXPECT_EQ(m.attachments[1].filename, "Büro plan.xlsx");  // RFC 2047 where it is not allowed
  EXPECT_EQ(m.attachments[2].filename, "evil gpj.exe");    // no path, no control, no RLO
}

TEST(MimeAttachments, SniffingCorrectsGenericAndFalseTypes) {
  const std::string pdf = "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n";
  auto m = parse_ok(with_head(
      "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nfiles\n"
      "--b\nContent-Type: application/octet-stream; name=invoice.pdf\n"
      "Content-Transfer-Encoding: base64\n\n" +
      base64(pdf) +
      "--b\nContent-Type: image/png; name=photo.png\nContent-Transfer-Encoding: base64\n\n" +
      base64(fake_exe()) +
      "--b\nContent-Type: image/png; name=empty.png\n\n"
      "--b\nContent-Type: image/jpg; name=photo.jpg\nContent-Transfer-Encoding: base64\n\n" +
      base64(std::string("\xff\xd8\xff\xe0\0\x10JFIF\0\1\1\0\0\1\0\1\0\0", 20)) + "--b--\n"));
  const Attachment* jpg = find_attachment(m, "photo.jpg");
  ASSERT_TRUE(jpg);
  EXPECT_EQ(jpg->media_type, "image/jpeg");  // an alias, not a mismatch: no warning
  EXPECT_FALSE(has_warning(m, "photo.jpg")) << warnings_of(m);
  const Attachment* inv = find_attachment(m, "invoice.pdf");
  ASSERT_TRUE(inv);
  EXPECT_EQ(inv->declared_type, "application/octet-stream");
  EXPECT_EQ(inv->media_type, "application/pdf");
  EXPECT_EQ(inv->data, pdf);
  const Attachment* exe = find_attachment(m, "photo.png");
  ASSERT_TRUE(exe);
  EXPECT_EQ(exe->declared_type, "image/png");
  EXPECT_NE(exe->media_type, "image/png");
  EXPECT_FALSE(exe->media_type.starts_with("image/")) << exe->media_type;
  EXPECT_TRUE(has_warning(m, "declared image/png but content is")) << warnings_of(m);
  const Attachment* empty = find_attachment(m, "empty.png");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->data.empty());
}

TEST(MimeAttachments, OverLimitAttachmentsAreDroppedByName) {
  ParseLimits l;
  l.max_attachment_bytes = 1000;
  l.max_total_attachment_bytes = 1500;
  auto m = parse_ok(
      with_head("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: "
                "text/plain\n\nthree files\n"
                "--b\nContent-Type: application/octet-stream; "
                "name=big.bin\nContent-Transfer-Encoding: base64\n\n" +
                base64(std::string(4000, 'x')) + "--b\nContent-Type: text/plain; name=a.txt\n\n" +
                std::string(900, 'a') + "\n--b\nContent-Type: text/plain; name=b.txt\n\n" +
                std::string(900, 'b') + "\n--b--\n"),
      l);
  ASSERT_EQ(m.attachments.size(), 1u);
  EXPECT_EQ(m.attachments[0].filename, "a.txt");
  EXPECT_TRUE(has_warning(m, "attachment over limit dropped: big.bin (4000 bytes)"))
      << warnings_of(m);
  EXPECT_TRUE(has_warning(m, "total attachment limit dropped: b.txt")) << warnings_of(m);
  EXPECT_EQ(m.text, "three files");
}

// --- hostile input -----------------------------------------------------------------------

TEST(MimeHostile, TenThousandNestedMultipartsAreTruncated) {
  std::string raw = with_head("Subject: deep\nContent-Type: multipart/mixed; boundary=\"b0\"\n\n");
  const int n = 10000;
  for (int i = 1; i <= n; ++i)
    raw += "--b" + std::to_string(i - 1) + "\nContent-Type: multipart/mixed; boundary=\"b" +
           std::to_string(i) + "\"\n\n";
  raw += "--b" + std::to_string(n) + "\nContent-Type: text/plain\n\ninnermost\n--b" +
         std::to_string(n) + "--\n";
  for (int i = n - 1; i >= 0; --i) raw += "--b" + std::to_string(i) + "--\n";
  auto m = parse_ok(raw);
  EXPECT_EQ(m.subject, "deep");
  EXPECT_TRUE(has_warning(m, "MIME nesting deeper than 32 levels truncated")) << warnings_of(m);
  EXPECT_EQ(m.text.find("innermost"), std::string::npos);
}

TEST(MimeHostile, DeeplyNestedAttachedMessages) {
  std::string raw;
  for (int i = 0; i < 60; ++i)
    raw += "From: level" + std::to_string(i) + "@x.example\nSubject: level " + std::to_string(i) +
           "\nContent-Type: message/rfc822\n\n";
  raw += "From: last@x.example\n\nbottom\n";
  auto m = parse_ok(raw);
  EXPECT_EQ(m.subject, "level 0");
  ASSERT_EQ(m.attachments.size(), 1u);
  EXPECT_EQ(m.attachments[0].filename, "level 1.eml");
  EXPECT_TRUE(has_warning(m, "nesting deeper than")) << warnings_of(m);
}

TEST(MimeHostile, ManyPartsStopAtTheLimit) {
  std::string raw = with_head("Content-Type: multipart/mixed; boundary=b\n\n");
  for (int i = 0; i < 5000; ++i)
    raw += "--b\nContent-Type: application/octet-stream; name=f" + std::to_string(i) + "\n\nx\n";
  raw += "--b--\n";
  auto m = parse_ok(raw);
  EXPECT_LE(m.attachments.size(), 1000u);
  EXPECT_GE(m.attachments.size(), 990u);
  EXPECT_TRUE(has_warning(m, "more than 1000 MIME parts")) << warnings_of(m);
}

TEST(MimeHostile, FiftyMegabyteAttachment) {
  std::string raw = with_head(
      "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\ncargo "
      "manifest\n"
      "--b\nContent-Type: application/pdf; name=small.pdf\n\n%PDF-1.4 small\n"
      "--b\nContent-Type: application/octet-stream; name=huge.bin\nContent-Transfer-Encoding: "
      "base64\n\n");
  // 50 MiB of decoded data: base64 lines of 76 chars holding 57 bytes each.
  const std::string line = std::string(76, 'A') + "\n";
  const size_t lines = (50u << 20) / 57 + 1;
  raw.reserve(raw.size() + lines * line.size() + 16);
  for (size_t i = 0; i < lines; ++i) raw += line;
  raw += "--b--\n";

  // With the default limits the message itself is too large: rejected with a reason.
  auto rejected = parse_email(raw);
  EXPECT_EQ(rejected.status().code(), Code::payload_too_large);

  // With room for the message, only the attachment is over its limit: dropped by name.
  ParseLimits roomy;
  roomy.max_message_bytes = 100u << 20;
  auto m = parse_ok(raw, roomy);
  EXPECT_EQ(m.text, "cargo manifest");
  ASSERT_EQ(m.attachments.size(), 1u);
  EXPECT_EQ(m.attachments[0].filename, "small.pdf");
  EXPECT_TRUE(has_warning(
      m, "attachment over limit dropped: huge.bin (" + std::to_string(lines * 57) + " bytes)"))
      << warnings_of(m);
}

TEST(MimeHostile, OneMegabyteHeaderLine) {
  std::string raw = "From: a@b.example\nSubject: " + std::string(1u << 20, 'S') +
                    "\nX-Long: " + std::string(1u << 20, 'x') + "\nTo: c@d.example\n\nstill here\n";
  auto m = parse_ok(raw);
  ASSERT_TRUE(m.from);
  EXPECT_EQ(m.from->email, "a@b.example");
  ASSERT_EQ(m.to.size(), 1u);
  EXPECT_EQ(m.text, "still here");
  EXPECT_TRUE(m.subject.empty());
  EXPECT_TRUE(has_warning(m, "header field Subject over 65536 bytes dropped")) << warnings_of(m);
}

TEST(MimeHostile, NulBytesEverywhere) {
  std::string raw = "From: a@b.example\nSubject: nul";
  raw += '\0';
  raw += "after\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nte";
  raw += '\0';
  raw += "xt\n--b\nContent-Type: application/octet-stream; name=bin\n\n";
  raw += std::string("a\0b\0c", 5);
  raw += "\n--b--\n";
  auto m = parse_ok(raw);
  EXPECT_EQ(m.text, "text");
  ASSERT_EQ(m.attachments.size(), 1u);
  EXPECT_EQ(m.attachments[0].data, std::string("a\0b\0c", 5));  // binary data is kept as is
}

TEST(MimeHostile, ZipBombIsStoredCompressed) {
  const std::string path =
      std::string(__FILE__).substr(0, std::string(__FILE__).rfind('/')) + "/fixtures/zip_bomb.eml";
  gchar* contents = nullptr;
  gsize len = 0;
  ASSERT_TRUE(g_file_get_contents(path.c_str(), &contents, &len, nullptr)) << path;
  std::string raw(contents, len);
  g_free(contents);
  auto m = parse_ok(raw);
  ASSERT_EQ(m.attachments.size(), 1u);
  const Attachment& a = m.attachments[0];
  EXPECT_EQ(a.filename, "bomb.zip");
  EXPECT_EQ(a.media_type, "application/zip");
  // The fixture is a 65,348-byte zip holding 64 MiB of zeros; we keep the compressed bytes.
  EXPECT_EQ(a.data.size(), 65348u);
  ASSERT_GE(a.data.size(), 26u);
  uint32_t uncompressed = 0;
  std::memcpy(&uncompressed, a.data.data() + 22, 4);  // local header: uncompressed size
  EXPECT_EQ(uncompressed, 64u << 20);
  EXPECT_EQ(m.text, "See attached.");
}

TEST(MimeHostile, BrokenBoundariesAndHeadersDegrade) {
  const char* cases[] = {
      "Content-Type: multipart/mixed; boundary=\"\"\n\n--\nContent-Type: text/plain\n\nx\n",
      "Content-Type: multipart/mixed\n\n--x\nContent-Type: text/plain\n\nno boundary param\n",
      "Content-Type: multipart/mixed; boundary=a\n\n--a\n--a\n--a--\n--a\n",
      "Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: multipart/alternative; "
      "boundary=a\n\n--a\nContent-Type: text/plain\n\nself-nesting\n--a--\n",
      "Content-Type: text/plain; charset=\"\n\nunterminated quote\n",
      "Content-Type: ///; ;;; =\nContent-Transfer-Encoding: base64\n\n====\n",
      "From: <<<@@@>>>, \"unterminated\nTo: ,,,,\nSubject: =?utf-8?q?broken=ZZ?= =?x?y?z?=\n\nx\n",
      "Content-Type: message/rfc822\n\n",
      "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\n\n--b--\n",
  };
  for (const char* c : cases) {
    auto r = parse_email(with_head(c));
    ASSERT_TRUE(r.ok()) << c << ": " << r.status().to_string();
    expect_clean(*r);
  }
}
