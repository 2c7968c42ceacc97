// shipments.* through Engine::call on every backend, and the reference validators
// (services/shipment_refs) with the vectors of PROTOCOLS §7.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "services/shipment_refs.hpp"
#include "store/db.hpp"
#include "support/engine_fixture.hpp"

using banxway::Code;
using banxway::json::Document;
using bxtest::str;
namespace sv = banxway::services;

namespace {
const char* kMissing = "0190a0a0-0000-7000-8000-000000000999";
}

// --- validators -----------------------------------------------------------------------------

TEST(ShipmentRefs, Normalize) {
  EXPECT_EQ(sv::normalize_reference(" msku 907032-3 "), "MSKU9070323");
  EXPECT_EQ(sv::normalize_reference("176-1234 5675"), "17612345675");
  EXPECT_EQ(sv::normalize_reference(""), "");
}

TEST(ShipmentRefs, ContainerCheckDigitVectors) {
  // PROTOCOLS §7.1 / Appendix A.
  EXPECT_EQ(sv::container_check_digit("CSQU305438"), 3);
  EXPECT_EQ(sv::container_check_digit("MSKU907032"), 3);
  EXPECT_EQ(sv::container_check_digit("MWCU605978"), 4);
  EXPECT_EQ(sv::container_check_digit("ABCU123456"), 0);  // remainder 10 maps to 0
  EXPECT_EQ(sv::container_check_digit("TGHU987654"), 2);
  EXPECT_EQ(sv::container_check_digit("TGHU98765"), std::nullopt);
  EXPECT_EQ(sv::container_check_digit("TGH1987654"), std::nullopt);
  for (const char* ok : {"CSQU3054383", "MSKU9070323", "MWCU6059784", "ABCU1234560", "TGHU9876542",
                         "msku 907032 3", "MSKU-907032-3"})
    EXPECT_TRUE(sv::valid_container(ok).has_value()) << ok;
  EXPECT_EQ(*sv::valid_container("msku 907032 3"), "MSKU9070323");
  for (const char* bad : {"MSKU9070324", "CSQU3054380", "MSKX9070323", "MSK9070323", "MSKU90703233",
                          "1SKU9070323", "", "MSKU907O323"})
    EXPECT_FALSE(sv::valid_container(bad).has_value()) << bad;
  auto c = sv::check_reference(sv::RefKind::container, "MSKU9070324");
  EXPECT_FALSE(c.value);
  EXPECT_NE(c.problem.find("should be 3"), std::string::npos) << c.problem;
}

TEST(ShipmentRefs, AwbCheckDigitVectors) {
  EXPECT_EQ(sv::awb_check_digit("1761234567"), 5);
  EXPECT_EQ(sv::awb_check_digit("0208114074"), 3);
  EXPECT_EQ(*sv::valid_awb("176-12345675"), "17612345675");
  EXPECT_EQ(*sv::valid_awb("176-1234 5675"), "17612345675");
  EXPECT_EQ(*sv::valid_awb("020-81140743"), "02081140743");
  for (const char* bad :
       {"176-12345670", "176-12345678", "17612345", "176-1234567A", "", "176-123456755"})
    EXPECT_FALSE(sv::valid_awb(bad).has_value()) << bad;
  auto c = sv::check_reference(sv::RefKind::awb, "176-12345670");
  EXPECT_NE(c.problem.find("should be 5"), std::string::npos) << c.problem;
}

TEST(ShipmentRefs, BookingBlAndLocode) {
  EXPECT_EQ(*sv::valid_booking("bkg-12 345"), "BKG12345");
  EXPECT_EQ(*sv::valid_bl("MAEU 123456789"), "MAEU123456789");
  EXPECT_FALSE(sv::valid_bl("AB1"));
  EXPECT_FALSE(sv::valid_bl(std::string(36, 'A')));
  EXPECT_TRUE(sv::valid_bl(std::string(35, 'A')));
  EXPECT_FALSE(sv::valid_booking("BKG/123"));
  EXPECT_EQ(*sv::valid_unlocode("INNSA"), "INNSA");
  EXPECT_EQ(*sv::valid_unlocode("in nsa"), "INNSA");
  EXPECT_EQ(*sv::valid_unlocode("AEJEA"), "AEJEA");
  EXPECT_EQ(*sv::valid_unlocode("GBLG2"), "GBLG2");
  for (const char* bad : {"IN-NSA", "INNS", "INNSAX", "1NNSA", "INNS1", "INNS0", "IN  NSA", ""})
    EXPECT_FALSE(sv::valid_unlocode(bad).has_value()) << bad;
  EXPECT_EQ(sv::ref_kind_from("awb"), sv::RefKind::awb);
  EXPECT_EQ(sv::ref_kind_from("hbl"), std::nullopt);
}

TEST(ShipmentRefs, FindReferencesInText) {
  std::string text =
      "Hi, container MSKU 907032 3 and msku9070323 (again) plus CSQU3054383; AWB 176-1234 5675, "
      "also 020-81140743. Wrong: MSKU9070324, 176-12345670, XMSKU9070323, 9176-12345675, "
      "MSKU90703231. Phone 022-2345 6789.";
  auto found = sv::find_references(text);
  std::vector<std::string> got;
  for (const auto& f : found) got.push_back(std::string(sv::ref_kind_name(f.kind)) + ":" + f.value);
  EXPECT_EQ(got, (std::vector<std::string>{"container:MSKU9070323", "container:CSQU3054383",
                                           "awb:17612345675", "awb:02081140743"}));
  ASSERT_FALSE(found.empty());
  EXPECT_EQ(text.substr(found[0].offset, found[0].length), "MSKU 907032 3");
  EXPECT_EQ(text.substr(found[2].offset, found[2].length), "176-1234 5675");
  // Never a number whose check digit fails.
  for (const auto& f : found) {
    if (f.kind == sv::RefKind::container) EXPECT_TRUE(sv::valid_container(f.value));
    if (f.kind == sv::RefKind::awb) EXPECT_TRUE(sv::valid_awb(f.value));
  }
  EXPECT_TRUE(sv::find_references("").empty());
  EXPECT_TRUE(sv::find_references("MSKU").empty());
  EXPECT_EQ(sv::find_references("\xC2\xA0MSKU\xC2\xA0"
                                "907032\xC2\xA0"
                                "3\xC2\xA0")
                .size(),
            1u);
}

// --- operations -----------------------------------------------------------------------------

class ShipmentsTest : public bxtest::EngineTest {
 protected:
  std::string refs(const std::vector<std::pair<std::string, std::string>>& rs) {
    std::string j = "[";
    for (size_t i = 0; i < rs.size(); ++i)
      j += (i ? "," : "") + std::string("{\"kind\":\"") + rs[i].first +
           "\",\"value\":" + banxway::json::quote(rs[i].second) + "}";
    return j + "]";
  }
  std::string make(const std::string& extra = "", const std::string& key = "") {
    return str(ok("shipments.create", "{\"mode\":\"ocean\"" + extra + "}", key), "id");
  }
  int events_of(const std::string& type) {
    auto ev = ok("events.list", R"({"after":0,"limit":1000})");
    int n = 0;
    for (auto& e : ev["items"].GetArray()) n += str(e, "type") == type;
    return n;
  }
};

TEST_P(ShipmentsTest, CreateWithReferencesAndGet) {
  std::string cust = str(ok("customers.create", R"({"name":"Acme"})"), "id");
  auto d = ok("shipments.create",
              "{\"mode\":\"ocean\",\"customer_id\":\"" + cust +
                  "\",\"origin\":\"in nsa\",\"destination\":\"AEJEA\","
                  "\"etd\":\"2030-03-01T17:30:00+05:30\",\"eta\":\"2030-03-09T00:00:00Z\","
                  "\"parties\":{\"shipper\":{\"name\":\"Acme\"},\"consignee\":\"Gulf LLC\"},"
                  "\"references\":" +
                  refs({{"booking", "bkg-778899"},
                        {"bl", "MAEU 123456789"},
                        {"container", "msku 907032-3"},
                        {"container", "CSQU3054383"},
                        {"container", "MSKU9070323"}}) +
                  "}");
  std::string id = str(d, "id");
  EXPECT_EQ(str(d, "mode"), "ocean");
  EXPECT_EQ(str(d, "status"), "planned");
  EXPECT_EQ(str(d, "customer_id"), cust);
  EXPECT_EQ(str(d, "origin"), "INNSA");
  EXPECT_EQ(str(d, "destination"), "AEJEA");
  EXPECT_EQ(str(d, "etd"), "2030-03-01T12:00:00.000Z");
  EXPECT_EQ(str(d["parties"], "consignee"), "Gulf LLC");
  ASSERT_EQ(d["references"].Size(), 4u);  // the duplicate container once
  std::set<std::string> got;
  for (auto& r : d["references"].GetArray()) got.insert(str(r, "kind") + ":" + str(r, "value"));
  EXPECT_EQ(got, (std::set<std::string>{"booking:BKG778899", "bl:MAEU123456789",
                                        "container:MSKU9070323", "container:CSQU3054383"}));
  EXPECT_EQ(d["milestones"].Size(), 0u);
  EXPECT_EQ(d["thread_ids"].Size(), 0u);
  auto g = ok("shipments.get", "{\"id\":\"" + id + "\"}");
  EXPECT_EQ(banxway::json::stringify(g), banxway::json::stringify(d));
  EXPECT_EQ(events_of("shipment.created"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM audit WHERE org_id = ? AND target_id = ?", {org_a, id}), 1);

  // An air shipment with an AWB.
  auto air = ok("shipments.create",
                "{\"mode\":\"air\",\"references\":" + refs({{"awb", "176-1234 5675"}}) + "}");
  EXPECT_EQ(str(air["references"][0], "value"), "17612345675");
  fails("shipments.create",
        "{\"mode\":\"ocean\",\"customer_id\":\"" + std::string(kMissing) + "\"}", Code::not_found);
  fails("shipments.create", R"({"mode":"sea"})", Code::invalid_argument);
  fails("shipments.create", R"({})", Code::invalid_argument);
  auto msg =
      fails("shipments.create", R"({"mode":"ocean","origin":"IN-NSA"})", Code::invalid_argument);
  EXPECT_EQ(msg.rfind("origin", 0), 0u) << msg;
  fails("shipments.create", R"({"mode":"ocean","etd":"tomorrow"})", Code::invalid_argument);
}

TEST_P(ShipmentsTest, BadCheckDigitsAreRejectedWithNoPartialWrite) {
  auto msg = fails("shipments.create",
                   "{\"mode\":\"ocean\",\"references\":" +
                       refs({{"booking", "BKG1"}, {"container", "MSKU9070324"}}) + "}",
                   Code::invalid_argument);
  EXPECT_EQ(msg.rfind("references[1].value", 0), 0u) << msg;
  EXPECT_NE(msg.find("should be 3"), std::string::npos) << msg;
  msg = fails("shipments.create",
              "{\"mode\":\"air\",\"references\":" + refs({{"awb", "176-12345670"}}) + "}",
              Code::invalid_argument);
  EXPECT_EQ(msg.rfind("references[0].value", 0), 0u) << msg;
  EXPECT_NE(msg.find("should be 5"), std::string::npos) << msg;
  fails("shipments.create", "{\"mode\":\"ocean\",\"references\":" + refs({{"bl", "A/B"}}) + "}",
        Code::invalid_argument);
  fails("shipments.create", "{\"mode\":\"ocean\",\"references\":" + refs({{"hbl", "ABCD1"}}) + "}",
        Code::invalid_argument);
  // Nothing written: no shipment, no reference, no event, no audit row.
  EXPECT_EQ(ok("shipments.list", "{}")["items"].Size(), 0u);
  EXPECT_EQ(count("SELECT COUNT(*) FROM shipment_references WHERE org_id = ?", {org_a}), 0);
  EXPECT_EQ(events_of("shipment.created"), 0);
  EXPECT_EQ(
      count("SELECT COUNT(*) FROM audit WHERE org_id = ? AND target_type = 'shipment'", {org_a}),
      0);
  // Update with a bad reference changes nothing either.
  std::string id = make(",\"references\":" + refs({{"booking", "BKG1"}}));
  fails("shipments.update",
        "{\"id\":\"" + id +
            "\",\"status\":\"booked\",\"references\":" + refs({{"container", "MSKU9070324"}}) + "}",
        Code::invalid_argument);
  auto g = ok("shipments.get", "{\"id\":\"" + id + "\"}");
  EXPECT_EQ(str(g, "status"), "planned");
  EXPECT_EQ(str(g["references"][0], "value"), "BKG1");
}

TEST_P(ShipmentsTest, DuplicateReferenceIsAlreadyExists) {
  std::string a = make(",\"references\":" + refs({{"container", "MSKU9070323"}}));
  auto msg = fails("shipments.create",
                   "{\"mode\":\"ocean\",\"references\":" +
                       refs({{"booking", "NEW123"}, {"container", "msku-907032-3"}}) + "}",
                   Code::already_exists);
  EXPECT_EQ(msg.rfind("references[1].value", 0), 0u) << msg;
  EXPECT_NE(msg.find(a), std::string::npos) << msg;
  // The failed create left nothing behind: NEW123 is free.
  EXPECT_EQ(ok("shipments.lookup", R"({"reference":"NEW123"})")["items"].Size(), 0u);
  EXPECT_EQ(ok("shipments.list", "{}")["items"].Size(), 1u);
  // The same value under another kind is another reference.
  make(",\"references\":" + refs({{"booking", "MSKU9070323"}}));
  // Update onto a taken reference fails; re-saving a shipment's own references works.
  std::string b = make(",\"references\":" + refs({{"bl", "MAEU123456789"}}));
  fails("shipments.update",
        "{\"id\":\"" + b + "\",\"references\":" + refs({{"container", "MSKU9070323"}}) + "}",
        Code::already_exists);
  auto u = ok("shipments.update",
              "{\"id\":\"" + a + "\",\"references\":" +
                  refs({{"container", "MSKU9070323"}, {"awb", "020-81140743"}}) + "}");
  EXPECT_EQ(u["references"].Size(), 2u);
  // Another organization may use the same reference.
  make(",\"references\":" + refs({{"container", "MSKU9070323"}}), key_b);
}

TEST_P(ShipmentsTest, LookupByEachReferenceKindWithOddFormatting) {
  std::string id = make(",\"references\":" + refs({{"booking", "BKG778899"},
                                                   {"bl", "MAEU123456789"},
                                                   {"container", "MSKU9070323"},
                                                   {"awb", "17612345675"}}));
  make(",\"references\":" + refs({{"container", "CSQU3054383"}}));
  for (const char* q : {"bkg-778899", " maeu 123456789 ", "MSKU 907032-3", "msku9070323",
                        "176-1234 5675", "176 12345675"}) {
    auto d = ok("shipments.lookup", std::string("{\"reference\":") + banxway::json::quote(q) + "}");
    ASSERT_EQ(d["items"].Size(), 1u) << q;
    EXPECT_EQ(str(d["items"][0], "id"), id) << q;
    EXPECT_EQ(d["items"][0]["references"].Size(), 4u);
  }
  EXPECT_EQ(
      ok("shipments.lookup", R"({"reference":"MSKU9070323","kind":"container"})")["items"].Size(),
      1u);
  EXPECT_EQ(ok("shipments.lookup", R"({"reference":"MSKU9070323","kind":"bl"})")["items"].Size(),
            0u);
  EXPECT_EQ(ok("shipments.lookup", R"({"reference":"TGHU9876542"})")["items"].Size(), 0u);
  fails("shipments.lookup", R"({"reference":" - "})", Code::invalid_argument);
  fails("shipments.lookup", R"({})", Code::invalid_argument);
  // The same value on two shipments (different kinds): both found.
  make(",\"references\":" + refs({{"booking", "MSKU9070323"}}));
  EXPECT_EQ(ok("shipments.lookup", R"({"reference":"MSKU9070323"})")["items"].Size(), 2u);
}

TEST_P(ShipmentsTest, MilestonesUpsertAndOrder) {
  std::string id = make();
  std::string sid = "\"shipment_id\":\"" + id + "\"";
  auto m = ok(
      "shipments.set_milestone",
      "{" + sid + R"(,"kind":"departed","planned_at":"2030-03-01T10:00:00Z","location":"INNSA"})");
  EXPECT_EQ(str(m, "kind"), "departed");
  EXPECT_EQ(str(m, "planned_at"), "2030-03-01T10:00:00.000Z");
  EXPECT_TRUE(m["actual_at"].IsNull());
  ok("shipments.set_milestone",
     "{" + sid + R"(,"kind":"delivered","planned_at":"2030-03-12T10:00:00Z"})");
  ok("shipments.set_milestone",
     "{" + sid + R"(,"kind":"booked","actual_at":"2030-02-20T10:00:00Z"})");
  ok("shipments.set_milestone", "{" + sid + R"(,"kind":"gate_in","note":"gate in at JNPT"})");
  // Upsert: the second call changes only the fields it names.
  auto m2 = ok(
      "shipments.set_milestone",
      "{" + sid + R"(,"kind":"departed","actual_at":"2030-03-01T12:30:00+05:30","note":"sailed"})");
  EXPECT_EQ(str(m2, "planned_at"), "2030-03-01T10:00:00.000Z");
  EXPECT_EQ(str(m2, "actual_at"), "2030-03-01T07:00:00.000Z");
  EXPECT_EQ(str(m2, "location"), "INNSA");
  EXPECT_EQ(str(m2, "note"), "sailed");
  auto m3 = ok("shipments.set_milestone", "{" + sid + R"(,"kind":"departed","location":null})");
  EXPECT_TRUE(m3["location"].IsNull());
  EXPECT_EQ(str(m3, "note"), "sailed");

  auto g = ok("shipments.get", "{\"id\":\"" + id + "\"}");
  std::vector<std::string> kinds;
  for (auto& x : g["milestones"].GetArray()) kinds.push_back(str(x, "kind"));
  EXPECT_EQ(kinds, (std::vector<std::string>{"booked", "gate_in", "departed", "delivered"}));
  EXPECT_EQ(count("SELECT COUNT(*) FROM shipment_milestones WHERE shipment_id = ?", {id}), 4);
  EXPECT_EQ(events_of("shipment.milestone"), 6);

  fails("shipments.set_milestone", "{" + sid + R"(,"kind":"sailed"})", Code::invalid_argument);
  fails("shipments.set_milestone", "{" + sid + R"(,"kind":"loaded","actual_at":"soon"})",
        Code::invalid_argument);
  auto msg = fails("shipments.set_milestone",
                   std::string("{\"shipment_id\":\"") + kMissing + R"(","kind":"loaded"})",
                   Code::not_found);
  EXPECT_EQ(msg.rfind("shipment_id", 0), 0u) << msg;
  EXPECT_EQ(events_of("shipment.milestone"), 6);
}

TEST_P(ShipmentsTest, LinkAndUnlinkThreads) {
  std::string id = make();
  std::string t1 = str(ok("threads.create", R"({"subject":"Booking for MSKU9070323"})"), "id");
  std::string t2 = str(ok("threads.create", R"({"subject":"Customs"})"), "id");
  auto link = [&](const std::string& op, const std::string& t) {
    return ok(op, "{\"shipment_id\":\"" + id + "\",\"thread_id\":\"" + t + "\"}");
  };
  EXPECT_TRUE(link("shipments.link_thread", t1)["linked"].GetBool());
  EXPECT_FALSE(link("shipments.link_thread", t1)["linked"].GetBool());  // idempotent
  link("shipments.link_thread", t2);
  auto g = ok("shipments.get", "{\"id\":\"" + id + "\"}");
  ASSERT_EQ(g["thread_ids"].Size(), 2u);
  EXPECT_EQ(events_of("thread.shipment_linked"), 2);
  auto ev = ok("events.list", R"({"after":0,"limit":1000})");
  for (auto& e : ev["items"].GetArray())
    if (str(e, "type") == "thread.shipment_linked") {
      EXPECT_EQ(str(e, "subject_id"), id);
      EXPECT_FALSE(str(e, "thread_id").empty());
    }

  EXPECT_TRUE(link("shipments.unlink_thread", t1)["unlinked"].GetBool());
  EXPECT_FALSE(link("shipments.unlink_thread", t1)["unlinked"].GetBool());
  g = ok("shipments.get", "{\"id\":\"" + id + "\"}");
  ASSERT_EQ(g["thread_ids"].Size(), 1u);
  EXPECT_EQ(g["thread_ids"][0].GetString(), t2);

  auto msg =
      fails("shipments.link_thread",
            "{\"shipment_id\":\"" + id + "\",\"thread_id\":\"" + kMissing + "\"}", Code::not_found);
  EXPECT_EQ(msg.rfind("thread_id", 0), 0u) << msg;
  msg = fails("shipments.link_thread",
              std::string("{\"shipment_id\":\"") + kMissing + "\",\"thread_id\":\"" + t1 + "\"}",
              Code::not_found);
  EXPECT_EQ(msg.rfind("shipment_id", 0), 0u) << msg;
  // A viewer may read but not link.
  std::string viewer = key_with_role("viewer");
  EXPECT_EQ(call("shipments.link_thread",
                 "{\"shipment_id\":\"" + id + "\",\"thread_id\":\"" + t1 + "\"}", nullptr, viewer)
                .code(),
            Code::permission_denied);
  ok("shipments.get", "{\"id\":\"" + id + "\"}", viewer);
}

TEST_P(ShipmentsTest, UpdateFieldsAndEvents) {
  std::string cust = str(ok("customers.create", R"({"name":"Acme"})"), "id");
  std::string id = make(",\"origin\":\"INNSA\",\"customer_id\":\"" + cust + "\"");
  auto u = ok(
      "shipments.update",
      "{\"id\":\"" + id +
          R"(","status":"in_transit","destination":"NL RTM","origin":null,"customer_id":null,"eta":"2030-04-01T00:00:00Z","parties":{"notify":"X"}})");
  EXPECT_EQ(str(u, "status"), "in_transit");
  EXPECT_EQ(str(u, "destination"), "NLRTM");
  EXPECT_TRUE(u["origin"].IsNull());
  EXPECT_TRUE(u["customer_id"].IsNull());
  EXPECT_EQ(str(u, "eta"), "2030-04-01T00:00:00.000Z");
  EXPECT_EQ(str(u["parties"], "notify"), "X");
  EXPECT_EQ(str(u, "mode"), "ocean");
  EXPECT_EQ(events_of("shipment.updated"), 1);
  fails("shipments.update", "{\"id\":\"" + id + "\",\"status\":\"lost\"}", Code::invalid_argument);
  fails("shipments.update", "{\"id\":\"" + id + "\",\"destination\":\"XX\"}",
        Code::invalid_argument);
  fails("shipments.update", std::string("{\"id\":\"") + kMissing + "\",\"status\":\"booked\"}",
        Code::not_found);
  fails("shipments.update", "{\"id\":\"" + id + "\",\"customer_id\":\"" + kMissing + "\"}",
        Code::not_found);
  EXPECT_EQ(events_of("shipment.updated"), 1);
}

TEST_P(ShipmentsTest, ListPaginatesAndFilters) {
  std::string cust = str(ok("customers.create", R"({"name":"Acme"})"), "id");
  std::vector<std::string> ids;
  for (int i = 0; i < 7; ++i) {
    std::string extra = i % 2 ? ",\"customer_id\":\"" + cust + "\"" : "";
    if (i == 3) extra += ",\"status\":\"booked\"";
    ids.push_back(str(
        ok("shipments.create",
           std::string("{\"mode\":\"") + (i < 5 ? "ocean" : "air") + "\"" + extra +
               ",\"references\":" + refs({{"booking", "BKG" + std::to_string(1000 + i)}}) + "}"),
        "id"));
  }
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto d = ok("shipments.list",
                "{\"limit\":3" + (cursor.empty() ? "" : ",\"cursor\":\"" + cursor + "\"") + "}");
    ++pages;
    for (auto& s : d["items"].GetArray()) {
      seen.push_back(str(s, "id"));
      EXPECT_EQ(s["references"].Size(), 1u);
    }
    cursor = d["next_cursor"].IsNull() ? "" : d["next_cursor"].GetString();
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, std::vector<std::string>(ids.rbegin(), ids.rend()));
  EXPECT_EQ(ok("shipments.list", "{\"customer_id\":\"" + cust + "\"}")["items"].Size(), 3u);
  EXPECT_EQ(ok("shipments.list", R"({"mode":"air"})")["items"].Size(), 2u);
  EXPECT_EQ(ok("shipments.list", R"({"status":"booked"})")["items"].Size(), 1u);
  EXPECT_EQ(ok("shipments.list", R"({"status":"planned","mode":"ocean"})")["items"].Size(), 4u);
  fails("shipments.list", R"({"cursor":"garbage!"})", Code::invalid_argument);
  fails("shipments.list", R"({"mode":"sea"})", Code::invalid_argument);
}

BX_INSTANTIATE_BACKENDS(ShipmentsTest);
