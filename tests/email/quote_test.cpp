// Reply / history / signature separation (src/channels/email/quote.cpp).
#include "channels/email/quote.hpp"

#include <gtest/gtest.h>

using namespace banxway::email;

TEST(Quote, TopPostedReplyWithEnglishAttribution) {
  auto r = split_reply(
      "Yes, the booking is confirmed.\n\n"
      "On Mon, Jan 1, 2024 at 9:00 AM Bob <bob@x.example> wrote:\n"
      "> Can you confirm the booking?\n"
      ">\n"
      "> Thanks\n");
  EXPECT_EQ(r.new_text, "Yes, the booking is confirmed.");
  EXPECT_EQ(r.signature, "");
  EXPECT_EQ(r.quoted.substr(0, 8), "On Mon, ");
}

TEST(Quote, WrappedGmailAttribution) {
  auto r = split_reply(
      "Released.\n\n"
      "On Mon, Jan 1, 2024 at 9:00 AM Robert Somebody With A Long Name <\n"
      "robert@forwarder.example> wrote:\n\n"
      "> Is it released?\n");
  EXPECT_EQ(r.new_text, "Released.");
}

TEST(Quote, LocalizedAttributions) {
  for (const char* attribution :
       {"Am 01.01.2024 um 09:00 schrieb Bob Meier <bob@x.example>:",
        "Le lun. 1 janv. 2024 à 09:00, Bob <bob@x.example> a écrit :",
        "El lun, 1 ene 2024 a las 9:00, Bob (<bob@x.example>) escribió:",
        "Bob <bob@x.example> 于2024年1月1日周一 09:00写道：",
        "Em seg., 1 de jan. de 2024 às 09:00, Bob <bob@x.example> escreveu:",
        "Op ma 1 jan. 2024 om 09:00 schreef Bob <bob@x.example>:", "Bob Smith wrote:",
        "2017-11-20 21:32 GMT+02:00 Robert Scholte <rfscholte@apache.org>:"}) {
    auto r = split_reply(std::string("Neue Antwort.\n\n") + attribution + "\n> alt\n> older\n");
    EXPECT_EQ(r.new_text, "Neue Antwort.") << attribution;
  }
}

TEST(Quote, OutlookOriginalMessageAndHeaderBlocks) {
  auto a = split_reply(
      "Please find the invoice attached.\n\n"
      "-----Original Message-----\n"
      "From: Bob\nSent: Monday, January 1, 2024 9:00 AM\nTo: Alice\nSubject: invoice\n\n"
      "Please send the invoice.\n");
  EXPECT_EQ(a.new_text, "Please find the invoice attached.");
  EXPECT_NE(a.quoted.find("Please send the invoice."), std::string::npos);

  auto b = split_reply(
      "Noted, thanks.\n\n"
      "*From:* Bob Meier <bob@x.example>\n*Sent:* Monday, January 1, 2024 9:00 AM\n"
      "*To:* Alice\n*Subject:* RE: ETA\n\nOld text without quote marks\n");
  EXPECT_EQ(b.new_text, "Noted, thanks.");

  auto c = split_reply(
      "Danke.\n\nVon: Bob Meier\nGesendet: Montag, 1. Januar 2024 09:00\nAn: Alice\n"
      "Betreff: AW: ETA\n\nalter Text\n");
  EXPECT_EQ(c.new_text, "Danke.");

  auto d = split_reply(
      "OK.\n\n________________________________\nFrom: Bob\nSent: today\nTo: Alice\n\nold\n");
  EXPECT_EQ(d.new_text, "OK.");

  auto e = split_reply("-----Ursprüngliche Nachricht-----\nVon: x\n\nnur Verlauf\n");
  EXPECT_EQ(e.new_text, "-----Ursprüngliche Nachricht-----\nVon: x\n\nnur Verlauf");
}

TEST(Quote, ForwardedMessageMarkers) {
  auto r = split_reply(
      "FYI, see below.\n\n---------- Forwarded message ---------\nFrom: Carrier\n"
      "Date: Mon, Jan 1\nSubject: Rollover\nTo: ops\n\nYour container was rolled.\n");
  EXPECT_EQ(r.new_text, "FYI, see below.");
  auto apple = split_reply("Look.\n\nBegin forwarded message:\n\nFrom: x\n");
  EXPECT_EQ(apple.new_text, "Look.");
}

TEST(Quote, InterleavedRepliesKeepTheAnswers) {
  auto r = split_reply(
      "On Mon, Jan 1, 2024, Bob wrote:\n"
      "> What is the ETA?\n"
      "12 May.\n"
      "\n"
      "> And the vessel?\n"
      "MSC Anna.\n");
  EXPECT_EQ(r.new_text, "12 May.\n\nMSC Anna.");
}

TEST(Quote, SignaturesAndMobileFooters) {
  auto a = split_reply("See you.\n\n-- \nAlice Example\nForwarder GmbH\n");
  EXPECT_EQ(a.new_text, "See you.");
  EXPECT_EQ(a.signature, "Alice Example\nForwarder GmbH");

  auto b = split_reply("Confirmed.\n\nSent from my iPhone\n\nOn Mon, Bob wrote:\n> ok?\n");
  EXPECT_EQ(b.new_text, "Confirmed.");
  EXPECT_EQ(b.signature, "Sent from my iPhone");

  auto c = split_reply("Ja.\n\nVon meinem iPhone gesendet");
  EXPECT_EQ(c.new_text, "Ja.");

  // A "-- " deep inside a long text is not a signature separator.
  std::string long_tail = "Intro\n-- \n";
  for (int i = 0; i < 60; ++i) long_tail += "line " + std::to_string(i) + "\n";
  EXPECT_EQ(split_reply(long_tail).signature, "");
}

TEST(Quote, NeverEmptyWhenEverythingLooksQuoted) {
  auto r = split_reply("> only\n> quoted\n");
  EXPECT_EQ(r.new_text, "> only\n> quoted");
  auto s = split_reply("-- \nonly a signature\n");
  EXPECT_EQ(s.new_text, "-- \nonly a signature");
  EXPECT_EQ(split_reply("").new_text, "");
  EXPECT_EQ(split_reply("\n\n  \n").new_text, "");
}

TEST(Quote, NoFalsePositivesOnOrdinaryText) {
  const char* text =
      "From: the port of Hamburg the cargo moves by rail.\n"
      "On Monday we load; the forwarder wrote the docs.\n"
      "Subject to availability.\n"
      "__init__ is not a separator\n"
      "--\n";
  auto r = split_reply(text);
  EXPECT_EQ(r.new_text,
            "From: the port of Hamburg the cargo moves by rail.\n"
            "On Monday we load; the forwarder wrote the docs.\n"
            "Subject to availability.\n"
            "__init__ is not a separator");
}

TEST(Quote, MailingListFooterIsNotNewText) {
  auto r = split_reply(
      "look in the mods-enabled directory.\n\n"
      "---------------------------------------------------------------------\n"
      "To unsubscribe, e-mail: users-unsubscribe@httpd.apache.org\n"
      "For additional commands, e-mail: users-help@httpd.apache.org\n");
  EXPECT_EQ(r.new_text, "look in the mods-enabled directory.");
  // A rule before ordinary closing lines (an invoice total) is content, not a footer.
  auto invoice = split_reply("Freight 100\nTHC 20\n------------------------\nTotal 120 USD\n");
  EXPECT_EQ(invoice.new_text, "Freight 100\nTHC 20\n------------------------\nTotal 120 USD");
}
