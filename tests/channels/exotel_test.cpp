// The Exotel adapter: pure parsers/builders (fixtures shaped after PROTOCOLS.md §1) and the
// network calls against bxtest::HttpStub playing Exotel (§1.6).
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>

#include "channels/exotel/exotel.hpp"
#include "channels/messaging/provider.hpp"
#include "core/crypto.hpp"
#include "core/env.hpp"
#include "core/json.hpp"
#include "net/http.hpp"
#include "support/http_stub.hpp"

namespace banxway {
namespace {

using messaging::DeliveryStatus;
namespace ex = exotel;
using namespace std::chrono_literals;

// The adapter under test. Referencing ExotelProvider also links provider.cpp (and with it the
// static registration) into this binary: banxway_static is an archive, whose unreferenced
// objects the linker would drop.
messaging::Provider* exo() {
  static ex::ExotelProvider p;
  return &p;
}

TimePoint utc(std::string_view iso) {
  TimePoint t;
  EXPECT_TRUE(parse_time(iso, &t)) << iso;
  return t;
}

std::map<std::string, std::string> form_map(std::string_view body) {
  auto f = net::form_decode(body);
  EXPECT_TRUE(f.ok()) << body;
  std::map<std::string, std::string> m;
  if (f.ok())
    for (auto& [k, v] : *f) m.emplace(k, v);
  return m;
}

std::string details_field(const Status& st, const char* key) {
  json::Document d;
  if (st.details().empty() || !json::parse(st.details(), &d).ok()) return "";
  return ex::detail::member_text(d, key);
}

// ============================================================================================
// Times
// ============================================================================================

TEST(ExotelTime, V1TimesAreIst) {
  auto t = ex::parse_time("2026-01-15 10:30:00");
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, utc("2026-01-15T05:00:00Z"));
  EXPECT_EQ(*ex::parse_time("2026-01-15T10:30:00+05:30"), utc("2026-01-15T05:00:00Z"));
  EXPECT_EQ(*ex::parse_time("2026-01-15T05:00:00Z"), utc("2026-01-15T05:00:00Z"));
  EXPECT_EQ(*ex::parse_time("1768453200"), utc("2026-01-15T05:00:00Z"));
  EXPECT_EQ(*ex::parse_time("1768453200000"), utc("2026-01-15T05:00:00Z"));
  EXPECT_FALSE(ex::parse_time("1970-01-01 05:30:00"));  // Exotel's "unset"
  EXPECT_FALSE(ex::parse_time(""));
  EXPECT_FALSE(ex::parse_time("null"));
  EXPECT_FALSE(ex::parse_time("yesterday"));
}

// ============================================================================================
// SMS
// ============================================================================================

TEST(ExotelSms, DetailedCodeTable) {
  EXPECT_EQ(ex::sms_status(21010, "queued"), DeliveryStatus::queued);
  EXPECT_EQ(ex::sms_status(21015, "sending"), DeliveryStatus::queued);
  EXPECT_EQ(ex::sms_status(21020, "submitted"), DeliveryStatus::sent);
  EXPECT_EQ(ex::sms_status(20005, "sent"), DeliveryStatus::delivered);
  EXPECT_EQ(ex::sms_status(20006, "sent"), DeliveryStatus::delivered);
  EXPECT_EQ(ex::sms_status(23005, "failed-dnd"), DeliveryStatus::failed);
  EXPECT_EQ(ex::sms_status(23084, "failed"), DeliveryStatus::failed);
  EXPECT_EQ(ex::sms_status(23281, "failed"), DeliveryStatus::failed);
  EXPECT_EQ(ex::sms_status(24990, "failed"), DeliveryStatus::failed);
  EXPECT_EQ(ex::sms_status(20777, ""), DeliveryStatus::sent);      // unknown 2xxxx
  EXPECT_EQ(ex::sms_status(23999, "sent"), DeliveryStatus::failed);  // the code is authoritative
  // Without a code, the top-level Status.
  EXPECT_EQ(ex::sms_status(0, "failed-dnd"), DeliveryStatus::failed);
  EXPECT_EQ(ex::sms_status(0, "failed_dnd"), DeliveryStatus::failed);
  EXPECT_EQ(ex::sms_status(0, "FAILED"), DeliveryStatus::failed);
  EXPECT_EQ(ex::sms_status(0, "undelivered"), DeliveryStatus::failed);
  EXPECT_EQ(ex::sms_status(0, "expired"), DeliveryStatus::failed);
  EXPECT_EQ(ex::sms_status(0, "delivered"), DeliveryStatus::delivered);
  EXPECT_EQ(ex::sms_status(0, "sent"), DeliveryStatus::sent);
  EXPECT_EQ(ex::sms_status(0, "submitted"), DeliveryStatus::sent);
  EXPECT_EQ(ex::sms_status(0, "queued"), DeliveryStatus::queued);
  EXPECT_EQ(ex::sms_status(0, "sending"), DeliveryStatus::queued);
}

messaging::ProviderAccount sms_account() {
  messaging::ProviderAccount a;
  a.provider = "exotel";
  a.channel = "sms";
  a.from = "BWXHUB";
  a.account_sid = "acme1";
  a.api_key = "KEY_5f0e9d";
  a.api_token = "TOKEN_9c8b7a";
  a.dlt_entity_id = "1101000000000000001";
  a.sms_type = "transactional";
  return a;
}

TEST(ExotelSms, BuildFormUsesAccountDefaultsAndMessageOverrides) {
  messaging::OutboundMessage m;
  m.to = "+919800000001";
  m.text = "Your shipment BWX123 is out for delivery & 50% done";
  m.reference = "msg-01HZX";
  m.status_callback_url = "https://hub.example.com/hooks/exotel/sms?t=abc";
  m.dlt_template_id = "1107000000000000042";
  auto f = ex::build_sms_form(sms_account(), m);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  auto fm = form_map(net::form_encode(*f));
  EXPECT_EQ(fm["From"], "BWXHUB");
  EXPECT_EQ(fm["To"], "+919800000001");
  EXPECT_EQ(fm["Body"], m.text);
  EXPECT_EQ(fm["CustomField"], "msg-01HZX");
  EXPECT_EQ(fm["StatusCallback"], m.status_callback_url);
  EXPECT_EQ(fm["DltEntityId"], "1101000000000000001");
  EXPECT_EQ(fm["DltTemplateId"], "1107000000000000042");
  EXPECT_EQ(fm["SmsType"], "transactional");

  m.from = "BWXOPS";
  m.sms_type = "promotional";
  m.status_callback_url.clear();
  m.reference.clear();
  fm = form_map(net::form_encode(*ex::build_sms_form(sms_account(), m)));
  EXPECT_EQ(fm["From"], "BWXOPS");
  EXPECT_EQ(fm["SmsType"], "promotional");
  EXPECT_EQ(fm.count("StatusCallback"), 0u);
  EXPECT_EQ(fm.count("CustomField"), 0u);

  m.to.clear();
  auto bad = ex::build_sms_form(sms_account(), m);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::invalid_argument);
  EXPECT_NE(bad.status().message().find("To"), std::string::npos);
  m.to = "+919800000001";
  m.text.clear();
  EXPECT_EQ(ex::build_sms_form(sms_account(), m).status().code(), Code::invalid_argument);
  // The 2000 limit counts characters, not UTF-8 bytes.
  m.text.clear();
  for (int i = 0; i < 2000; ++i) m.text += "\u0915";  // Devanagari KA, 3 bytes
  EXPECT_TRUE(ex::build_sms_form(sms_account(), m).ok());
  m.text += "x";
  EXPECT_EQ(ex::build_sms_form(sms_account(), m).status().code(), Code::invalid_argument);
}

constexpr const char* kSmsReply = R"({"SMSMessage": {
  "Sid": "b6cf0e2", "AccountSid": "acme1", "From": "BWXHUB", "To": "+919800000001",
  "DateCreated": "2026-01-15 10:30:00", "DateUpdated": "2026-01-15 10:30:00", "DateSent": null,
  "Body": "Your shipment BWX123 is out for delivery", "Direction": "outbound-api",
  "Uri": "/v1/Accounts/acme1/SMS/Messages/b6cf0e2", "ApiVersion": null, "Price": null,
  "Status": "queued", "DetailedStatusCode": 21010, "DetailedStatus": "PENDING_TO_OPERATOR",
  "SmsUnits": null }})";

TEST(ExotelSms, SendReplyObjectAndArrayForms) {
  auto r = ex::parse_sms_send_response(kSmsReply);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->provider_id, "b6cf0e2");
  EXPECT_EQ(r->status, DeliveryStatus::queued);

  r = ex::parse_sms_send_response(
      R"({"SMSMessage":[{"Sid":"s1","Status":"queued"},{"Sid":"s2","Status":"queued"}]})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->provider_id, "s1");
  r = ex::parse_sms_send_response(R"([{"SMSMessage":{"Sid":"s3","Status":"queued"}}])");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->provider_id, "s3");
  r = ex::parse_sms_send_response(R"({"SMSMessage":[{"SMSMessage":{"Sid":"s4"}}]})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->provider_id, "s4");

  EXPECT_FALSE(ex::parse_sms_send_response(R"({"SMSMessage":{"Status":"queued"}})").ok());
  EXPECT_FALSE(ex::parse_sms_send_response("<TwilioResponse/>").ok());
}

TEST(ExotelSms, DetailsAndNoMatchingResults) {
  auto u = ex::parse_sms_details(R"({"SMSMessage":{"Sid":"b6cf0e2","Status":"sent",
      "DetailedStatusCode":20005,"DetailedStatus":"DELIVERED_TO_HANDSET",
      "DateSent":"2026-01-15 10:31:05","Price":"0.20"}})");
  ASSERT_TRUE(u.ok()) << u.status().to_string();
  EXPECT_EQ(u->provider, "exotel");
  EXPECT_EQ(u->provider_id, "b6cf0e2");
  EXPECT_EQ(u->status, DeliveryStatus::delivered);
  EXPECT_EQ(u->provider_status, "DELIVERED_TO_HANDSET");
  ASSERT_TRUE(u->timestamp);
  EXPECT_EQ(*u->timestamp, utc("2026-01-15T05:01:05Z"));

  auto nf = ex::parse_sms_details("No matching results");
  EXPECT_EQ(nf.status().code(), Code::not_found);
  nf = ex::parse_sms_details(R"({"RestException":{"Status":200,"Message":"No matching results"}})");
  EXPECT_EQ(nf.status().code(), Code::not_found);
}

TEST(ExotelSms, FormDlrDelivered) {
  auto u = ex::parse_sms_dlr(
      "application/x-www-form-urlencoded",
      "SmsSid=b6cf0e2&To=%2B919800000001&Status=sent&SmsUnits=1&DetailedStatus="
      "DELIVERED_TO_HANDSET&DetailedStatusCode=20005&DateSent=2026-01-15+10%3A31%3A05&"
      "CustomField=msg-01HZX&Unknown=ignored");
  ASSERT_TRUE(u.ok()) << u.status().to_string();
  EXPECT_EQ(u->provider_id, "b6cf0e2");
  EXPECT_EQ(u->status, DeliveryStatus::delivered);
  EXPECT_EQ(u->reference, "msg-01HZX");
  EXPECT_EQ(u->provider_status, "DELIVERED_TO_HANDSET");
  EXPECT_TRUE(u->error_code.empty());
  ASSERT_TRUE(u->timestamp);
  EXPECT_EQ(*u->timestamp, utc("2026-01-15T05:01:05Z"));
}

TEST(ExotelSms, FailedDndBothSpellings) {
  for (const char* s : {"failed-dnd", "failed_dnd"}) {
    auto u = ex::parse_sms_dlr("application/x-www-form-urlencoded",
                               std::string("SmsSid=x1&Status=") + s);
    ASSERT_TRUE(u.ok()) << s;
    EXPECT_EQ(u->status, DeliveryStatus::failed) << s;
    EXPECT_EQ(u->error_code, s);
  }
  auto u = ex::parse_sms_dlr("application/x-www-form-urlencoded",
                             "SmsSid=x2&Status=failed_dnd&DetailedStatusCode=23005&"
                             "DetailedStatus=FAILED_REJECTED_DND");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->status, DeliveryStatus::failed);
  EXPECT_EQ(u->error_code, "23005");
  EXPECT_EQ(u->error_message, "FAILED_REJECTED_DND");
}

TEST(ExotelSms, JsonDlrFallbackWithExoStatusCode) {
  // JSON body (newer docs), even when labelled as a form.
  const char* body =
      R"({"SmsSid":"j1","Status":"failed","ExoStatusCode":23010,"DetailedStatus":"FAILED_INVALID_DESTINATION_NUMBER","DateSent":"2026-01-15 10:31:05","CustomField":"ref9","Extra":{"a":1}})";
  for (const char* ct : {"application/json", "application/x-www-form-urlencoded", ""}) {
    auto u = ex::parse_sms_dlr(ct, body);
    ASSERT_TRUE(u.ok()) << ct << ": " << u.status().to_string();
    EXPECT_EQ(u->provider_id, "j1");
    EXPECT_EQ(u->status, DeliveryStatus::failed);
    EXPECT_EQ(u->error_code, "23010");
    EXPECT_EQ(u->reference, "ref9");
  }
}

TEST(ExotelSms, MultipartDlr) {
  std::string body =
      "--XyZ\r\nContent-Disposition: form-data; name=\"SmsSid\"\r\n\r\nm1\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"Status\"\r\n\r\nsubmitted\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"DetailedStatusCode\"\r\n\r\n21020\r\n"
      "--XyZ--\r\n";
  auto u = ex::parse_sms_dlr("multipart/form-data; boundary=XyZ", body);
  ASSERT_TRUE(u.ok()) << u.status().to_string();
  EXPECT_EQ(u->provider_id, "m1");
  EXPECT_EQ(u->status, DeliveryStatus::sent);
}

TEST(ExotelSms, MalformedDlrNamesTheField) {
  auto u = ex::parse_sms_dlr("application/x-www-form-urlencoded", "Status=sent&DetailedStatusCode=20005");
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.status().code(), Code::invalid_argument);
  EXPECT_NE(u.status().message().find("SmsSid: missing"), std::string::npos) << u.status().message();
  u = ex::parse_sms_dlr("application/x-www-form-urlencoded", "SmsSid=a1");
  ASSERT_FALSE(u.ok());
  EXPECT_NE(u.status().message().find("Status: missing"), std::string::npos);
  u = ex::parse_sms_dlr("application/x-www-form-urlencoded", "SmsSid=%zz");
  EXPECT_EQ(u.status().code(), Code::invalid_argument);
  u = ex::parse_sms_dlr("application/json", "{\"SmsSid\": ");
  EXPECT_EQ(u.status().code(), Code::invalid_argument);
}

// ============================================================================================
// WhatsApp: building and reading the send call
// ============================================================================================

messaging::ProviderAccount wa_account() {
  messaging::ProviderAccount a = sms_account();
  a.channel = "whatsapp";
  a.from = "+919000000001";
  return a;
}

json::Document parse_json(std::string_view s) {
  json::Document d;
  EXPECT_TRUE(json::parse(s, &d).ok()) << s;
  return d;
}

const json::Value& first_message(const json::Document& d) {
  return d["whatsapp"]["messages"][0];
}

TEST(ExotelWhatsApp, BuildTextEnvelope) {
  messaging::OutboundMessage m;
  m.to = "+919800000002";
  m.text = "Booking BWX123 confirmed.";
  m.reference = "msg-01HZX";
  m.status_callback_url = "https://hub.example.com/hooks/exotel/wa?t=TOKEN";
  auto body = ex::build_whatsapp_request(wa_account(), m);
  ASSERT_TRUE(body.ok()) << body.status().to_string();
  auto d = parse_json(*body);
  EXPECT_STREQ(d["custom_data"].GetString(), "msg-01HZX");
  EXPECT_STREQ(d["status_callback"].GetString(), m.status_callback_url.c_str());
  ASSERT_EQ(d["whatsapp"]["messages"].Size(), 1u);
  const auto& msg = first_message(d);
  EXPECT_STREQ(msg["custom_data"].GetString(), "msg-01HZX");
  EXPECT_STREQ(msg["from"].GetString(), "+919000000001");
  EXPECT_STREQ(msg["to"].GetString(), "+919800000002");
  EXPECT_STREQ(msg["content"]["type"].GetString(), "text");
  EXPECT_STREQ(msg["content"]["text"]["body"].GetString(), "Booking BWX123 confirmed.");
  EXPECT_FALSE(msg["content"]["text"]["preview_url"].GetBool());
}

TEST(ExotelWhatsApp, BuildMediaByLink) {
  messaging::OutboundMessage m;
  m.to = "+919800000002";
  m.media = messaging::Media{.kind = "document", .url = "https://files.example.com/bl.pdf",
                             .filename = "bl.pdf", .caption = "Draft B/L"};
  auto d = parse_json(*ex::build_whatsapp_request(wa_account(), m));
  const auto& c = first_message(d)["content"];
  EXPECT_STREQ(c["type"].GetString(), "document");
  EXPECT_STREQ(c["document"]["link"].GetString(), "https://files.example.com/bl.pdf");
  EXPECT_STREQ(c["document"]["filename"].GetString(), "bl.pdf");
  EXPECT_STREQ(c["document"]["caption"].GetString(), "Draft B/L");

  m.media = messaging::Media{.kind = "image", .url = "https://files.example.com/c.jpg"};
  m.text = "Container photo";
  d = parse_json(*ex::build_whatsapp_request(wa_account(), m));
  EXPECT_STREQ(first_message(d)["content"]["image"]["caption"].GetString(), "Container photo");

  m.media = messaging::Media{.kind = "audio", .url = "https://files.example.com/a.ogg",
                             .caption = "ignored"};
  d = parse_json(*ex::build_whatsapp_request(wa_account(), m));
  EXPECT_FALSE(first_message(d)["content"]["audio"].HasMember("caption"));

  for (const char* kind : {"video", "sticker"}) {
    m.media = messaging::Media{.kind = kind, .url = "https://files.example.com/x"};
    d = parse_json(*ex::build_whatsapp_request(wa_account(), m));
    EXPECT_STREQ(first_message(d)["content"]["type"].GetString(), kind);
    EXPECT_TRUE(first_message(d)["content"][kind].HasMember("link"));
  }

  m.media = messaging::Media{.kind = "hologram", .url = "https://files.example.com/x"};
  EXPECT_EQ(ex::build_whatsapp_request(wa_account(), m).status().code(), Code::invalid_argument);
  m.media = messaging::Media{.kind = "image", .media_id = "123"};
  EXPECT_EQ(ex::build_whatsapp_request(wa_account(), m).status().code(), Code::invalid_argument);
}

TEST(ExotelWhatsApp, BuildTemplateWithHeaderMediaAndBodyParams) {
  messaging::OutboundMessage m;
  m.to = "+919800000002";
  m.from = "+919000000009";
  messaging::TemplateMessage t;
  t.name = "booking_update";
  t.language = "en_US";
  t.body_params = {"BWX123", "Nhava Sheva"};
  t.header_media = messaging::Media{.kind = "document", .url = "https://files.example.com/bl.pdf",
                                    .filename = "bl.pdf"};
  m.template_message = t;
  auto d = parse_json(*ex::build_whatsapp_request(wa_account(), m));
  const auto& msg = first_message(d);
  EXPECT_STREQ(msg["from"].GetString(), "+919000000009");
  const auto& tpl = msg["content"]["template"];
  EXPECT_STREQ(msg["content"]["type"].GetString(), "template");
  EXPECT_STREQ(tpl["name"].GetString(), "booking_update");
  EXPECT_STREQ(tpl["language"]["code"].GetString(), "en_US");
  ASSERT_EQ(tpl["components"].Size(), 2u);
  const auto& header = tpl["components"][0];
  EXPECT_STREQ(header["type"].GetString(), "header");
  EXPECT_STREQ(header["parameters"][0]["type"].GetString(), "document");
  EXPECT_STREQ(header["parameters"][0]["document"]["link"].GetString(),
               "https://files.example.com/bl.pdf");
  EXPECT_STREQ(header["parameters"][0]["document"]["filename"].GetString(), "bl.pdf");
  const auto& bodyc = tpl["components"][1];
  EXPECT_STREQ(bodyc["type"].GetString(), "body");
  ASSERT_EQ(bodyc["parameters"].Size(), 2u);
  EXPECT_STREQ(bodyc["parameters"][1]["type"].GetString(), "text");
  EXPECT_STREQ(bodyc["parameters"][1]["text"].GetString(), "Nhava Sheva");
  EXPECT_FALSE(d.HasMember("custom_data"));

  // No parameters, no header: an empty components list.
  m.template_message = messaging::TemplateMessage{.name = "hello_world"};
  d = parse_json(*ex::build_whatsapp_request(wa_account(), m));
  EXPECT_EQ(first_message(d)["content"]["template"]["components"].Size(), 0u);
  EXPECT_STREQ(first_message(d)["content"]["template"]["language"]["code"].GetString(), "en");

  m.template_message = messaging::TemplateMessage{};
  EXPECT_EQ(ex::build_whatsapp_request(wa_account(), m).status().code(), Code::invalid_argument);
}

TEST(ExotelWhatsApp, BuildRejectsNothingToSend) {
  messaging::OutboundMessage m;
  m.to = "+919800000002";
  EXPECT_EQ(ex::build_whatsapp_request(wa_account(), m).status().code(), Code::invalid_argument);
  m.text = "hi";
  m.to.clear();
  EXPECT_EQ(ex::build_whatsapp_request(wa_account(), m).status().code(), Code::invalid_argument);
}

TEST(ExotelWhatsApp, SendReplySuccessAndFailureElements) {
  auto r = ex::parse_whatsapp_send_response(R"({ "request_id": "2d9c", "method": "POST",
    "http_code": 202, "response": { "whatsapp": { "messages": [
     { "code": 202, "status": "success", "error_data": null,
       "data": { "sid": "2FdiiEQUosckPhpZfuVwfjxiSlc16a4" } } ] } } })");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->provider_id, "2FdiiEQUosckPhpZfuVwfjxiSlc16a4");
  EXPECT_EQ(r->status, DeliveryStatus::queued);

  auto f = ex::parse_whatsapp_send_response(R"({"http_code":202,"response":{"whatsapp":{"messages":[
     {"code":400,"status":"failure","error_data":{"code":1002,"description":"Invalid to number","message":"Bad request"},"data":null}]}}})");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Code::invalid_argument);
  EXPECT_NE(f.status().message().find("1002"), std::string::npos) << f.status().message();
  EXPECT_NE(f.status().message().find("Invalid to number"), std::string::npos);
  EXPECT_EQ(details_field(f.status(), "provider_code"), "1002");

  f = ex::parse_whatsapp_send_response(R"({"response":{"whatsapp":{"messages":[
     {"code":429,"status":"failure","error_data":{"message":"Too many requests"}}]}}})");
  EXPECT_EQ(f.status().code(), Code::unavailable);
  EXPECT_EQ(details_field(f.status(), "provider_code"), "429");
  f = ex::parse_whatsapp_send_response(R"({"response":{"whatsapp":{"messages":[
     {"code":503,"status":"failure","error_data":"upstream down"}]}}})");
  EXPECT_EQ(f.status().code(), Code::unavailable);
  EXPECT_NE(f.status().message().find("upstream down"), std::string::npos);

  EXPECT_FALSE(ex::parse_whatsapp_send_response(R"({"response":{"whatsapp":{"messages":[
     {"code":202,"status":"success","data":{}}]}}})").ok());
  EXPECT_EQ(ex::parse_whatsapp_send_response(R"({"response":{}})").status().code(), Code::internal);
  // A request-level refusal inside a 2xx reply.
  f = ex::parse_whatsapp_send_response(
      R"({"http_code":200,"response":{"code":400,"status":"failure","error_data":{"code":1001,"description":"At least one channel is mandatory"}}})");
  EXPECT_EQ(f.status().code(), Code::invalid_argument);
  EXPECT_EQ(details_field(f.status(), "provider_code"), "1001");
}

// ============================================================================================
// WhatsApp webhooks
// ============================================================================================

TEST(ExotelWhatsApp, StatusStringsAndCodes) {
  using DS = DeliveryStatus;
  EXPECT_EQ(ex::whatsapp_status_from_string("EX_MESSAGE_SENT"), DS::sent);
  EXPECT_EQ(ex::whatsapp_status_from_string("EX_MESSAGE_DELIVERED"), DS::delivered);
  EXPECT_EQ(ex::whatsapp_status_from_string("EX_MESSAGE_SEEN"), DS::read);
  EXPECT_EQ(ex::whatsapp_status_from_string("ex_message_read"), DS::read);
  for (const char* s : {"EX_SYSTEM_ERROR", "EX_NUMBER_ERROR", "EX_RATE_LIMIT_HIT",
                        "EX_TOO_MANY_REQUEST", "EX_INVALID_REQUEST", "EX_INCAPABLE_RECIPIENT",
                        "EX_RECIPIENT_BLOCKED", "EX_UNSUPPORTED_MESSAGE", "EX_REENGAGEMENT_ERROR",
                        "EX_INVALID_PARAM", "EX_MISSING_PARAM", "EX_TEMPLATE_PARAM_ERROR",
                        "EX_RESTRICTED_BY_META", "EX_MESSAGE_FAILED"})
    EXPECT_EQ(ex::whatsapp_status_from_string(s), DS::failed) << s;
  EXPECT_FALSE(ex::whatsapp_status_from_string("EX_ALREADY_QUEUED"));
  EXPECT_FALSE(ex::whatsapp_status_from_string(""));
  EXPECT_EQ(ex::whatsapp_status_from_code(30001), DS::sent);
  EXPECT_EQ(ex::whatsapp_status_from_code(30002), DS::delivered);
  EXPECT_EQ(ex::whatsapp_status_from_code(30003), DS::read);
  EXPECT_EQ(ex::whatsapp_status_from_code(30013), DS::failed);
  EXPECT_FALSE(ex::whatsapp_status_from_code(200));
}

TEST(ExotelWhatsApp, DlrBatchOutOfOrder) {
  // Read before sent before delivered: every element is reported as it is; ordering is the
  // pipeline's business (ranks only move forward).
  auto b = ex::parse_whatsapp_webhook(R"({"whatsapp":{"messages":[
    {"callback_type":"dlr","sid":"W1","to":"+919800000002","exo_status_code":30003,
     "exo_detailed_status":"EX_MESSAGE_SEEN","description":"Message seen",
     "timestamp":"2026-01-15T10:32:00+05:30","custom_data":"msg-01HZX"},
    {"callback_type":"dlr","sid":"W1","exo_status_code":30001,"exo_detailed_status":"EX_MESSAGE_SENT",
     "timestamp":"2026-01-15T10:30:00+05:30","custom_data":"msg-01HZX"},
    {"callback_type":"dlr","sid":"W1","exo_status_code":30002,"exo_detailed_status":"EX_MESSAGE_DELIVERED",
     "timestamp":"2026-01-15T10:31:00+05:30","custom_data":"msg-01HZX","new_field":[1,2]},
    {"callback_type":"dlr","sid":"W2","exo_status_code":30018,"exo_detailed_status":"EX_REENGAGEMENT_ERROR",
     "description":"Outside the 24h window"},
    {"callback_type":"dlr","sid":"W3","exo_status_code":30013},
    {"callback_type":"dlr","sid":"W4","exo_status_code":31999,"exo_detailed_status":"EX_SOMETHING_NEW"}
  ]}})");
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  ASSERT_EQ(b->statuses.size(), 6u);
  EXPECT_TRUE(b->messages.empty());
  const auto& s = b->statuses;
  EXPECT_EQ(s[0].status, DeliveryStatus::read);
  EXPECT_EQ(s[0].provider_status, "EX_MESSAGE_SEEN");
  EXPECT_EQ(s[0].reference, "msg-01HZX");
  EXPECT_EQ(s[0].provider, "exotel");
  ASSERT_TRUE(s[0].timestamp);
  EXPECT_EQ(*s[0].timestamp, utc("2026-01-15T05:02:00Z"));
  EXPECT_EQ(s[1].status, DeliveryStatus::sent);
  EXPECT_EQ(s[2].status, DeliveryStatus::delivered);
  EXPECT_GT(messaging::status_rank(s[0].status), messaging::status_rank(s[2].status));
  EXPECT_EQ(s[3].status, DeliveryStatus::failed);
  EXPECT_EQ(s[3].error_code, "30018");
  EXPECT_EQ(s[3].error_message, "Outside the 24h window");
  EXPECT_EQ(s[4].status, DeliveryStatus::failed);  // by code when no string
  EXPECT_EQ(s[4].provider_status, "30013");
  EXPECT_EQ(s[5].status, DeliveryStatus::queued);  // unknown: lowest rank = unchanged
  EXPECT_EQ(s[5].provider_status, "EX_SOMETHING_NEW");
}

TEST(ExotelWhatsApp, InboundIcmAndIncomingMessage) {
  auto b = ex::parse_whatsapp_webhook(R"({"whatsapp":{"messages":[
    {"callback_type":"icm","sid":"IN1","from":"+919800000002","to":"+919000000001",
     "profile_name":"Ravi","timestamp":"2026-01-15T10:40:00+05:30",
     "content":{"type":"text","text":{"body":"Where is my container?"},
                "context":{"id":"2FdiiEQUosckPhpZfuVwfjxiSlc16a4"}}},
    {"callback_type":"incoming_message","sid":"IN2","from":"+919800000002","to":"+919000000001",
     "content":{"type":"image","image":{"url":"https://media.exotel.com/m/abc.jpg","caption":"Damage",
                "mime_type":"image/jpeg"}}},
    {"sid":"IN3","from":"+919800000002","content":{"type":"document","document":{
       "url":"https://media.exotel.com/m/inv.pdf","filename":"invoice.pdf"}}},
    {"callback_type":"incoming_message","sid":"IN4","from":"+919800000002","content":{"type":"location",
       "location":{"latitude":19.076,"longitude":72.8777,"name":"JNPT","address":"Navi Mumbai"}}},
    {"callback_type":"incoming_message","sid":"IN5","from":"+919800000002","content":{"type":"button",
       "button":{"payload":"CONFIRM_BWX123","text":"Confirm"}}},
    {"callback_type":"incoming_message","sid":"IN6","from":"+919800000002","content":{"type":"interactive",
       "interactive":{"type":"list_reply","list_reply":{"id":"opt2","title":"Reschedule"}}}},
    {"callback_type":"incoming_message","sid":"IN7","from":"+919800000002","content":{"type":"contacts",
       "contacts":[{"name":{"formatted_name":"Asha CHA"},"phones":[{"phone":"+919811111111"}]}]}},
    {"callback_type":"incoming_message","sid":"IN8","from":"+919800000002","content":{"type":"audio",
       "audio":{"url":"https://media.exotel.com/m/v.ogg","voice":true}}},
    {"callback_type":"incoming_message","sid":"IN9","from":"+919800000002","content":{"type":"unsupported",
       "error":{"code":131051,"description":"Message type unknown"}}},
    {"callback_type":"billing","sid":"X"}
  ]}})");
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  ASSERT_EQ(b->messages.size(), 9u);
  EXPECT_TRUE(b->statuses.empty());
  const auto& m = b->messages;
  EXPECT_EQ(m[0].provider_id, "IN1");
  EXPECT_EQ(m[0].channel, "whatsapp");
  EXPECT_EQ(m[0].provider, "exotel");
  EXPECT_EQ(m[0].from, "+919800000002");
  EXPECT_EQ(m[0].to, "+919000000001");
  EXPECT_EQ(m[0].profile_name, "Ravi");
  EXPECT_EQ(m[0].content_type, "text");
  EXPECT_EQ(m[0].text, "Where is my container?");
  EXPECT_EQ(m[0].reply_to_provider_id, "2FdiiEQUosckPhpZfuVwfjxiSlc16a4");
  ASSERT_TRUE(m[0].timestamp);
  EXPECT_EQ(*m[0].timestamp, utc("2026-01-15T05:10:00Z"));

  EXPECT_EQ(m[1].content_type, "image");
  ASSERT_EQ(m[1].media.size(), 1u);
  EXPECT_EQ(m[1].media[0].kind, "image");
  EXPECT_EQ(m[1].media[0].url, "https://media.exotel.com/m/abc.jpg");
  EXPECT_EQ(m[1].media[0].caption, "Damage");
  EXPECT_EQ(m[1].media[0].media_type, "image/jpeg");
  EXPECT_EQ(m[1].text, "Damage");

  EXPECT_EQ(m[2].content_type, "document");  // no callback_type: from + content → inbound
  EXPECT_EQ(m[2].media[0].filename, "invoice.pdf");

  EXPECT_EQ(m[3].content_type, "location");
  EXPECT_EQ(m[3].text, "JNPT, Navi Mumbai (19.076,72.8777)");
  EXPECT_EQ(m[4].content_type, "button");
  EXPECT_EQ(m[4].text, "Confirm");
  EXPECT_EQ(m[5].content_type, "interactive");
  EXPECT_EQ(m[5].text, "Reschedule");
  EXPECT_EQ(m[6].content_type, "contacts");
  EXPECT_EQ(m[6].text, "Asha CHA (+919811111111)");
  EXPECT_EQ(m[7].content_type, "audio");
  EXPECT_TRUE(m[7].media[0].voice_note);
  EXPECT_EQ(m[8].content_type, "unsupported");
  EXPECT_EQ(m[8].text, "Message type unknown");
}

TEST(ExotelWhatsApp, MixedBatchAndInboundWithoutSid) {
  const char* body = R"({"whatsapp":{"messages":[
    {"callback_type":"dlr","sid":"W1","exo_status_code":30002,"exo_detailed_status":"EX_MESSAGE_DELIVERED"},
    {"callback_type":"incoming_message","from":"+919800000002","timestamp":"2026-01-15T10:40:00+05:30",
     "content":{"type":"text","text":{"body":"ok"}}}]}})";
  auto b = ex::parse_whatsapp_webhook(body);
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->statuses.size(), 1u);
  ASSERT_EQ(b->messages.size(), 1u);
  EXPECT_TRUE(b->messages[0].provider_id.starts_with("exo-"));
  // Stable across redeliveries.
  EXPECT_EQ(ex::parse_whatsapp_webhook(body)->messages[0].provider_id, b->messages[0].provider_id);
}

TEST(ExotelWhatsApp, MalformedWebhooksNameTheField) {
  auto b = ex::parse_whatsapp_webhook(R"({"whatsapp":{"messages":[
    {"callback_type":"dlr","sid":"W1","exo_detailed_status":"EX_MESSAGE_SENT"},
    {"callback_type":"dlr","sid":"W1","exo_detailed_status":"EX_MESSAGE_DELIVERED"},
    {"callback_type":"dlr","exo_detailed_status":"EX_MESSAGE_SEEN"}]}})");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), Code::invalid_argument);
  EXPECT_EQ(b.status().message(), "whatsapp.messages[2].sid: missing");

  b = ex::parse_whatsapp_webhook(R"({"whatsapp":{"messages":[{"callback_type":"dlr","sid":"W1"}]}})");
  EXPECT_EQ(b.status().message(), "whatsapp.messages[0].exo_detailed_status: missing");
  b = ex::parse_whatsapp_webhook(R"({"whatsapp":{"messages":[{"callback_type":"icm","sid":"I","content":{"type":"text","text":{"body":"x"}}}]}})");
  EXPECT_EQ(b.status().message(), "whatsapp.messages[0].from: missing");
  b = ex::parse_whatsapp_webhook(R"({"whatsapp":{"messages":[{"callback_type":"icm","sid":"I","from":"+91"}]}})");
  EXPECT_EQ(b.status().message(), "whatsapp.messages[0].content: missing");
  b = ex::parse_whatsapp_webhook(R"({"whatsapp":{"messages":[{"callback_type":"icm","sid":"I","from":"+91","content":{"type":"image","image":{"caption":"x"}}}]}})");
  EXPECT_EQ(b.status().message(), "whatsapp.messages[0].content.image.url: missing");
  b = ex::parse_whatsapp_webhook(R"({"whatsapp":{}})");
  EXPECT_EQ(b.status().message(), "whatsapp.messages: missing");
  b = ex::parse_whatsapp_webhook(R"({"event":"incoming_message","message":{}})");
  EXPECT_EQ(b.status().message(), "whatsapp: missing");
  b = ex::parse_whatsapp_webhook(R"({"whatsapp":{"messages":[)");
  EXPECT_EQ(b.status().code(), Code::invalid_argument);
  b = ex::parse_whatsapp_webhook("t=1&x=2");
  EXPECT_EQ(b.status().code(), Code::invalid_argument);
  // An empty list is a valid, empty batch.
  b = ex::parse_whatsapp_webhook(R"({"whatsapp":{"messages":[]}})");
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->messages.empty() && b->statuses.empty());
}

// ============================================================================================
// Voice
// ============================================================================================

TEST(ExotelVoice, BuildConnectForm) {
  messaging::ProviderAccount a = sms_account();
  a.channel = "voice";
  a.from = "08030000000";
  messaging::CallRequest r{.from = "09800000001", .to = "09800000002", .record = true,
                           .time_limit_seconds = 600, .reference = "call-ref-1",
                           .status_callback_url = "https://hub.example.com/hooks/exotel/voice?t=x"};
  auto f = ex::build_call_form(a, r);
  ASSERT_TRUE(f.ok());
  auto fm = form_map(net::form_encode(*f));
  EXPECT_EQ(fm["From"], "09800000001");
  EXPECT_EQ(fm["To"], "09800000002");
  EXPECT_EQ(fm["CallerId"], "08030000000");
  EXPECT_EQ(fm["Record"], "true");
  EXPECT_EQ(fm["TimeLimit"], "600");
  EXPECT_EQ(fm["CustomField"], "call-ref-1");
  EXPECT_EQ(fm["StatusCallback"], r.status_callback_url);
  EXPECT_EQ(fm["StatusCallbackEvents[0]"], "terminal");
  EXPECT_EQ(fm["StatusCallbackEvents[1]"], "answered");
  EXPECT_EQ(fm["StatusCallbackContentType"], "application/json");
  r.caller_id = "08030000009";
  EXPECT_EQ(form_map(net::form_encode(*ex::build_call_form(a, r)))["CallerId"], "08030000009");
  r.to.clear();
  EXPECT_EQ(ex::build_call_form(a, r).status().code(), Code::invalid_argument);
}

TEST(ExotelVoice, CallReplyAndDetails) {
  auto r = ex::parse_call_response(R"({"Call": {"Sid":"c5797d8a","ParentCallSid":null,
    "DateCreated":"2026-01-15 10:48:33","AccountSid":"acme1","To":"09800000002",
    "From":"09800000001","Status":"in-progress","StartTime":"2026-01-15 10:48:33",
    "EndTime":null,"Direction":"outbound-api","RecordingUrl":null}})");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->call_id, "c5797d8a");
  EXPECT_EQ(r->status, "in-progress");

  auto u = ex::parse_call_details(R"({"Call": {"Sid":"c5797d8a","To":"09800000002",
    "From":"09800000001","Status":"completed","StartTime":"2026-01-15 10:48:33",
    "EndTime":"2026-01-15 10:52:03","Duration":210,"Direction":"outbound-api",
    "RecordingUrl":"https://recordings.exotel.com/exotelrecordings/acme1/c5797d8a.mp3",
    "Details":{"ConversationDuration":180,"Leg1Status":"completed","Leg2Status":"completed",
      "Legs":[{"Leg":{"Id":1,"OnCallDuration":200}},{"Leg":{"Id":2,"OnCallDuration":180}}]}}})");
  ASSERT_TRUE(u.ok()) << u.status().to_string();
  EXPECT_EQ(u->call_id, "c5797d8a");
  EXPECT_EQ(u->status, "completed");
  EXPECT_EQ(u->direction, "outbound");
  EXPECT_EQ(u->duration_seconds, 180);
  EXPECT_EQ(u->recording_url, "https://recordings.exotel.com/exotelrecordings/acme1/c5797d8a.mp3");
  ASSERT_TRUE(u->started_at && u->ended_at);
  EXPECT_EQ(*u->started_at, utc("2026-01-15T05:18:33Z"));
  EXPECT_EQ(*u->ended_at, utc("2026-01-15T05:22:03Z"));
}

void expect_terminal_callback(const Result<messaging::CallUpdate>& u) {
  ASSERT_TRUE(u.ok()) << u.status().to_string();
  EXPECT_EQ(u->provider, "exotel");
  EXPECT_EQ(u->call_id, "c5797d8a");
  EXPECT_EQ(u->status, "completed");
  EXPECT_EQ(u->event_type, "terminal");
  EXPECT_EQ(u->from, "09800000001");
  EXPECT_EQ(u->to, "09800000002");
  EXPECT_EQ(u->direction, "outbound");
  EXPECT_EQ(u->duration_seconds, 95);
  EXPECT_EQ(u->answered_by, "human");
  EXPECT_EQ(u->recording_url, "https://recordings.exotel.com/exotelrecordings/acme1/c5797d8a.mp3");
  EXPECT_EQ(u->reference, "call-ref-1");
  ASSERT_TRUE(u->started_at);
  EXPECT_EQ(*u->started_at, utc("2026-01-15T05:18:33Z"));
  ASSERT_TRUE(u->ended_at);
  EXPECT_EQ(*u->ended_at, utc("2026-01-15T05:20:20Z"));
}

TEST(ExotelVoice, CallbackJson) {
  expect_terminal_callback(ex::parse_voice_callback("application/json", R"({
    "CallSid":"c5797d8a","EventType":"terminal","Status":"completed",
    "DateCreated":"2026-01-15 10:48:33","DateUpdated":"2026-01-15 10:50:30",
    "To":"09800000002","From":"09800000001","PhoneNumberSid":"08030000000",
    "StartTime":"2026-01-15 10:48:33","EndTime":"2026-01-15 10:50:20",
    "ConversationDuration":95,"Direction":"outbound-api","CustomField":"call-ref-1",
    "RecordingUrl":"https://recordings.exotel.com/exotelrecordings/acme1/c5797d8a.mp3",
    "Legs":[{"OnCallDuration":110,"Status":"completed"},
            {"OnCallDuration":95,"Status":"completed","AnsweredBy":"HUMAN"}]})"));
}

TEST(ExotelVoice, CallbackFormEncoded) {
  expect_terminal_callback(ex::parse_voice_callback(
      "application/x-www-form-urlencoded",
      "CallSid=c5797d8a&EventType=terminal&Status=completed&To=09800000002&From=09800000001&"
      "StartTime=2026-01-15+10%3A48%3A33&EndTime=2026-01-15%2010%3A50%3A20&"
      "ConversationDuration=95&Direction=outbound-dial&CustomField=call-ref-1&"
      "RecordingUrl=https%3A%2F%2Frecordings.exotel.com%2Fexotelrecordings%2Facme1%2Fc5797d8a.mp3&"
      "Legs%5B0%5D%5BOnCallDuration%5D=110&Legs%5B0%5D%5BStatus%5D=completed&"
      "Legs[1][OnCallDuration]=95&Legs[1][Status]=completed&Legs[1][AnsweredBy]=Human"));
}

TEST(ExotelVoice, CallbackMultipart) {
  std::string b;
  auto part = [&](const char* name, const char* value) {
    b += "--bNd\r\nContent-Disposition: form-data; name=\"" + std::string(name) + "\"\r\n\r\n" +
         value + "\r\n";
  };
  part("CallSid", "c5797d8a");
  part("EventType", "terminal");
  part("Status", "completed");
  part("To", "09800000002");
  part("From", "09800000001");
  part("StartTime", "2026-01-15 10:48:33");
  part("EndTime", "2026-01-15 10:50:20");
  part("ConversationDuration", "95");
  part("Direction", "outbound-api");
  part("CustomField", "call-ref-1");
  part("RecordingUrl", "https://recordings.exotel.com/exotelrecordings/acme1/c5797d8a.mp3");
  part("Legs[0][AnsweredBy]", "NotSure");
  part("Legs[1][AnsweredBy]", "human");
  b += "--bNd--\r\n";
  expect_terminal_callback(ex::parse_voice_callback("multipart/form-data; boundary=bNd", b));
}

TEST(ExotelVoice, CallbackVariantsAndErrors) {
  auto u = ex::parse_voice_callback("application/json",
                                    R"({"CallSid":"c1","Status":"in-progress","EventType":"answered",
      "Direction":"inbound","Legs":[{"AnsweredBy":"MACHINE"}],"RecordingUrl":null})");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->event_type, "answered");
  EXPECT_EQ(u->direction, "inbound");
  EXPECT_EQ(u->answered_by, "machine");
  EXPECT_EQ(u->duration_seconds, -1);
  EXPECT_EQ(u->recording_url, "");
  u = ex::parse_voice_callback("", "CallSid=c2&Status=no-answer&Legs[0][AnsweredBy]=NA");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->status, "no-answer");
  EXPECT_EQ(u->answered_by, "");
  EXPECT_EQ(u->event_type, "");

  u = ex::parse_voice_callback("application/x-www-form-urlencoded", "Status=completed");
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.status().code(), Code::invalid_argument);
  EXPECT_NE(u.status().message().find("CallSid: missing"), std::string::npos);
  u = ex::parse_voice_callback("application/json", R"({"CallSid":"c3"})");
  EXPECT_NE(u.status().message().find("Status: missing"), std::string::npos);
  u = ex::parse_voice_callback("application/json", "{nope");
  EXPECT_EQ(u.status().code(), Code::invalid_argument);
  u = ex::parse_voice_callback("multipart/form-data", "--x\r\n");
  EXPECT_EQ(u.status().code(), Code::invalid_argument);
}

// ============================================================================================
// Helpers: URLs, credentials, errors
// ============================================================================================

TEST(ExotelHelpers, CredentialsOnlyToExotelHosts) {
  messaging::ProviderAccount a = sms_account();
  EXPECT_TRUE(ex::may_send_credentials(a, "https://api.exotel.com/v1/Accounts/acme1/x.mp3"));
  EXPECT_TRUE(ex::may_send_credentials(a, "https://recordings.exotel.com/exotelrecordings/a.mp3"));
  // Anyone can own a bucket on S3: no credentials there.
  EXPECT_FALSE(ex::may_send_credentials(a, "https://s3-ap-southeast-1.amazonaws.com/exotel/a.mp3"));
  EXPECT_TRUE(ex::may_send_credentials(a, "https://EXOTEL.COM./a"));
  EXPECT_FALSE(ex::may_send_credentials(a, "http://recordings.exotel.com/a.mp3"));  // clear text
  EXPECT_FALSE(ex::may_send_credentials(a, "https://exotel.com.evil.example/a"));
  EXPECT_FALSE(ex::may_send_credentials(a, "https://notexotel.com/a"));
  EXPECT_FALSE(ex::may_send_credentials(a, "https://cdn.example.com/a.jpg"));
  EXPECT_FALSE(ex::may_send_credentials(a, "https://u:p@recordings.exotel.com/a"));
  EXPECT_FALSE(ex::may_send_credentials(a, "ftp://recordings.exotel.com/a"));
  a.base_url = "http://127.0.0.1:8081/";
  EXPECT_TRUE(ex::may_send_credentials(a, "http://127.0.0.1:8081/media/1"));
  EXPECT_FALSE(ex::may_send_credentials(a, "http://127.0.0.1:8082/media/1"));
}

TEST(ExotelHelpers, BaseUrl) {
  messaging::ProviderAccount a = sms_account();
  EXPECT_EQ(*ex::base_url(a), "https://api.exotel.com");
  a.base_url = "https://api.in.exotel.com/";
  EXPECT_EQ(*ex::base_url(a), "https://api.in.exotel.com");
  a.base_url = "https://KEY_5f0e9d:TOKEN_9c8b7a@api.exotel.com";
  auto b = ex::base_url(a);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().message().find("TOKEN"), std::string::npos);
}

TEST(ExotelHelpers, HttpErrorMapping) {
  auto mk = [](int status, std::string body, std::vector<net::Header> h = {}) {
    net::HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    r.headers = std::move(h);
    return r;
  };
  auto st = ex::http_error(
      mk(401, R"({"RestException":{"Status":401,"Message":"Authentication failed","Code":34010}})"),
      "sms send", false);
  EXPECT_EQ(st.code(), Code::unauthenticated);
  EXPECT_NE(st.message().find("Authentication failed"), std::string::npos);
  EXPECT_NE(st.message().find("34010"), std::string::npos);
  EXPECT_EQ(ex::http_error(mk(403, ""), "x", false).code(), Code::permission_denied);
  EXPECT_EQ(ex::http_error(mk(404, ""), "x", true).code(), Code::not_found);
  EXPECT_EQ(ex::http_error(mk(404, ""), "x", false).code(), Code::invalid_argument);
  st = ex::http_error(mk(400, "<TwilioResponse><RestException><Status>400</Status><Message>From "
                              "is missing</Message><Code>40205</Code></RestException></TwilioResponse>"),
                      "sms send", false);
  EXPECT_EQ(st.code(), Code::invalid_argument);
  EXPECT_NE(st.message().find("From is missing"), std::string::npos);
  EXPECT_EQ(details_field(st, "provider_code"), "40205");
  EXPECT_EQ(details_field(st, "http_status"), "400");
  EXPECT_EQ(ex::http_error(mk(402, ""), "x", false).code(), Code::invalid_argument);
  st = ex::http_error(mk(429, "", {{"Retry-After", "7"}}), "x", false);
  EXPECT_EQ(st.code(), Code::unavailable);
  EXPECT_EQ(details_field(st, "retry_after_ms"), "7000");
  EXPECT_EQ(details_field(st, "http_status"), "429");
  st = ex::http_error(mk(503, R"({"RestException":{"Status":503,"Message":"Throttled","Code":40405}})"),
                      "x", false);
  EXPECT_EQ(st.code(), Code::unavailable);
  EXPECT_EQ(details_field(st, "provider_code"), "40405");
  EXPECT_EQ(details_field(st, "retry_after_ms"), "");
  EXPECT_EQ(ex::http_error(mk(500, "oops"), "x", false).code(), Code::unavailable);
}

TEST(ExotelHelpers, ScrubRemovesCredentials) {
  auto a = sms_account();
  std::string basic = crypto::base64_encode(a.api_key + ":" + a.api_token);
  std::string s = ex::scrub("bad auth Basic " + basic + " key=" + a.api_key + " token=" + a.api_token, a);
  EXPECT_EQ(s.find(a.api_key), std::string::npos);
  EXPECT_EQ(s.find(a.api_token), std::string::npos);
  EXPECT_EQ(s.find(basic), std::string::npos);
}

TEST(ExotelProvider, RegisteredAndParsesWebhooksPerChannel) {
  messaging::Provider* p = exo();
  EXPECT_EQ(p->name(), "exotel");
  messaging::Provider* registered = messaging::provider_for("exotel");
  ASSERT_NE(registered, nullptr);
  EXPECT_EQ(registered->name(), "exotel");
  messaging::WebhookRequest req;
  req.content_type = "application/x-www-form-urlencoded";
  req.body = "SmsSid=s1&Status=sent&DetailedStatusCode=20005";
  EXPECT_TRUE(p->verify_webhook(sms_account(), req).ok());
  auto b = p->parse_webhook("sms", req);
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->statuses.size(), 1u);
  EXPECT_EQ(b->statuses[0].status, DeliveryStatus::delivered);

  req.content_type.clear();
  req.headers = {{"content-type", "application/json"}};
  req.body = R"({"CallSid":"c1","Status":"busy"})";
  b = p->parse_webhook("voice", req);
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->calls.size(), 1u);
  EXPECT_EQ(b->calls[0].status, "busy");

  req.body = R"({"whatsapp":{"messages":[{"callback_type":"dlr","sid":"W","exo_detailed_status":"EX_MESSAGE_SENT"}]}})";
  b = p->parse_webhook("whatsapp", req);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->statuses.size(), 1u);
  EXPECT_EQ(p->parse_webhook("email", req).status().code(), Code::invalid_argument);
}

// ============================================================================================
// Network, against a stand-in for Exotel
// ============================================================================================

constexpr const char* kKey = "KEY_5f0e9d";
constexpr const char* kToken = "TOKEN_9c8b7a";

std::string expected_basic() { return "Basic " + crypto::base64_encode(std::string(kKey) + ":" + kToken); }

messaging::ProviderAccount stub_account(const bxtest::HttpStub& stub, std::string channel,
                                        std::string sid = "acme1") {
  messaging::ProviderAccount a = sms_account();
  a.channel = std::move(channel);
  a.account_sid = std::move(sid);
  a.base_url = stub.base_url();
  a.allow_private_network = true;
  a.timeout = std::chrono::seconds(5);
  if (a.channel == "whatsapp") a.from = "+919000000001";
  if (a.channel == "voice") a.from = "08030000000";
  return a;
}

void expect_no_secrets(const Status& st) {
  std::string all = st.message() + " " + st.details();
  EXPECT_EQ(all.find(kKey), std::string::npos) << all;
  EXPECT_EQ(all.find(kToken), std::string::npos) << all;
  EXPECT_EQ(all.find(crypto::base64_encode(std::string(kKey) + ":" + kToken)), std::string::npos)
      << all;
}

bxtest::StubResponse rest_exception(int status, int code, std::string message) {
  return {.status = status,
          .body = R"({"RestException":{"Status":)" + std::to_string(status) + R"(,"Message":)" +
                  json::quote(message) + R"(,"Code":)" + std::to_string(code) + "}}"};
}

// A minimal Exotel (§1.6): Basic auth, SMS send, click-to-call, v2 messages (flat bodies
// rejected), details lookups.
bxtest::StubResponse fake_exotel(const bxtest::StubRequest& r) {
  if (r.header("Authorization") != expected_basic())
    return rest_exception(401, 34010, "Authentication failed");
  const std::string path = r.path();
  if (r.method == "POST" && path == "/v1/Accounts/acme1/Sms/send.json") {
    auto f = form_map(r.body);
    if (f["From"].empty() || f["To"].empty() || f["Body"].empty())
      return rest_exception(400, 40205, "From/To/Body missing");
    return {.status = 200,
            .body = R"({"SMSMessage":{"Sid":"sms-0001","Status":"queued","DetailedStatusCode":21010,"DetailedStatus":"PENDING_TO_OPERATOR","To":)" +
                    json::quote(f["To"]) + "}}"};
  }
  if (r.method == "POST" && path == "/v1/Accounts/acme1/Calls/connect.json") {
    return {.status = 200,
            .body = R"({"Call":{"Sid":"call-0001","Status":"in-progress","Direction":"outbound-api"}})"};
  }
  if (r.method == "POST" && path == "/v2/accounts/acme1/messages") {
    json::Document d;
    if (!json::parse(r.body, &d).ok() || !d.IsObject() || !d.HasMember("whatsapp"))
      return {.status = 400,
              .body = R"({"request_id":"r1","http_code":400,"response":{"code":400,"status":"failure","error_data":{"code":1001,"description":"At least one channel is mandatory"}}})"};
    const auto& msgs = d["whatsapp"]["messages"];
    std::string out = R"({"request_id":"r2","method":"POST","http_code":202,"response":{"whatsapp":{"messages":[)";
    for (rapidjson::SizeType i = 0; i < msgs.Size(); ++i) {
      if (i) out += ",";
      if (std::string(msgs[i]["to"].GetString()) == "+910000000000")
        out += R"({"code":400,"status":"failure","error_data":{"code":1002,"description":"Invalid to number"},"data":null})";
      else
        out += R"({"code":202,"status":"success","error_data":null,"data":{"sid":"wa-000)" +
               std::to_string(i + 1) + R"("}})";
    }
    out += "]}}}";
    return {.status = 202, .body = out};
  }
  if (r.method == "GET" && path == "/v1/Accounts/acme1/SMS/Messages/sms-0001.json")
    return {.status = 200,
            .body = R"({"SMSMessage":{"Sid":"sms-0001","Status":"sent","DetailedStatusCode":20005,"DetailedStatus":"DELIVERED_TO_HANDSET","DateSent":"2026-01-15 10:31:05"}})"};
  if (r.method == "GET" && path.starts_with("/v1/Accounts/acme1/SMS/Messages/"))
    return {.status = 200, .body = "No matching results", .content_type = "text/plain"};
  if (r.method == "GET" && path == "/v1/Accounts/acme1/Calls/call-0001.json")
    return {.status = 200,
            .body = R"({"Call":{"Sid":"call-0001","Status":"completed","From":"09800000001","To":"09800000002","Direction":"outbound-api","StartTime":"2026-01-15 10:48:33","EndTime":"2026-01-15 10:50:20","Details":{"ConversationDuration":95}}})"};
  if (r.method == "GET" && path == "/media/rec.mp3")
    return {.status = 200, .body = "ID3-mp3-bytes", .content_type = "audio/mpeg"};
  return rest_exception(404, 404, "Not found");
}

TEST(ExotelNetwork, SmsSendRequestFieldByField) {
  bxtest::HttpStub stub(fake_exotel);
  auto acct = stub_account(stub, "sms");
  messaging::OutboundMessage m;
  m.channel = "sms";
  m.to = "+919800000001";
  m.text = "BWX123: out for delivery & 100% on time";
  m.reference = "msg-01HZX";
  m.status_callback_url = "https://hub.example.com/hooks/exotel/sms?t=abc";
  auto r = exo()->send(acct, m);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->provider_id, "sms-0001");
  EXPECT_EQ(r->status, DeliveryStatus::queued);

  auto reqs = stub.requests();
  ASSERT_EQ(reqs.size(), 1u);
  const auto& q = reqs[0];
  EXPECT_EQ(q.method, "POST");
  EXPECT_EQ(q.target, "/v1/Accounts/acme1/Sms/send.json");
  EXPECT_EQ(q.header("Authorization"), expected_basic());
  EXPECT_NE(q.header("Content-Type").find("application/x-www-form-urlencoded"), std::string::npos);
  EXPECT_EQ(q.target.find(kToken), std::string::npos);
  auto f = form_map(q.body);
  EXPECT_EQ(f["From"], "BWXHUB");
  EXPECT_EQ(f["To"], "+919800000001");
  EXPECT_EQ(f["Body"], m.text);
  EXPECT_EQ(f["StatusCallback"], m.status_callback_url);
  EXPECT_EQ(f["CustomField"], "msg-01HZX");
  EXPECT_EQ(f["DltEntityId"], "1101000000000000001");
  EXPECT_EQ(f["SmsType"], "transactional");
  EXPECT_EQ(f.count("DltTemplateId"), 0u);
}

TEST(ExotelNetwork, WhatsAppSendEnvelopeAndPerMessageFailure) {
  bxtest::HttpStub stub(fake_exotel);
  auto acct = stub_account(stub, "whatsapp");
  messaging::OutboundMessage m;
  m.to = "+919800000002";
  m.text = "Booking BWX123 confirmed.";
  m.reference = "msg-01HZX";
  m.status_callback_url = "https://hub.example.com/hooks/exotel/wa?t=TOKEN";
  auto* p = exo();
  auto r = p->send(acct, m);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->provider_id, "wa-0001");
  auto reqs = stub.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].target, "/v2/accounts/acme1/messages");
  EXPECT_EQ(reqs[0].header("Authorization"), expected_basic());
  EXPECT_NE(reqs[0].header("Content-Type").find("application/json"), std::string::npos);
  auto d = parse_json(reqs[0].body);
  EXPECT_STREQ(d["custom_data"].GetString(), "msg-01HZX");
  EXPECT_STREQ(d["status_callback"].GetString(), m.status_callback_url.c_str());
  EXPECT_STREQ(first_message(d)["from"].GetString(), "+919000000001");
  EXPECT_STREQ(first_message(d)["to"].GetString(), "+919800000002");
  EXPECT_STREQ(first_message(d)["custom_data"].GetString(), "msg-01HZX");
  EXPECT_STREQ(first_message(d)["content"]["text"]["body"].GetString(), "Booking BWX123 confirmed.");

  // 202 carrying a failure element.
  m.to = "+910000000000";
  r = p->send(acct, m);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::invalid_argument);
  EXPECT_NE(r.status().message().find("1002"), std::string::npos);
  EXPECT_NE(r.status().message().find("Invalid to number"), std::string::npos);
  EXPECT_EQ(details_field(r.status(), "provider_code"), "1002");
  expect_no_secrets(r.status());
}

TEST(ExotelNetwork, FlatWhatsAppBodyIsRejectedByExotel) {
  // The stand-in rejects anything without the "whatsapp" channel object (code 1001); the
  // adapter never sends one, and the rejection itself maps to invalid_argument.
  bxtest::HttpStub always_reject([](const bxtest::StubRequest&) {
    return bxtest::StubResponse{
        .status = 400,
        .body = R"({"request_id":"r1","http_code":400,"response":{"code":400,"status":"failure","error_data":{"code":1001,"description":"At least one channel is mandatory"}}})"};
  });
  messaging::OutboundMessage m;
  m.to = "+919800000002";
  m.text = "hi";
  auto r = exo()->send(stub_account(always_reject, "whatsapp"), m);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::invalid_argument);
  EXPECT_NE(r.status().message().find("1001"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("channel is mandatory"), std::string::npos);
  EXPECT_EQ(details_field(r.status(), "provider_code"), "1001");

  bxtest::HttpStub stub(fake_exotel);
  net::HttpRequest flat;
  flat.method = "POST";
  flat.url = stub.base_url() + "/v2/accounts/acme1/messages";
  flat.basic_user = kKey;
  flat.basic_password = kToken;
  flat.allow_private_network = true;
  flat.body = R"({"from":"+919000000001","to":"+919800000002","content":{"type":"text","text":{"body":"x"}}})";
  auto res = net::http_request(flat);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 400);
  EXPECT_TRUE(exo()->send(stub_account(stub, "whatsapp"), m).ok());
}

TEST(ExotelNetwork, WrongCredentialsAre401Unauthenticated) {
  bxtest::HttpStub stub(fake_exotel);
  auto acct = stub_account(stub, "sms");
  acct.api_token = "TOKEN_wrong_123";
  messaging::OutboundMessage m;
  m.to = "+919800000001";
  m.text = "x";
  auto r = exo()->send(acct, m);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::unauthenticated);
  EXPECT_NE(r.status().message().find("Authentication failed"), std::string::npos);
  EXPECT_EQ(r.status().message().find("TOKEN_wrong_123"), std::string::npos);
  EXPECT_EQ(r.status().message().find(kKey), std::string::npos);
}

TEST(ExotelNetwork, CredentialsEchoedByTheServerAreScrubbed) {
  bxtest::HttpStub stub([](const bxtest::StubRequest& r) {
    return rest_exception(400, 40001, "bad request from " + r.header("Authorization") + " key " +
                                          kKey + " token " + kToken);
  });
  messaging::OutboundMessage m;
  m.to = "+919800000001";
  m.text = "x";
  auto r = exo()->send(stub_account(stub, "sms"), m);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::invalid_argument);
  expect_no_secrets(r.status());
}

TEST(ExotelNetwork, TooManyRequestsWithRetryAfter) {
  bxtest::HttpStub stub([](const bxtest::StubRequest&) {
    auto res = rest_exception(429, 40402, "Too many POSTs");
    res.headers.emplace_back("Retry-After", "3");
    return res;
  });
  messaging::OutboundMessage m;
  m.to = "+919800000001";
  m.text = "x";
  auto r = exo()->send(stub_account(stub, "sms"), m);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::unavailable);
  EXPECT_EQ(details_field(r.status(), "retry_after_ms"), "3000");
  EXPECT_EQ(details_field(r.status(), "http_status"), "429");
  EXPECT_EQ(details_field(r.status(), "provider_code"), "40402");
  expect_no_secrets(r.status());
}

TEST(ExotelNetwork, ServerErrorsAreUnavailable) {
  for (int code : {500, 502, 503}) {
    bxtest::HttpStub stub([code](const bxtest::StubRequest&) {
      return bxtest::StubResponse{.status = code, .body = "upstream trouble", .content_type = "text/plain"};
    });
    messaging::CallRequest c{.from = "09800000001", .to = "09800000002"};
    auto r = exo()->start_call(stub_account(stub, "voice"), c);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::unavailable) << code;
    EXPECT_EQ(details_field(r.status(), "http_status"), std::to_string(code));
    expect_no_secrets(r.status());
  }
}

TEST(ExotelNetwork, TimeoutIsUnavailable) {
  bxtest::HttpStub stub([](const bxtest::StubRequest&) {
    return bxtest::StubResponse{.status = 200, .body = "{}", .delay = std::chrono::milliseconds(2500)};
  });
  auto acct = stub_account(stub, "sms");
  acct.timeout = std::chrono::seconds(1);
  messaging::OutboundMessage m;
  m.to = "+919800000001";
  m.text = "x";
  auto t0 = std::chrono::steady_clock::now();
  auto r = exo()->send(acct, m);
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::unavailable) << r.status().to_string();
  EXPECT_LT(took, std::chrono::milliseconds(2400));
  expect_no_secrets(r.status());
}

TEST(ExotelNetwork, StartCallRequestFieldByField) {
  bxtest::HttpStub stub(fake_exotel);
  messaging::CallRequest c{.from = "09800000001", .to = "09800000002", .record = true,
                           .time_limit_seconds = 900, .reference = "call-ref-1",
                           .status_callback_url = "https://hub.example.com/hooks/exotel/voice?t=x"};
  auto r = exo()->start_call(stub_account(stub, "voice"), c);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->call_id, "call-0001");
  EXPECT_EQ(r->status, "in-progress");
  auto reqs = stub.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].target, "/v1/Accounts/acme1/Calls/connect.json");
  EXPECT_EQ(reqs[0].header("Authorization"), expected_basic());
  auto f = form_map(reqs[0].body);
  EXPECT_EQ(f["From"], "09800000001");
  EXPECT_EQ(f["To"], "09800000002");
  EXPECT_EQ(f["CallerId"], "08030000000");
  EXPECT_EQ(f["Record"], "true");
  EXPECT_EQ(f["TimeLimit"], "900");
  EXPECT_EQ(f["CustomField"], "call-ref-1");
  EXPECT_EQ(f["StatusCallback"], c.status_callback_url);
  EXPECT_EQ(f["StatusCallbackEvents[0]"], "terminal");
  EXPECT_EQ(f["StatusCallbackEvents[1]"], "answered");
  EXPECT_EQ(f["StatusCallbackContentType"], "application/json");
}

TEST(ExotelNetwork, PollMessageAndCall) {
  bxtest::HttpStub stub(fake_exotel);
  auto* p = exo();
  auto u = p->poll_message(stub_account(stub, "sms"), "sms-0001");
  ASSERT_TRUE(u.ok()) << u.status().to_string();
  EXPECT_EQ(u->status, DeliveryStatus::delivered);
  EXPECT_EQ(u->provider_id, "sms-0001");
  auto nf = p->poll_message(stub_account(stub, "sms"), "nope");
  EXPECT_EQ(nf.status().code(), Code::not_found);

  auto c = p->poll_call(stub_account(stub, "voice"), "call-0001");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->status, "completed");
  EXPECT_EQ(c->duration_seconds, 95);
  EXPECT_EQ(c->direction, "outbound");
  auto c404 = p->poll_call(stub_account(stub, "voice"), "call-9999");
  EXPECT_EQ(c404.status().code(), Code::not_found);

  auto reqs = stub.requests();
  ASSERT_EQ(reqs.size(), 4u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[0].target, "/v1/Accounts/acme1/SMS/Messages/sms-0001.json");
  EXPECT_EQ(reqs[2].target, "/v1/Accounts/acme1/Calls/call-0001.json?details=true");
  for (const auto& q : reqs) EXPECT_EQ(q.header("Authorization"), expected_basic());
}

TEST(ExotelNetwork, FetchMediaSendsCredentialsOnlyToTheApiHost) {
  bxtest::HttpStub api(fake_exotel);
  bxtest::HttpStub other([](const bxtest::StubRequest&) {
    return bxtest::StubResponse{.status = 200, .body = "public-bytes", .content_type = "image/jpeg"};
  });
  auto* p = exo();
  auto acct = stub_account(api, "voice");
  auto bytes = p->fetch_media(acct, messaging::Media{.kind = "audio", .url = api.base_url() + "/media/rec.mp3"});
  ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
  EXPECT_EQ(*bytes, "ID3-mp3-bytes");
  EXPECT_EQ(api.requests().at(0).header("Authorization"), expected_basic());

  bytes = p->fetch_media(acct, messaging::Media{.kind = "image", .url = other.base_url() + "/x.jpg"});
  ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
  EXPECT_EQ(*bytes, "public-bytes");
  EXPECT_EQ(other.requests().at(0).header("Authorization"), "");

  auto missing = p->fetch_media(acct, messaging::Media{.kind = "audio", .url = api.base_url() + "/media/none.mp3"});
  EXPECT_EQ(missing.status().code(), Code::not_found);
  EXPECT_EQ(p->fetch_media(acct, messaging::Media{.kind = "image", .media_id = "123"}).status().code(),
            Code::invalid_argument);
}

TEST(ExotelNetwork, FetchMediaRedirectDropsCredentialsForOtherHosts) {
  bxtest::HttpStub other([](const bxtest::StubRequest&) {
    return bxtest::StubResponse{.status = 200, .body = "s3-bytes", .content_type = "audio/mpeg"};
  });
  std::string target = other.base_url() + "/presigned/rec.mp3?sig=abc";
  bxtest::HttpStub api([target](const bxtest::StubRequest&) {
    return bxtest::StubResponse{.status = 302, .body = "", .headers = {{"Location", target}}};
  });
  auto acct = stub_account(api, "voice");
  auto bytes = exo()->fetch_media(
      acct, messaging::Media{.kind = "audio", .url = api.base_url() + "/rec/1.mp3"});
  ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
  EXPECT_EQ(*bytes, "s3-bytes");
  EXPECT_EQ(api.requests().at(0).header("Authorization"), expected_basic());
  EXPECT_EQ(other.requests().at(0).header("Authorization"), "");
  EXPECT_EQ(other.requests().at(0).target, "/presigned/rec.mp3?sig=abc");
}

TEST(ExotelNetwork, PrivateAddressesNeedTheAccountFlag) {
  bxtest::HttpStub stub(fake_exotel);
  auto acct = stub_account(stub, "sms");
  acct.allow_private_network = false;
  messaging::OutboundMessage m;
  m.to = "+919800000001";
  m.text = "x";
  auto r = exo()->send(acct, m);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::permission_denied) << r.status().to_string();
  EXPECT_EQ(stub.request_count(), 0u);
  expect_no_secrets(r.status());
}

TEST(ExotelNetwork, ClientSideRateLimit) {
  bxtest::HttpStub stub(fake_exotel);
  auto acct = stub_account(stub, "sms");
  acct.requests_per_minute = 1;
  messaging::OutboundMessage m;
  m.to = "+919800000001";
  m.text = "x";
  auto* p = exo();
  ASSERT_TRUE(p->send(acct, m).ok());
  auto r = p->send(acct, m);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::unavailable);
  auto wait = details_field(r.status(), "retry_after_ms");
  ASSERT_FALSE(wait.empty());
  EXPECT_GT(std::stoll(wait), 2000);
  EXPECT_EQ(stub.request_count(), 1u);
}

TEST(ExotelNetwork, AccountProblemsNeverReachTheNetwork) {
  bxtest::HttpStub stub(fake_exotel);
  auto* p = exo();
  messaging::OutboundMessage m;
  m.to = "+919800000001";
  m.text = "x";
  auto acct = stub_account(stub, "sms");
  acct.api_token.clear();
  EXPECT_EQ(p->send(acct, m).status().code(), Code::unauthenticated);
  acct = stub_account(stub, "voice");
  EXPECT_EQ(p->send(acct, m).status().code(), Code::invalid_argument);
  acct = stub_account(stub, "sms");
  m.channel = "whatsapp";
  EXPECT_EQ(p->send(acct, m).status().code(), Code::invalid_argument);
  acct.base_url = "http://KEY_5f0e9d:TOKEN_9c8b7a@127.0.0.1:" + std::to_string(stub.port());
  m.channel.clear();
  auto r = p->send(acct, m);
  EXPECT_EQ(r.status().code(), Code::invalid_argument);
  expect_no_secrets(r.status());
  EXPECT_EQ(p->start_call(stub_account(stub, "sms"), {.from = "1", .to = "2"}).status().code(),
            Code::invalid_argument);
  EXPECT_EQ(stub.request_count(), 0u);
}

}  // namespace
}  // namespace banxway

namespace banxway {
namespace {

// Every prefix of realistic bodies: parsers return a Status, never crash or read past the end.
TEST(ExotelRobustness, TruncatedBodiesNeverCrash) {
  const std::string wa =
      R"({"whatsapp":{"messages":[{"callback_type":"dlr","sid":"W1","exo_status_code":30002,"exo_detailed_status":"EX_MESSAGE_DELIVERED","timestamp":"2026-01-15T10:31:00+05:30"},{"callback_type":"incoming_message","sid":"I","from":"+91","content":{"type":"location","location":{"latitude":1.5,"longitude":2}}}]}})";
  const std::string voice_form =
      "CallSid=c1&Status=completed&StartTime=2026-01-15+10%3A48%3A33&Legs[1][AnsweredBy]=Human&"
      "ConversationDuration=9";
  const std::string voice_multi =
      "--b\r\nContent-Disposition: form-data; name=\"CallSid\"\r\n\r\nc1\r\n--b\r\n"
      "Content-Disposition: form-data; name=\"Status\"\r\n\r\nbusy\r\n--b--\r\n";
  const std::string sms = "SmsSid=s&Status=sent&DetailedStatusCode=20005&DateSent=2026-01-15%2010";
  for (size_t n = 0; n <= wa.size(); ++n) (void)ex::parse_whatsapp_webhook(wa.substr(0, n));
  for (size_t n = 0; n <= voice_form.size(); ++n)
    (void)ex::parse_voice_callback("application/x-www-form-urlencoded", voice_form.substr(0, n));
  for (size_t n = 0; n <= voice_multi.size(); ++n)
    (void)ex::parse_voice_callback("multipart/form-data; boundary=b", voice_multi.substr(0, n));
  for (size_t n = 0; n <= sms.size(); ++n) {
    (void)ex::parse_sms_dlr("application/x-www-form-urlencoded", sms.substr(0, n));
    (void)ex::parse_sms_dlr("", sms.substr(0, n));
  }
  for (const char* s : {"", "2", "2026-", "2026-01-15 ", "2026-01-15 10:3", "99999999999999999999",
                        "-1", "+5"})
    (void)ex::parse_time(s);
  for (const char* u : {"", "http://", "https://[::1", "https://[::1]:x/", "http://h:99999/",
                        "https://@/", "http://a@b@c/"})
    (void)banxway::net::parse_url(u);
  SUCCEED();
}

}  // namespace
}  // namespace banxway
