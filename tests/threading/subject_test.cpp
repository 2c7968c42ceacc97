// Threading helpers that need no database: subject normalization, Thread-Index keys, and
// banxway's own Message-IDs.
#include <gtest/gtest.h>

#include "core/crypto.hpp"
#include "pipeline/threading.hpp"

using banxway::pipeline::make_message_id;
using banxway::pipeline::normalize_subject;
using banxway::pipeline::thread_index_key;
using banxway::pipeline::thread_of_own_message_id;

TEST(NormalizeSubject, StripsReplyAndForwardMarkersInManyLanguages) {
  const std::string base = "booking maeu1234 delayed";
  for (const char* s : {"Booking MAEU1234 delayed", "Re: Booking MAEU1234 delayed",
                        "RE: RE: Booking MAEU1234 delayed", "Fwd: Re: Booking MAEU1234 delayed",
                        "FW: Booking MAEU1234 delayed", "AW: Booking MAEU1234 delayed",
                        "WG: AW: Booking MAEU1234 delayed", "SV: Booking MAEU1234 delayed",
                        "RV: Booking MAEU1234 delayed", "TR: Booking MAEU1234 delayed",
                        "Re[2]: Booking MAEU1234 delayed", "Re (3): Booking MAEU1234 delayed",
                        "回复: Booking MAEU1234 delayed", "回复：Booking MAEU1234 delayed",
                        "[ops-list] Re: Booking MAEU1234 delayed",
                        "Re: [ops-list] Booking  MAEU1234\t delayed", "  re:Booking MAEU1234 delayed "})
    EXPECT_EQ(normalize_subject(s), base) << s;
}

TEST(NormalizeSubject, KeepsWordsThatOnlyLookLikePrefixes) {
  EXPECT_EQ(normalize_subject("Request for quote"), "request for quote");
  EXPECT_EQ(normalize_subject("Reefer container booking"), "reefer container booking");
  EXPECT_EQ(normalize_subject("Tracking update: MSKU9070323"), "tracking update: msku9070323");
  EXPECT_EQ(normalize_subject("Re:"), "");
  EXPECT_EQ(normalize_subject(""), "");
}

TEST(ThreadIndex, KeyIsTheConversationRoot) {
  std::string root(22, '\0');
  for (size_t i = 0; i < root.size(); ++i) root[i] = static_cast<char>(i * 7 + 1);
  std::string reply = root + std::string("\x01\x02\x03\x04\x05", 5);
  std::string a = thread_index_key(banxway::crypto::base64_encode(root));
  std::string b = thread_index_key(banxway::crypto::base64_encode(reply));
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, b);
  EXPECT_EQ(thread_index_key("not base64!"), "");
  EXPECT_EQ(thread_index_key(banxway::crypto::base64_encode("short")), "");
}

TEST(OwnMessageIds, CarryTheThread) {
  std::string thread = "0190a0a0-0000-7000-8000-000000000001";
  std::string id = make_message_id(thread, "mail.acme.example");
  EXPECT_EQ(id.rfind("bx." + thread + ".", 0), 0u);
  EXPECT_NE(id.find("@mail.acme.example"), std::string::npos);
  EXPECT_EQ(thread_of_own_message_id(id), thread);
  EXPECT_NE(make_message_id(thread, "x"), make_message_id(thread, "x"));
  EXPECT_FALSE(thread_of_own_message_id("CAF=abc@mail.gmail.com"));
  EXPECT_FALSE(thread_of_own_message_id("bx.not-a-uuid.x@y"));
}
