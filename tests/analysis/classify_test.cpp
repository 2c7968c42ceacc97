// analysis::classify and analyze/to_json on realistic freight emails (written for these tests).
#include "analysis/classify.hpp"

#include <gtest/gtest.h>

#include "analysis/analyze.hpp"
#include "core/json.hpp"

namespace an = banxway::analysis;
using Strings = std::vector<std::string>;

TEST(Classify, BookingConfirmation) {
  auto c = an::classify("Booking Confirmation - BKG 238475610",
                        "Dear Customer,\n\nWe are pleased to confirm your booking for 2x40HC "
                        "from INNSA to NLRTM on MSC ANNA. Please find attached the booking "
                        "confirmation.\n\nThanks and regards,\nMSC India");
  EXPECT_EQ(c.intent, "booking");
  EXPECT_GT(c.intent_confidence, 0.4);
  EXPECT_EQ(c.sentiment, "positive");
  EXPECT_EQ(c.urgency, "normal");
  EXPECT_EQ(c.language, "en");
  EXPECT_TRUE(c.requested_documents.empty());
}

TEST(Classify, DelayNoticeIsStatusAndNegative) {
  auto c = an::classify("Delay notice: MAEU123456789",
                        "Please note the vessel has been delayed due to port congestion and the "
                        "shipment was rolled over. The new ETA is 12 Dec. We regret the delay "
                        "and the problem this causes.");
  EXPECT_EQ(c.intent, "status_inquiry");
  EXPECT_EQ(c.sentiment, "negative");
  EXPECT_LT(c.sentiment_score, 0);
}

TEST(Classify, CustomsHoldIsUrgent) {
  auto c = an::classify("URGENT: container held at customs",
                        "Our container MSKU9070323 is held by customs for examination. "
                        "Demurrage is running, please arrange clearance immediately!!");
  EXPECT_EQ(c.intent, "customs");
  EXPECT_EQ(c.urgency, "high");
}

TEST(Classify, RateRequest) {
  auto c = an::classify("Rate request INNSA to USNYC",
                        "Hi, could you please quote your best rate for 1x40HC FOB Nhava Sheva "
                        "to New York? Cargo ready next week, no rush.");
  EXPECT_EQ(c.intent, "rate_request");
  EXPECT_EQ(c.urgency, "low");
}

TEST(Classify, DocumentRequestVersusSubmission) {
  auto r = an::classify("Documents for BKG 238475610",
                        "Dear Sir, please send the commercial invoice and packing list for "
                        "customs filing. The certificate of origin is still missing.");
  EXPECT_EQ(r.intent, "document_request");
  EXPECT_EQ(r.requested_documents,
            (Strings{"commercial_invoice", "packing_list", "certificate_of_origin"}));
  auto s = an::classify("Docs",
                        "Hello, attached is the packing list. Please find enclosed the "
                        "commercial invoice as well.");
  EXPECT_EQ(s.intent, "document_submission");
  EXPECT_TRUE(s.requested_documents.empty());
  EXPECT_EQ(s.submitted_documents, (Strings{"packing_list", "commercial_invoice"}));
}

TEST(Classify, ComplaintWithNegation) {
  auto c = an::classify("Complaint about shipment",
                        "We are not happy with the service. The cargo arrived damaged and "
                        "nobody answers. This is unacceptable.");
  EXPECT_EQ(c.intent, "complaint");
  EXPECT_EQ(c.sentiment, "negative");
  EXPECT_LT(c.sentiment_score, -0.5);
  // Negation flips: "not happy" is negative, "happy" positive.
  EXPECT_EQ(an::classify("", "We are happy with the service, thanks").sentiment, "positive");
  EXPECT_EQ(an::classify("", "We are not happy.").sentiment, "negative");
  EXPECT_EQ(an::classify("", "This is not urgent").urgency, "low");
  // Negation stops at the end of its sentence.
  EXPECT_GT(an::classify("", "Not urgent. Thanks!").sentiment_score, 0);
}

TEST(Classify, Languages) {
  EXPECT_EQ(
      an::classify("", "Bitte senden Sie uns die Rechnung, wir sind nicht zufrieden.").language,
      "de");
  EXPECT_EQ(an::classify("", "Merci de nous envoyer la facture pour le conteneur.").language, "fr");
  EXPECT_EQ(an::classify("", "Por favor envíen la factura y el packing list, gracias.").language,
            "es");
  EXPECT_EQ(an::classify("", "कृपया कंटेनर की स्थिति बताएं").language, "hi");
  EXPECT_EQ(an::classify("", "请提供集装箱的最新状态").language, "zh");
  EXPECT_EQ(an::classify("", "MSKU9070323 176-12345675").language, "und");
}

TEST(Classify, Deterministic) {
  std::string t = "Please send the B/L draft ASAP, vessel ETA 5 Dec. Thanks!";
  EXPECT_EQ(an::to_json(an::analyze("Re: docs", t)), an::to_json(an::analyze("Re: docs", t)));
}

TEST(Analyze, JsonShape) {
  an::ExtractOptions o;
  o.reference_date = "2026-11-20";
  auto a = an::analyze("Booking MSKU9070323",
                       "Please send the packing list. ETA 5 Dec. Container MSKU9070325.", o);
  std::string j = an::to_json(a);
  banxway::json::Document d;
  ASSERT_TRUE(banxway::json::parse(j, &d).ok()) << j;
  for (const char* k : {"intent", "sentiment", "urgency", "language", "source"})
    EXPECT_TRUE(d[k].IsString()) << k;
  EXPECT_TRUE(d["intent_confidence"].IsNumber());
  EXPECT_TRUE(d["sentiment_score"].IsNumber());
  EXPECT_STREQ(d["source"].GetString(), "rules");
  EXPECT_STREQ(d["sources"]["entities"].GetString(), "rules");
  EXPECT_STREQ(d["requested_documents"][0].GetString(), "packing_list");
  // Entities come from the subject and the text.
  EXPECT_STREQ(d["entities"]["containers"][0].GetString(), "MSKU9070323");
  EXPECT_STREQ(d["entities"]["dates"][0]["kind"].GetString(), "eta");
  EXPECT_STREQ(d["entities"]["dates"][0]["date"].GetString(), "2026-12-05");
  EXPECT_STREQ(d["rejected"][0]["kind"].GetString(), "container");
  for (const char* k :
       {"containers", "awbs", "bls", "bookings", "ports", "incoterms", "hs_codes", "dates"})
    EXPECT_TRUE(d["entities"][k].IsArray()) << k;
}

TEST(Classify, QuotedHistoryDoesNotClassify) {
  auto c = an::classify("Re: shipment",
                        "Noted, will check.\n\nOn Mon, Ravi wrote:\n> This is unacceptable, we are "
                        "very disappointed!!\n> URGENT complaint, escalate immediately\n");
  EXPECT_EQ(c.sentiment, "neutral");
  EXPECT_EQ(c.urgency, "normal");
  EXPECT_NE(c.intent, "complaint");
  EXPECT_EQ(c.language, "en");
}
