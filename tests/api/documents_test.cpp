// Shipment documents on every backend: Engine::upload_document / download_document and the
// shipments.documents_list / shipments.document_delete operations (docs/SHIPMENTS.md).
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "services/shipments.hpp"
#include "support/engine_fixture.hpp"

using banxway::Code;
using banxway::json::Document;
using bxtest::str;
namespace sv = banxway::services;

namespace {

// A small but well-formed PDF: libmagic recognizes the %PDF- signature.
const std::string kPdf =
    "%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages "
    "/Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";

// The 8-byte PNG signature and an IHDR chunk (1x1, RGBA).
const std::string kPng = std::string(
    "\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89", 33);

// A real executable: the head of the test binary itself.
std::string executable_bytes() {
  std::ifstream in("/proc/self/exe", std::ios::binary);
  std::string s(std::istreambuf_iterator<char>(in), {});
  return s.substr(0, 64 * 1024);
}

}  // namespace

TEST(DocumentFilename, Sanitized) {
  EXPECT_EQ(sv::sanitize_document_filename("invoice.pdf"), "invoice.pdf");
  EXPECT_EQ(sv::sanitize_document_filename("../../etc/passwd"), "passwd");
  EXPECT_EQ(sv::sanitize_document_filename("C:\\Users\\x\\B L.pdf"), "B L.pdf");
  EXPECT_EQ(sv::sanitize_document_filename("a\r\nb\x01.pdf"), "a__b_.pdf");
  EXPECT_EQ(sv::sanitize_document_filename("x\"<>|?*:;.pdf"), "x________.pdf");
  EXPECT_EQ(sv::sanitize_document_filename("..."), "document");
  EXPECT_EQ(sv::sanitize_document_filename(""), "document");
  EXPECT_EQ(sv::sanitize_document_filename(".hidden. "), "hidden");
  EXPECT_EQ(sv::sanitize_document_filename("Rechnung-Überweisung.pdf"), "Rechnung-Überweisung.pdf");
  EXPECT_EQ(sv::sanitize_document_filename("bad\xff\xfe.pdf"), "bad__.pdf");
  std::string longname = std::string(300, 'a') + ".pdf";
  std::string s = sv::sanitize_document_filename(longname);
  EXPECT_EQ(s.size(), 200u);
  EXPECT_TRUE(s.ends_with(".pdf"));
  // Cut on a character boundary: 150 two-byte characters are 300 bytes.
  std::string wide;
  for (int i = 0; i < 150; ++i) wide += "\xc3\xa9";
  std::string w = sv::sanitize_document_filename(wide);
  EXPECT_LE(w.size(), 200u);
  EXPECT_EQ(w.size() % 2, 0u);
}

class DocumentsTest : public bxtest::EngineTest {
 protected:
  banxway::Principal who(const std::string& key = "") {
    auto p = engine->authenticate(key.empty() ? key_a : key);
    EXPECT_TRUE(p.ok());
    return p.ok() ? *p : banxway::Principal{};
  }
  std::string shipment(const std::string& key = "") {
    return str(ok("shipments.create", R"({"mode":"ocean"})", key), "id");
  }
  std::string params(const std::string& s, const std::string& kind, const std::string& filename,
                     const std::string& type) {
    std::string p = "{\"shipment_id\":\"" + s + "\"";
    if (!kind.empty()) p += ",\"kind\":\"" + kind + "\"";
    if (!filename.empty()) p += ",\"filename\":" + banxway::json::quote(filename);
    if (!type.empty()) p += ",\"content_type\":\"" + type + "\"";
    return p + "}";
  }
  banxway::Result<std::string> upload(const std::string& s, const std::string& type,
                                      const std::string& bytes, const std::string& key = "",
                                      const std::string& filename = "doc.bin",
                                      const std::string& kind = "invoice") {
    return engine->upload_document(who(key), params(s, kind, filename, type), bytes);
  }
  Document parse(const std::string& text) {
    Document d;
    d.Parse(text.c_str());
    EXPECT_FALSE(d.HasParseError()) << text;
    return d;
  }
  int events_of(const std::string& type) {
    auto ev = ok("events.list", R"({"after":0,"limit":1000})");
    int n = 0;
    for (auto& e : ev["items"].GetArray()) n += str(e, "type") == type;
    return n;
  }
};

TEST_P(DocumentsTest, UploadListDownloadDelete) {
  std::string s = shipment();
  auto r = upload(s, "application/pdf", kPdf, "", "../B/L 123.pdf", "bill_of_lading");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  Document d = parse(*r);
  std::string id = str(d, "id");
  EXPECT_EQ(str(d, "shipment_id"), s);
  EXPECT_EQ(str(d, "kind"), "bill_of_lading");
  EXPECT_EQ(str(d, "filename"), "L 123.pdf");  // the path is dropped
  EXPECT_EQ(str(d, "content_type"), "application/pdf");
  EXPECT_EQ(d["size"].GetInt64(), static_cast<int64_t>(kPdf.size()));
  EXPECT_EQ(str(d, "sha256").size(), 64u);
  EXPECT_TRUE(d["deleted_at"].IsNull());
  EXPECT_EQ(events_of("shipment.document_added"), 1);

  auto list = ok("shipments.documents_list", "{\"shipment_id\":\"" + s + "\"}");
  ASSERT_EQ(list["items"].Size(), 1u);
  EXPECT_EQ(str(list["items"][0], "id"), id);

  auto dl = engine->download_document(who(), id);
  ASSERT_TRUE(dl.ok()) << dl.status().to_string();
  EXPECT_EQ(dl->bytes, kPdf);
  EXPECT_EQ(dl->content_type, "application/pdf");
  EXPECT_EQ(dl->filename, "L 123.pdf");

  // A viewer reads but does not upload or delete.
  std::string viewer = key_with_role("viewer");
  EXPECT_TRUE(engine->download_document(who(viewer), id).ok());
  EXPECT_EQ(
      ok("shipments.documents_list", "{\"shipment_id\":\"" + s + "\"}", viewer)["items"].Size(),
      1u);
  EXPECT_EQ(upload(s, "application/pdf", kPdf, viewer).status().code(), Code::permission_denied);
  fails("shipments.document_delete", "{\"id\":\"" + id + "\"}", Code::permission_denied, viewer);

  auto del = ok("shipments.document_delete", "{\"id\":\"" + id + "\"}");
  EXPECT_FALSE(del["deleted_at"].IsNull());
  EXPECT_EQ(events_of("shipment.document_removed"), 1);
  EXPECT_EQ(ok("shipments.documents_list", "{\"shipment_id\":\"" + s + "\"}")["items"].Size(), 0u);
  EXPECT_EQ(engine->download_document(who(), id).status().code(), Code::not_found);
  fails("shipments.document_delete", "{\"id\":\"" + id + "\"}", Code::not_found);
}

TEST_P(DocumentsTest, TypesAreCheckedAgainstTheContent) {
  std::string s = shipment();
  // An executable labelled as a PDF, or as nothing in particular.
  auto exe = executable_bytes();
  ASSERT_GT(exe.size(), 1000u);
  auto r = upload(s, "application/pdf", exe);
  ASSERT_EQ(r.status().code(), Code::invalid_argument);
  EXPECT_NE(r.status().message().find("executable"), std::string::npos) << r.status().message();
  EXPECT_EQ(upload(s, "", exe).status().code(), Code::invalid_argument);
  // A PNG claiming to be a PDF.
  r = upload(s, "application/pdf", kPng);
  ASSERT_EQ(r.status().code(), Code::invalid_argument);
  EXPECT_NE(r.status().message().find("image/png"), std::string::npos) << r.status().message();
  // A type outside the allow-list.
  r = upload(s, "text/html", "<html><body>x</body></html>");
  ASSERT_EQ(r.status().code(), Code::invalid_argument);
  EXPECT_NE(r.status().message().find("not accepted"), std::string::npos);
  // Empty content.
  EXPECT_EQ(upload(s, "text/plain", "").status().code(), Code::invalid_argument);
  // Bad params: unknown kind, unknown field, bad shipment id.
  EXPECT_EQ(upload(s, "application/pdf", kPdf, "", "x.pdf", "passport").status().code(),
            Code::invalid_argument);
  EXPECT_EQ(engine->upload_document(who(), "{\"shipment_id\":\"" + s + "\",\"x\":1}", kPdf)
                .status()
                .code(),
            Code::invalid_argument);
  EXPECT_EQ(engine->upload_document(who(), R"({"shipment_id":"nope"})", kPdf).status().code(),
            Code::invalid_argument);
  EXPECT_EQ(events_of("shipment.document_added"), 0);

  // A generic declared type takes the sniffed one; aliases are folded; CSV as text.
  r = upload(s, "application/octet-stream", kPdf);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(str(parse(*r), "content_type"), "application/pdf");
  r = upload(s, "IMAGE/PNG; x=y", kPng);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(str(parse(*r), "content_type"), "image/png");
  r = upload(s, "text/csv", "container,weight\nMSKU9070323,12000\n", "", "", "packing_list");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(str(parse(*r), "content_type"), "text/csv");
  EXPECT_EQ(str(parse(*r), "filename"), "document");
  EXPECT_EQ(events_of("shipment.document_added"), 3);
}

TEST_P(DocumentsTest, SizeLimit) {
  std::string s = shipment();
  std::string big = kPdf + std::string((25u << 20) + 1 - kPdf.size(), ' ');
  auto r = upload(s, "application/pdf", big);
  EXPECT_EQ(r.status().code(), Code::payload_too_large) << r.status().to_string();
  big.pop_back();  // exactly the limit
  EXPECT_TRUE(upload(s, "application/pdf", big).ok());
}

TEST_P(DocumentsTest, ListPagesAndFiltersByKind) {
  std::string s = shipment();
  std::string other = shipment();
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(upload(s, "text/plain", "doc " + std::to_string(i), "",
                       "d" + std::to_string(i) + ".txt", i == 1 ? "invoice" : "other")
                    .ok());
  ASSERT_TRUE(upload(other, "text/plain", "elsewhere").ok());
  auto p1 = ok("shipments.documents_list", "{\"shipment_id\":\"" + s + "\",\"limit\":2}");
  ASSERT_EQ(p1["items"].Size(), 2u);
  ASSERT_TRUE(p1["next_cursor"].IsString());
  auto p2 =
      ok("shipments.documents_list", "{\"shipment_id\":\"" + s + "\",\"limit\":2,\"cursor\":" +
                                         banxway::json::quote(str(p1, "next_cursor")) + "}");
  ASSERT_EQ(p2["items"].Size(), 1u);
  EXPECT_TRUE(p2["next_cursor"].IsNull());
  EXPECT_EQ(str(p1["items"][0], "filename"), "d0.txt");
  EXPECT_EQ(str(p2["items"][0], "filename"), "d2.txt");
  auto inv = ok("shipments.documents_list", "{\"shipment_id\":\"" + s + "\",\"kind\":\"invoice\"}");
  ASSERT_EQ(inv["items"].Size(), 1u);
  EXPECT_EQ(str(inv["items"][0], "filename"), "d1.txt");
  fails("shipments.documents_list", R"({"shipment_id":"0190a0a0-0000-7000-8000-000000000999"})",
        Code::not_found);
}

TEST_P(DocumentsTest, OtherOrganizationsSeeNothing) {
  std::string s = shipment();
  auto r = upload(s, "application/pdf", kPdf);
  ASSERT_TRUE(r.ok());
  std::string id = str(parse(*r), "id");
  std::string sb = shipment(key_b);
  // B: A's document is not found by any route; B cannot upload onto A's shipment.
  EXPECT_EQ(engine->download_document(who(key_b), id).status().code(), Code::not_found);
  EXPECT_EQ(upload(s, "application/pdf", kPdf, key_b).status().code(), Code::not_found);
  fails("shipments.documents_list", "{\"shipment_id\":\"" + s + "\"}", Code::not_found, key_b);
  fails("shipments.document_delete", "{\"id\":\"" + id + "\"}", Code::not_found, key_b);
  EXPECT_EQ(
      ok("shipments.documents_list", "{\"shipment_id\":\"" + sb + "\"}", key_b)["items"].Size(),
      0u);
  // The same bytes in B are B's own blob and document.
  auto rb = upload(sb, "application/pdf", kPdf, key_b);
  ASSERT_TRUE(rb.ok()) << rb.status().to_string();
  EXPECT_EQ(engine->download_document(who(), str(parse(*rb), "id")).status().code(),
            Code::not_found);
  // A's document is untouched.
  auto dl = engine->download_document(who(), id);
  ASSERT_TRUE(dl.ok());
  EXPECT_EQ(dl->bytes, kPdf);
  EXPECT_EQ(ok("shipments.documents_list", "{\"shipment_id\":\"" + s + "\"}")["items"].Size(), 1u);
  EXPECT_EQ(engine->download_document(who(), "not-a-uuid").status().code(), Code::invalid_argument);
}

// Engine::stats (the server's /metrics counts) lives beside the documents for want of a
// better home: counts across organizations by channel/direction and job kind/state.
TEST_P(DocumentsTest, EngineStatsCountMessagesAndJobs) {
  auto empty = engine->stats();
  ASSERT_TRUE(empty.ok()) << empty.status().to_string();
  Document e = parse(*empty);
  EXPECT_EQ(e["messages"].Size(), 0u);
  std::string t = str(ok("threads.create", R"({"subject":"s"})"), "id");
  for (int i = 0; i < 2; ++i)
    ok("messages.create_note", "{\"thread_id\":\"" + t + "\",\"text\":\"n\"}");
  std::string tb = str(ok("threads.create", R"({"subject":"b"})", key_b), "id");
  ok("messages.create_note", "{\"thread_id\":\"" + tb + "\",\"text\":\"n\"}", key_b);
  auto r = engine->stats();
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  Document d = parse(*r);
  ASSERT_EQ(d["messages"].Size(), 1u) << *r;
  EXPECT_EQ(str(d["messages"][0], "channel"), "note");
  EXPECT_EQ(str(d["messages"][0], "direction"), "internal");
  EXPECT_EQ(d["messages"][0]["count"].GetInt64(), 3);  // both organizations
  ASSERT_TRUE(d["jobs"].IsArray());
  for (auto& j : d["jobs"].GetArray()) {
    EXPECT_TRUE(j["kind"].IsString());
    EXPECT_GT(j["count"].GetInt64(), 0);
  }
}

BX_INSTANTIATE_BACKENDS(DocumentsTest);
