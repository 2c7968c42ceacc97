// analysis::extract: identifiers, their check digits and context rules (docs/ANALYSIS.md),
// with the published vectors of PROTOCOLS §7 / Appendix A.
#include "analysis/extract.hpp"

#include <gtest/gtest.h>

#include "analysis/analyze.hpp"
#include "services/shipment_refs.hpp"

namespace an = banxway::analysis;
using Strings = std::vector<std::string>;

namespace {

an::Entities ents(std::string_view text, const an::ExtractOptions& o = {}) {
  return an::extract(text, o).entities;
}

const an::Rejected* rejected_of(const an::Extraction& x, std::string_view kind) {
  for (const auto& r : x.rejected)
    if (r.kind == kind) return &r;
  return nullptr;
}

}  // namespace

TEST(Extract, ContainerVectorsAndSpacing) {
  EXPECT_EQ(ents("CSQU3054383 MSKU9070323 MWCU6059784 ABCU1234560 TGHU9876542").containers,
            (Strings{"CSQU3054383", "MSKU9070323", "MWCU6059784", "ABCU1234560", "TGHU9876542"}));
  EXPECT_EQ(ents("box MSKU 907032-3 arrived").containers, Strings{"MSKU9070323"});
  EXPECT_EQ(ents("box MSKU-907032-3 arrived").containers, Strings{"MSKU9070323"});
  EXPECT_EQ(ents("box msku9070323 arrived").containers, Strings{"MSKU9070323"});
  EXPECT_EQ(ents("box msku 907032-3 arrived").containers, Strings{"MSKU9070323"});
  EXPECT_EQ(ents("box MSKU 9070323 arrived").containers, Strings{"MSKU9070323"});
}

TEST(Extract, ContainerWrongCheckDigitIsRejectedWithReason) {
  auto x = an::extract("Please check container MSKU9070325 urgently");
  EXPECT_TRUE(x.entities.containers.empty());
  const an::Rejected* r = rejected_of(x, "container");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->raw, "MSKU9070325");
  EXPECT_NE(r->reason.find("should be 3"), std::string::npos) << r->reason;
}

TEST(Extract, ContainerWordBoundariesUrlsAndSignatures) {
  // A tracking URL's query value is a real mention.
  EXPECT_EQ(ents("see https://track.example.com/track?c=MSKU9070323&x=1").containers,
            Strings{"MSKU9070323"});
  EXPECT_EQ(ents("https://example.com/containers/TGHU9876542/events").containers,
            Strings{"TGHU9876542"});
  // Glued into a longer token: not a container.
  EXPECT_TRUE(ents("ref XMSKU9070323 and MSKU90703231 and MSKU9070323X").containers.empty());
  // In a signature block, next to other ids, order of first appearance, each once.
  auto e = ents("Regards,\nRavi | Ops\nCntr: TGHU9876542 / CSQU3054383\nTGHU 987654 2\n");
  EXPECT_EQ(e.containers, (Strings{"TGHU9876542", "CSQU3054383"}));
}

TEST(Extract, AwbFormsPrefixesAndContext) {
  EXPECT_EQ(ents("MAWB 176-12345675 and 020-81140743").awbs,
            (Strings{"176-12345675", "020-81140743"}));
  EXPECT_EQ(ents("shipped on 176-1234 5675 today").awbs, Strings{"176-12345675"});
  // The bare 11-digit form needs AWB words.
  EXPECT_TRUE(ents("order 17612345675 shipped").awbs.empty());
  EXPECT_EQ(ents("Air waybill no. 17612345675").awbs, Strings{"176-12345675"});
  // Wrong check digit: rejected, with the expected digit.
  auto x = an::extract("AWB 176-12345674");
  EXPECT_TRUE(x.entities.awbs.empty());
  ASSERT_NE(rejected_of(x, "awb"), nullptr);
  EXPECT_NE(rejected_of(x, "awb")->reason.find("should be 5"), std::string::npos);
  // Unknown airline prefix: rejected after AWB words, ignored elsewhere (a phone number).
  auto y = an::extract("AWB 999-12345675 and 888-12345675");  // 999 Air China is listed
  EXPECT_EQ(y.entities.awbs, Strings{"999-12345675"});
  auto z = an::extract("MAWB: 888-12345675");
  EXPECT_TRUE(z.entities.awbs.empty());
  ASSERT_NE(rejected_of(z, "awb"), nullptr);
  EXPECT_NE(rejected_of(z, "awb")->reason.find("prefix 888"), std::string::npos);
  EXPECT_TRUE(an::extract("call 022-2345 6785 or 022-23456785").rejected.empty());
}

TEST(Extract, BillsOfLadingAndBookings) {
  auto e = ents("Our MBL is MAEU123456789, HBL: SHA2026000123. Also COSU 6123456789.");
  EXPECT_EQ(e.bls, (Strings{"MAEU123456789", "SHA2026000123", "COSU6123456789"}));
  // Carrier prefix with a body of the wrong shape is not a B/L without context words.
  EXPECT_TRUE(ents("MAEU12345 is not one").bls.empty());
  EXPECT_EQ(ents("B/L No. MAEU12345678").bls, Strings{"MAEU12345678"});
  EXPECT_EQ(ents("Bill of Lading number: hlcuham250612345").bls, Strings{"HLCUHAM250612345"});
  EXPECT_EQ(ents("Booking no: EBKG01234567 confirmed. BKG 238475610").bookings,
            (Strings{"EBKG01234567", "238475610"}));
  EXPECT_TRUE(ents("booking for 2 x 40HC next week").bookings.empty());
  EXPECT_TRUE(ents("we are booking 20 containers 123456").bookings.empty());
}

TEST(Extract, PortsIncotermsAndHsCodes) {
  auto e = ents("Route INNSA - NLRTM via SGSIN, POL: IN MAA. POD: USXYZ. Terms FOB INNSA.");
  EXPECT_EQ(e.ports, (Strings{"INNSA", "NLRTM", "SGSIN", "INMAA", "USXYZ"}));
  EXPECT_EQ(e.incoterms, Strings{"FOB"});
  // Unlisted codes need context and a real country; names in capitals are not codes.
  EXPECT_TRUE(ents("USXYZ is not listed").ports.empty());
  EXPECT_TRUE(ents("POD: QQABC").ports.empty());
  EXPECT_TRUE(ents("POD: JEBEL ALI").ports.empty());
  EXPECT_EQ(ents("priced CNF Jebel Ali, or C&F, or CIF; legacy DDU").incoterms,
            (Strings{"CFR", "CIF", "DDU"}));
  EXPECT_TRUE(
      ents("we shipped it fob and cip was discussed; fas is not a term here").incoterms.empty());
  auto h = an::extract("HS code: 8471.30.01, 8473.30 and HSN 39239090. Tariff 7712.10. HS 98765");
  EXPECT_EQ(h.entities.hs_codes, (Strings{"84713001", "847330", "39239090"}));
  ASSERT_EQ(h.rejected.size(), 2u);
  EXPECT_EQ(h.rejected[0].raw, "7712.10");
  EXPECT_NE(h.rejected[0].reason.find("77"), std::string::npos);
  EXPECT_EQ(h.rejected[1].raw, "98765");
  EXPECT_TRUE(ents("commodity: 847130 machines").hs_codes.empty());
}

TEST(Extract, ImoNumbers) {
  EXPECT_EQ(ents("Vessel MSC ANNA IMO 9074729").imos, Strings{"9074729"});
  EXPECT_EQ(ents("IMO9074729").imos, Strings{"9074729"});
  auto x = an::extract("IMO 9074728");
  EXPECT_TRUE(x.entities.imos.empty());
  EXPECT_NE(rejected_of(x, "imo"), nullptr);
}

TEST(Extract, DatesWithEachKeywordAndFormat) {
  an::ExtractOptions o;
  o.reference_date = "2026-11-20";
  auto e = ents(
      "ETD 2026-12-05. ETA: 05/01/2027. CY cut-off 3.12.26, SI cut 2nd Dec, VGM cut Dec 1, "
      "pickup on Fri 28 Nov, delivery 5th January 2027. Cutoff: 12/12",
      o);
  std::vector<an::DateRef> want = {{"etd", "2026-12-05", "2026-12-05"},
                                   {"eta", "2027-01-05", "05/01/2027"},
                                   {"cutoff", "2026-12-03", "3.12.26"},
                                   {"cutoff", "2026-12-02", "2nd Dec"},
                                   {"cutoff", "2026-12-01", "Dec 1"},
                                   {"pickup", "2026-11-28", "28 Nov"},
                                   {"delivery", "2027-01-05", "5th January 2027"},
                                   {"cutoff", "2026-12-12", "12/12"}};
  EXPECT_EQ(e.dates, want);
  // Year chosen nearest the reference date: "5 Jan" written in late 2026 is 2027.
  EXPECT_EQ(ents("ETA 5 Jan", o).dates.at(0).date, "2027-01-05");
  o.month_first = true;
  EXPECT_EQ(ents("ETA 03/04/2027", o).dates.at(0).date, "2027-03-04");
}

TEST(Extract, InvalidAndContextlessDates) {
  an::ExtractOptions o;
  o.reference_date = "2026-11-20";
  auto x = an::extract("ETA 31/04/2027 and ETD 2027-02-29, pickup 5/13/2026", o);
  EXPECT_TRUE(x.entities.dates.empty());
  ASSERT_EQ(x.rejected.size(), 3u);
  EXPECT_EQ(x.rejected[0].raw, "31/04/2027");
  EXPECT_NE(x.rejected[0].reason.find("April"), std::string::npos);
  EXPECT_NE(x.rejected[2].reason.find("month 13"), std::string::npos);
  // Dates without ETD/ETA/... words are not events.
  EXPECT_TRUE(ents("Meeting on 2026-12-05 at 10:00", o).dates.empty());
  // Without a reference date a year-less date cannot be placed.
  auto y = an::extract("ETA 5 Dec");
  EXPECT_TRUE(y.entities.dates.empty());
  EXPECT_NE(rejected_of(y, "date"), nullptr);
  // A time or a duration after ETA is not a date.
  EXPECT_TRUE(ents("ETA 10:00 tomorrow, delayed 2.5 days", o).dates.empty());
}

TEST(Extract, FalsePositiveGuards) {
  auto x = an::extract(
      "Call +91 22 2345 6789 or 022-2345 6785. Invoice total USD 12,345.67 for 2026. "
      "Address: Andheri East, Mumbai 400069, PIN 400 069. Fax 0161 234 5678. "
      "We can ship fob or cif if you like. Year 2026 was fine; 1234567 units; 9074729 parts.");
  const an::Entities& e = x.entities;
  EXPECT_TRUE(e.containers.empty() && e.awbs.empty() && e.bls.empty() && e.bookings.empty() &&
              e.ports.empty() && e.incoterms.empty() && e.hs_codes.empty() && e.imos.empty() &&
              e.dates.empty());
  EXPECT_TRUE(x.rejected.empty());
  EXPECT_TRUE(ents("HS code for 2026 not known").hs_codes.empty());
}

TEST(Extract, SeveralIdsInOneMessage) {
  auto e = ents(
      "Dear team,\nBooking 238475610 / B/L MAEU123456789 covers MSKU9070323 and CSQU3054383 "
      "(both 40HC), POL INNSA, POD NLRTM, CIF Rotterdam, HS 8471.30. Duplicate: MSKU 907032 3.\n");
  EXPECT_EQ(e.bookings, Strings{"238475610"});
  EXPECT_EQ(e.bls, Strings{"MAEU123456789"});
  EXPECT_EQ(e.containers, (Strings{"MSKU9070323", "CSQU3054383"}));
  EXPECT_EQ(e.ports, (Strings{"INNSA", "NLRTM"}));
  EXPECT_EQ(e.incoterms, Strings{"CIF"});
  EXPECT_EQ(e.hs_codes, Strings{"847130"});
}

TEST(Extract, FindReferencesKeepsItsBehaviour) {
  // services::find_references shares the scanners; it still takes any AWB prefix and the
  // bare 11-digit form (its callers link shipments by exact value).
  auto f = banxway::services::find_references("x 88812345675 MSKU9070323 MSKU9070325");
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].value, "88812345675");
  EXPECT_EQ(f[1].value, "MSKU9070323");
}

TEST(Extract, ContextsStopAtSentenceEnds) {
  an::ExtractOptions o;
  o.reference_date = "2026-11-20";
  EXPECT_TRUE(ents("ETA not known yet. The meeting is on 5 Dec.", o).dates.empty());
  EXPECT_TRUE(ents("Booking pending. 238475610 is a phone extension.", o).bookings.empty());
  // "No." does not end the sentence.
  EXPECT_EQ(ents("Booking No. 238475610", o).bookings, Strings{"238475610"});
  // A subject ending in a context word does not reach into the body (blank line between).
  auto a = an::analyze("Lifecycle phases can pick up those changes",
                       "On Mon, 18 Dec 2017, Jose wrote:\n> hello", o);
  EXPECT_TRUE(a.extraction.entities.dates.empty());
}
