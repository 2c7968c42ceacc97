// The Meta WhatsApp Cloud API adapter: request building, answer and webhook parsing, the
// X-Hub-Signature-256 check and the GET handshake (pure), then send / media download against a
// loopback stand-in (bxtest::HttpStub).
#include <gtest/gtest.h>

#include <atomic>
#include <string>

#include "channels/meta/meta.hpp"
#include "core/crypto.hpp"
#include "core/json.hpp"
#include "support/http_stub.hpp"

namespace banxway::messaging {
namespace {

using namespace std::chrono_literals;
using bxtest::HttpStub;
using bxtest::StubRequest;
using bxtest::StubResponse;

// ---- helpers -----------------------------------------------------------------------------------

ProviderAccount account(const std::string& base = "") {
  ProviderAccount a;
  a.provider = "meta";
  a.channel = "whatsapp";
  a.base_url = base;
  a.allow_private_network = true;
  static std::atomic<int> n{0};
  a.phone_number_id = "1098765" + std::to_string(n++);  // own limiter bucket per test
  a.access_token = "EAAG-secret-token";
  a.app_secret = "app-secret-xyz";
  a.verify_token = "verify-me";
  a.timeout = 5s;
  return a;
}

json::Document parse(const std::string& s) {
  json::Document d;
  EXPECT_TRUE(json::parse(s, &d).ok()) << s;
  return d;
}

std::string str(const json::Value& v, const char* k) {
  auto s = json::get_string(v, k);
  return s ? std::string(*s) : std::string("<absent>");
}

std::string detail(const Status& st, const char* key) {
  json::Document d;
  if (st.details().empty() || !json::parse(st.details(), &d).ok()) return "<none>";
  const json::Value* v = json::get(d, key);
  if (!v) return "<absent>";
  if (v->IsString()) return v->GetString();
  return json::stringify(*v);
}

std::string envelope(const std::string& value_json, const std::string& field = "messages") {
  return R"({"object":"whatsapp_business_account","entry":[{"id":"WABA1","changes":[{"field":")" +
         field + R"(","value":)" + value_json + "}]}]}";
}

const char* kMetadata =
    R"("messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"1098765"})";

std::string one_message(const std::string& msg_json,
                        const std::string& contacts =
                            R"([{"profile":{"name":"Ravi"},"wa_id":"919800000002","user_id":"IN.1502576394655843"}])") {
  return envelope(std::string("{") + kMetadata + R"(,"contacts":)" + contacts +
                  R"(,"messages":[)" + msg_json + "]}");
}

InboundMessage parse_one(const std::string& msg_json) {
  auto b = meta::parse_webhook_body(one_message(msg_json));
  EXPECT_TRUE(b.ok()) << b.status().to_string();
  if (!b.ok() || b->messages.size() != 1) {
    ADD_FAILURE() << "expected one message";
    return {};
  }
  return b->messages[0];
}

// ---- signatures and the handshake --------------------------------------------------------------

TEST(MetaSignature, ProtocolsVector) {
  EXPECT_EQ(crypto::hex(crypto::hmac_sha256("secret", "test")),
            "0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914");
  EXPECT_TRUE(meta::verify_signature(
                  "secret", "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914",
                  "test")
                  .ok());
  EXPECT_EQ(meta::verify_signature(
                "secret", "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914",
                "test ")
                .code(),
            Code::unauthenticated);
}

std::string sample_body() {
  return one_message(
      R"({"from":"919800000002","id":"wamid.HBgM1","timestamp":"1768473000","type":"text","text":{"body":"Where is my container MSKU9070323?"}})");
}

TEST(MetaSignature, EveryBodyBitFlipRejected) {
  const std::string secret = "app-secret-xyz";
  const std::string body = sample_body();
  const std::string header = "sha256=" + crypto::hex(crypto::hmac_sha256(secret, body));
  ASSERT_TRUE(meta::verify_signature(secret, header, body).ok());
  for (size_t i = 0; i < body.size(); ++i)
    for (int bit = 0; bit < 8; ++bit) {
      std::string b = body;
      b[i] = static_cast<char>(b[i] ^ (1 << bit));
      ASSERT_EQ(meta::verify_signature(secret, header, b).code(), Code::unauthenticated)
          << "byte " << i << " bit " << bit;
    }
}

TEST(MetaSignature, EverySignatureBitFlipRejected) {
  const std::string secret = "app-secret-xyz";
  const std::string body = sample_body();
  const std::string header = "sha256=" + crypto::hex(crypto::hmac_sha256(secret, body));
  for (size_t i = 0; i < header.size(); ++i)
    for (int bit = 0; bit < 8; ++bit) {
      std::string h = header;
      h[i] = static_cast<char>(h[i] ^ (1 << bit));
      ASSERT_EQ(meta::verify_signature(secret, h, body).code(), Code::unauthenticated)
          << "byte " << i << " bit " << bit;
    }
}

TEST(MetaSignature, MissingOrMalformedHeader) {
  meta::MetaProvider p;
  ProviderAccount a = account();
  WebhookRequest req;
  req.body = sample_body();
  std::string good = "sha256=" + crypto::hex(crypto::hmac_sha256(a.app_secret, req.body));

  EXPECT_EQ(p.verify_webhook(a, req).code(), Code::unauthenticated);  // no header
  for (std::string bad : {std::string(""), std::string("sha256="), good.substr(0, good.size() - 1),
                          "sha1=" + good.substr(7), "SHA256=" + good.substr(7), good + "0",
                          "sha256=" + crypto::hex(crypto::hmac_sha256(a.app_secret, req.body)).substr(0, 63) + "G"}) {
    req.headers = {{"X-Hub-Signature-256", bad}};
    EXPECT_EQ(p.verify_webhook(a, req).code(), Code::unauthenticated) << bad;
  }
  // Upper-case hex is not what Meta sends: refused (a single bit turns a-f into A-F).
  std::string upper = good;
  for (size_t i = 7; i < upper.size(); ++i) upper[i] = static_cast<char>(std::toupper(upper[i]));
  req.headers = {{"X-Hub-Signature-256", upper}};
  EXPECT_EQ(p.verify_webhook(a, req).code(), Code::unauthenticated);

  // Header names are case-insensitive; a legacy X-Hub-Signature alone is not enough.
  req.headers = {{"x-hub-signature-256", good}};
  EXPECT_TRUE(p.verify_webhook(a, req).ok());
  req.headers = {{"X-Hub-Signature", "sha1=abc"}};
  EXPECT_EQ(p.verify_webhook(a, req).code(), Code::unauthenticated);

  // No app secret configured: nothing verifies.
  a.app_secret.clear();
  req.headers = {{"X-Hub-Signature-256", good}};
  Status st = p.verify_webhook(a, req);
  EXPECT_EQ(st.code(), Code::unauthenticated);
}

TEST(MetaSignature, ErrorsNameNoSecret) {
  ProviderAccount a = account();
  Status st = meta::verify_signature(a.app_secret, "sha256=" + std::string(64, '0'), "x");
  EXPECT_EQ(st.code(), Code::unauthenticated);
  EXPECT_EQ(st.message().find(a.app_secret), std::string::npos);
}

TEST(MetaChallenge, Handshake) {
  ProviderAccount a = account();
  auto ok = meta_verify_challenge(a, "subscribe", "verify-me", "1158201444");
  ASSERT_TRUE(ok.ok()) << ok.status().to_string();
  EXPECT_EQ(*ok, "1158201444");
  EXPECT_EQ(meta_verify_challenge(a, "subscribe", "verify-mE", "1").status().code(),
            Code::permission_denied);
  EXPECT_EQ(meta_verify_challenge(a, "subscribe", "", "1").status().code(),
            Code::permission_denied);
  EXPECT_EQ(meta_verify_challenge(a, "unsubscribe", "verify-me", "1").status().code(),
            Code::permission_denied);
  EXPECT_EQ(meta_verify_challenge(a, "subscribe", "verify-me", "").status().code(),
            Code::invalid_argument);
  a.verify_token.clear();
  EXPECT_EQ(meta_verify_challenge(a, "subscribe", "", "1").status().code(),
            Code::permission_denied);
}

// ---- building sends ------------------------------------------------------------------------------

TEST(MetaBuild, Text) {
  OutboundMessage m;
  m.channel = "whatsapp";
  m.to = "919800000002";
  m.text = "Your container is at Nhava Sheva";
  m.reference = "msg-01HZX";
  auto body = meta::build_send_body(m);
  ASSERT_TRUE(body.ok()) << body.status().to_string();
  auto d = parse(*body);
  EXPECT_EQ(str(d, "messaging_product"), "whatsapp");
  EXPECT_EQ(str(d, "recipient_type"), "individual");
  EXPECT_EQ(str(d, "to"), "919800000002");
  EXPECT_EQ(str(d, "type"), "text");
  EXPECT_EQ(str(d["text"], "body"), "Your container is at Nhava Sheva");
  EXPECT_FALSE(d["text"].HasMember("preview_url"));
  EXPECT_EQ(str(d, "biz_opaque_callback_data"), "msg-01HZX");
  EXPECT_FALSE(d.HasMember("context"));

  m.text = "Track: https://track.example/BWX123";
  m.reference.clear();
  d = parse(*meta::build_send_body(m));
  EXPECT_TRUE(d["text"]["preview_url"].GetBool());
  EXPECT_FALSE(d.HasMember("biz_opaque_callback_data"));

  // A BSUID recipient is passed through as it is.
  m.to = "IN.1502576394655843";
  EXPECT_EQ(str(parse(*meta::build_send_body(m)), "to"), "IN.1502576394655843");
}

TEST(MetaBuild, Template) {
  OutboundMessage m;
  m.to = "919800000002";
  TemplateMessage t;
  t.name = "shipment_delay";
  t.language = "en_US";
  t.body_params = {"BWX123", "2 days"};
  Media hdr;
  hdr.kind = "image";
  hdr.url = "https://cdn.example/delay.png";
  t.header_media = hdr;
  m.template_message = t;
  m.reference = "ref-1";
  auto body = meta::build_send_body(m);
  ASSERT_TRUE(body.ok()) << body.status().to_string();
  auto d = parse(*body);
  EXPECT_EQ(str(d, "type"), "template");
  const auto& tpl = d["template"];
  EXPECT_EQ(str(tpl, "name"), "shipment_delay");
  EXPECT_EQ(str(tpl["language"], "code"), "en_US");
  ASSERT_EQ(tpl["components"].Size(), 2u);
  const auto& header = tpl["components"][0];
  EXPECT_EQ(str(header, "type"), "header");
  EXPECT_EQ(str(header["parameters"][0], "type"), "image");
  EXPECT_EQ(str(header["parameters"][0]["image"], "link"), "https://cdn.example/delay.png");
  const auto& bodyc = tpl["components"][1];
  EXPECT_EQ(str(bodyc, "type"), "body");
  ASSERT_EQ(bodyc["parameters"].Size(), 2u);
  EXPECT_EQ(str(bodyc["parameters"][0], "type"), "text");
  EXPECT_EQ(str(bodyc["parameters"][0], "text"), "BWX123");
  EXPECT_EQ(str(bodyc["parameters"][1], "text"), "2 days");
  EXPECT_EQ(str(d, "biz_opaque_callback_data"), "ref-1");

  // Without parameters or header: no components; default language "en".
  m.template_message = TemplateMessage{.name = "hello", .language = "", .body_params = {}, .header_media = {}};
  d = parse(*meta::build_send_body(m));
  EXPECT_EQ(str(d["template"]["language"], "code"), "en");
  EXPECT_FALSE(d["template"].HasMember("components"));

  // A document header takes its filename.
  t.header_media->kind = "document";
  t.header_media->filename = "invoice.pdf";
  m.template_message = t;
  d = parse(*meta::build_send_body(m));
  const auto& p = d["template"]["components"][0]["parameters"][0];
  EXPECT_EQ(str(p, "type"), "document");
  EXPECT_EQ(str(p["document"], "filename"), "invoice.pdf");

  m.template_message->name.clear();
  EXPECT_EQ(meta::build_send_body(m).status().code(), Code::invalid_argument);
}

TEST(MetaBuild, Media) {
  OutboundMessage m;
  m.to = "919800000002";
  Media doc;
  doc.kind = "document";
  doc.url = "https://files.example/invoice.pdf";
  doc.filename = "invoice.pdf";
  m.media = doc;
  m.text = "Invoice attached";
  auto d = parse(*meta::build_send_body(m));
  EXPECT_EQ(str(d, "type"), "document");
  EXPECT_EQ(str(d["document"], "link"), "https://files.example/invoice.pdf");
  EXPECT_EQ(str(d["document"], "caption"), "Invoice attached");
  EXPECT_EQ(str(d["document"], "filename"), "invoice.pdf");

  // Own caption wins over the text; an image has no filename.
  Media img;
  img.kind = "image";
  img.url = "https://files.example/a.jpg";
  img.caption = "Seal photo";
  img.filename = "a.jpg";
  m.media = img;
  d = parse(*meta::build_send_body(m));
  EXPECT_EQ(str(d["image"], "caption"), "Seal photo");
  EXPECT_FALSE(d["image"].HasMember("filename"));

  // By media id.
  Media vid;
  vid.kind = "video";
  vid.media_id = "55501";
  m.media = vid;
  m.text.clear();
  d = parse(*meta::build_send_body(m));
  EXPECT_EQ(str(d["video"], "id"), "55501");
  EXPECT_FALSE(d["video"].HasMember("caption"));

  // Audio cannot carry text: refused rather than dropped.
  Media audio;
  audio.kind = "audio";
  audio.url = "https://files.example/a.ogg";
  m.media = audio;
  EXPECT_TRUE(meta::build_send_body(m).ok());
  m.text = "listen";
  EXPECT_EQ(meta::build_send_body(m).status().code(), Code::invalid_argument);

  Media bad;
  bad.kind = "hologram";
  bad.url = "https://x.example/y";
  m.media = bad;
  EXPECT_EQ(meta::build_send_body(m).status().code(), Code::invalid_argument);
  bad.kind = "image";
  bad.url = "ftp://x.example/y";
  m.media = bad;
  m.text.clear();
  EXPECT_EQ(meta::build_send_body(m).status().code(), Code::invalid_argument);
}

TEST(MetaBuild, Refusals) {
  OutboundMessage m;
  m.to = "919800000002";
  EXPECT_EQ(meta::build_send_body(m).status().code(), Code::invalid_argument);  // nothing to send
  m.text = "hi";
  m.channel = "sms";
  EXPECT_EQ(meta::build_send_body(m).status().code(), Code::invalid_argument);
  m.channel = "whatsapp";
  m.to.clear();
  EXPECT_EQ(meta::build_send_body(m).status().code(), Code::invalid_argument);
  m.to = "919800000002";
  m.text = std::string(4097, 'a');
  EXPECT_EQ(meta::build_send_body(m).status().code(), Code::invalid_argument);
  m.text = std::string(4096, 'a');
  EXPECT_TRUE(meta::build_send_body(m).ok());
  // JSON escaping of quotes and control characters.
  m.text = "say \"hi\"\n\\";
  EXPECT_EQ(str(parse(*meta::build_send_body(m))["text"], "body"), "say \"hi\"\n\\");
}

// ---- answers -----------------------------------------------------------------------------------

TEST(MetaResponse, Success) {
  auto r = meta::parse_send_response(
      200,
      R"({"messaging_product":"whatsapp","contacts":[{"input":"919800000002","wa_id":"919800000002"}],"messages":[{"id":"wamid.HBgMOK","message_status":"accepted"}]})",
      std::nullopt);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->provider_id, "wamid.HBgMOK");
  EXPECT_EQ(r->status, DeliveryStatus::queued);
  r = meta::parse_send_response(200, R"({"messages":[{"id":"wamid.X"}]})", std::nullopt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->provider_id, "wamid.X");
  EXPECT_EQ(meta::parse_send_response(200, R"({"messages":[]})", std::nullopt).status().code(),
            Code::internal);
  EXPECT_EQ(meta::parse_send_response(200, "not json", std::nullopt).status().code(),
            Code::internal);
}

std::string graph_error(int code, const std::string& msg, const std::string& details = "") {
  return R"({"error":{"message":")" + msg + R"(","type":"OAuthException","code":)" +
         std::to_string(code) +
         R"(,"error_subcode":2494010,"error_data":{"messaging_product":"whatsapp","details":")" +
         details + R"("},"fbtrace_id":"AbC"}})";
}

TEST(MetaResponse, Errors) {
  Status st = meta::parse_send_response(
                  400, graph_error(131047, "Re-engagement message", "Message failed to send because more than 24 hours have passed"),
                  std::nullopt)
                  .status();
  EXPECT_EQ(st.code(), Code::invalid_argument);
  EXPECT_NE(st.message().find("template"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("131047"), std::string::npos) << st.message();
  EXPECT_EQ(detail(st, "provider_code"), "131047");
  EXPECT_EQ(detail(st, "http_status"), "400");
  EXPECT_EQ(detail(st, "template_required"), "true");
  EXPECT_EQ(detail(st, "provider_subcode"), "2494010");

  for (int code : {130429, 131056, 80007}) {
    st = meta::parse_send_response(400, graph_error(code, "Rate limit hit"), 3000ms).status();
    EXPECT_EQ(st.code(), Code::unavailable) << code;
    EXPECT_EQ(detail(st, "retry_after_ms"), "3000");
    EXPECT_EQ(detail(st, "provider_code"), std::to_string(code));
  }
  st = meta::parse_send_response(429, "", 5000ms).status();
  EXPECT_EQ(st.code(), Code::unavailable);
  EXPECT_EQ(detail(st, "retry_after_ms"), "5000");
  st = meta::parse_send_response(503, "<html>down</html>", std::nullopt).status();
  EXPECT_EQ(st.code(), Code::unavailable);
  EXPECT_EQ(detail(st, "retry_after_ms"), "<absent>");

  st = meta::parse_send_response(400, graph_error(190, "Error validating access token"), std::nullopt).status();
  EXPECT_EQ(st.code(), Code::unauthenticated);
  st = meta::parse_send_response(401, "{}", std::nullopt).status();
  EXPECT_EQ(st.code(), Code::unauthenticated);
  st = meta::parse_send_response(403, graph_error(10, "Permission denied"), std::nullopt).status();
  EXPECT_EQ(st.code(), Code::permission_denied);
  st = meta::parse_send_response(400, graph_error(100, "Invalid parameter"), std::nullopt).status();
  EXPECT_EQ(st.code(), Code::invalid_argument);
  EXPECT_EQ(detail(st, "provider_code"), "100");
  EXPECT_EQ(detail(st, "template_required"), "<absent>");
  st = meta::parse_send_response(404, "", std::nullopt).status();
  EXPECT_EQ(st.code(), Code::invalid_argument);
  EXPECT_EQ(meta::error_status(404, "", std::nullopt, true).code(), Code::not_found);
}

// ---- webhooks ----------------------------------------------------------------------------------

TEST(MetaWebhook, TextWithContactAndContext) {
  auto b = meta::parse_webhook_body(one_message(
      R"({"from":"919800000002","id":"wamid.HBgM1","timestamp":"1768473000","type":"text","text":{"body":"Where is my container?"},"context":{"from":"15550001111","id":"wamid.prev"},"unknown_field":{"x":1}})"));
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  ASSERT_EQ(b->messages.size(), 1u);
  EXPECT_TRUE(b->statuses.empty());
  const auto& m = b->messages[0];
  EXPECT_EQ(m.channel, "whatsapp");
  EXPECT_EQ(m.provider, "meta");
  EXPECT_EQ(m.provider_id, "wamid.HBgM1");
  EXPECT_EQ(m.from, "919800000002");
  EXPECT_EQ(m.from_user_id, "IN.1502576394655843");
  EXPECT_EQ(m.to, "15550001111");
  EXPECT_EQ(m.profile_name, "Ravi");
  EXPECT_EQ(m.content_type, "text");
  EXPECT_EQ(m.text, "Where is my container?");
  EXPECT_EQ(m.reply_to_provider_id, "wamid.prev");
  ASSERT_TRUE(m.timestamp.has_value());
  EXPECT_EQ(m.timestamp->time_since_epoch(), std::chrono::milliseconds(1768473000000));
}

TEST(MetaWebhook, BsuidSender) {
  // A username user without a phone-based interaction: from carries the BSUID.
  auto b = meta::parse_webhook_body(one_message(
      R"({"from":"IN.9988776655443322","id":"wamid.B","timestamp":"1768473000","type":"text","text":{"body":"hi"}})",
      R"([{"profile":{"name":"Asha"},"user_id":"IN.9988776655443322"},{"profile":{"name":"Other"},"wa_id":"1"}])"));
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  const auto& m = b->messages[0];
  EXPECT_EQ(m.from, "IN.9988776655443322");
  EXPECT_EQ(m.from_user_id, "IN.9988776655443322");
  EXPECT_EQ(m.profile_name, "Asha");

  // No contacts block at all: still fine.
  b = meta::parse_webhook_body(envelope(
      std::string("{") + kMetadata +
      R"(,"messages":[{"from":"IN.ENT.12345","id":"wamid.C","type":"text","text":{"body":"x"}}]})"));
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  EXPECT_EQ(b->messages[0].from_user_id, "IN.ENT.12345");
  EXPECT_EQ(b->messages[0].profile_name, "");
  EXPECT_FALSE(b->messages[0].timestamp.has_value());
}

TEST(MetaWebhook, Media) {
  auto m = parse_one(
      R"({"from":"919800000002","id":"wamid.I","timestamp":"1768473000","type":"image","image":{"id":"MEDIA_IMG","mime_type":"image/jpeg","sha256":"abc=","caption":"Damaged seal"}})");
  EXPECT_EQ(m.content_type, "image");
  EXPECT_EQ(m.text, "Damaged seal");
  ASSERT_EQ(m.media.size(), 1u);
  EXPECT_EQ(m.media[0].kind, "image");
  EXPECT_EQ(m.media[0].media_id, "MEDIA_IMG");
  EXPECT_EQ(m.media[0].media_type, "image/jpeg");
  EXPECT_EQ(m.media[0].caption, "Damaged seal");
  EXPECT_FALSE(m.media[0].voice_note);

  m = parse_one(
      R"({"from":"919800000002","id":"wamid.A","type":"audio","audio":{"id":"MEDIA_AUD","mime_type":"audio/ogg; codecs=opus","voice":true}})");
  EXPECT_EQ(m.content_type, "audio");
  ASSERT_EQ(m.media.size(), 1u);
  EXPECT_TRUE(m.media[0].voice_note);
  EXPECT_EQ(m.media[0].media_type, "audio/ogg; codecs=opus");

  m = parse_one(
      R"({"from":"919800000002","id":"wamid.D","type":"document","document":{"id":"MEDIA_DOC","mime_type":"application/pdf","filename":"BL-MAEU1234.pdf","caption":"BL draft"}})");
  EXPECT_EQ(m.content_type, "document");
  EXPECT_EQ(m.media[0].filename, "BL-MAEU1234.pdf");
  EXPECT_EQ(m.media[0].caption, "BL draft");

  m = parse_one(
      R"({"from":"919800000002","id":"wamid.V","type":"video","video":{"id":"MEDIA_VID","mime_type":"video/mp4"}})");
  EXPECT_EQ(m.content_type, "video");
  EXPECT_EQ(m.media[0].media_id, "MEDIA_VID");

  m = parse_one(
      R"({"from":"919800000002","id":"wamid.S","type":"sticker","sticker":{"id":"MEDIA_STK","mime_type":"image/webp","animated":false}})");
  EXPECT_EQ(m.content_type, "sticker");
  EXPECT_EQ(m.media[0].kind, "sticker");

  // A media object without its id is an error naming the path.
  auto b = meta::parse_webhook_body(one_message(
      R"({"from":"919800000002","id":"wamid.X","type":"image","image":{"mime_type":"image/jpeg"}})"));
  EXPECT_EQ(b.status().code(), Code::invalid_argument);
  EXPECT_EQ(b.status().message(), "entry[0].changes[0].value.messages[0].image.id: missing");
}

TEST(MetaWebhook, LocationContactsInteractive) {
  auto m = parse_one(
      R"({"from":"919800000002","id":"wamid.L","type":"location","location":{"latitude":18.95,"longitude":72.95,"name":"JNPT","address":"Nhava Sheva"}})");
  EXPECT_EQ(m.content_type, "location");
  EXPECT_EQ(m.text, "JNPT, Nhava Sheva (18.95,72.95)");
  m = parse_one(
      R"({"from":"919800000002","id":"wamid.L2","type":"location","location":{"latitude":-33.5,"longitude":151.25}})");
  EXPECT_EQ(m.text, "(-33.5,151.25)");

  m = parse_one(
      R"({"from":"919800000002","id":"wamid.C","type":"contacts","contacts":[{"name":{"formatted_name":"Priya CHA","first_name":"Priya"},"phones":[{"phone":"+91 98000 00003","wa_id":"919800000003","type":"WORK"},{"phone":"+91 22 5555 0000"}]}]})");
  EXPECT_EQ(m.content_type, "contacts");
  EXPECT_EQ(m.text, "Priya CHA: +91 98000 00003, +91 22 5555 0000");

  m = parse_one(
      R"({"from":"919800000002","id":"wamid.IB","type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"ok","title":"Confirm"}},"context":{"id":"wamid.ask"}})");
  EXPECT_EQ(m.content_type, "interactive");
  EXPECT_EQ(m.text, "Confirm");
  EXPECT_EQ(m.reply_to_provider_id, "wamid.ask");

  m = parse_one(
      R"({"from":"919800000002","id":"wamid.IL","type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"r1","title":"Sea freight","description":"FCL/LCL"}}})");
  EXPECT_EQ(m.text, "Sea freight");

  m = parse_one(
      R"({"from":"919800000002","id":"wamid.IN","type":"interactive","interactive":{"type":"nfm_reply","nfm_reply":{"name":"flow","body":"Sent","response_json":"{\"pickup\":\"Mumbai\"}"}}})");
  EXPECT_EQ(m.content_type, "interactive");
  EXPECT_EQ(m.text, R"({"pickup":"Mumbai"})");

  m = parse_one(
      R"({"from":"919800000002","id":"wamid.BT","type":"button","button":{"payload":"ACK_BWX123","text":"Acknowledge"}})");
  EXPECT_EQ(m.content_type, "button");
  EXPECT_EQ(m.text, "Acknowledge");

  m = parse_one(
      R"({"from":"919800000002","id":"wamid.R","type":"reaction","reaction":{"message_id":"wamid.ours","emoji":"👍"}})");
  EXPECT_EQ(m.content_type, "reaction");
  EXPECT_EQ(m.text, "👍");
  EXPECT_EQ(m.reply_to_provider_id, "wamid.ours");

  m = parse_one(
      R"({"from":"919800000002","id":"wamid.U","type":"unsupported","errors":[{"code":131051,"title":"Message type unknown"}]})");
  EXPECT_EQ(m.content_type, "unsupported");
  m = parse_one(R"({"from":"919800000002","id":"wamid.O","type":"order","order":{"catalog_id":"1"}})");
  EXPECT_EQ(m.content_type, "unsupported");
}

TEST(MetaWebhook, Statuses) {
  std::string value = std::string("{") + kMetadata + R"(,"statuses":[
    {"id":"wamid.1","status":"sent","timestamp":"1768473050","recipient_id":"919800000002","biz_opaque_callback_data":"msg-01HZX","pricing":{"billable":true,"pricing_model":"PMP","category":"utility","type":"regular"}},
    {"id":"wamid.1","status":"delivered","timestamp":"1768473051","recipient_id":"919800000002"},
    {"id":"wamid.1","status":"read","timestamp":"1768473052","recipient_id":"919800000002"},
    {"id":"wamid.2","status":"played","timestamp":"1768473053","recipient_id":"919800000002"},
    {"id":"wamid.3","status":"failed","timestamp":"1768473054","recipient_id":"919800000002","biz_opaque_callback_data":"msg-3",
     "errors":[{"code":131047,"title":"Re-engagement message","message":"Re-engagement message","error_data":{"details":"More than 24 hours have passed"}}]},
    {"id":"wamid.4","status":"deleted","timestamp":"1768473055"}]})";
  auto b = meta::parse_webhook_body(envelope(value));
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  EXPECT_TRUE(b->messages.empty());
  ASSERT_EQ(b->statuses.size(), 5u);  // the unknown "deleted" is skipped
  EXPECT_EQ(b->statuses[0].provider, "meta");
  EXPECT_EQ(b->statuses[0].provider_id, "wamid.1");
  EXPECT_EQ(b->statuses[0].status, DeliveryStatus::sent);
  EXPECT_EQ(b->statuses[0].provider_status, "sent");
  EXPECT_EQ(b->statuses[0].reference, "msg-01HZX");
  EXPECT_EQ(b->statuses[0].timestamp->time_since_epoch(), std::chrono::milliseconds(1768473050000));
  EXPECT_EQ(b->statuses[1].status, DeliveryStatus::delivered);
  EXPECT_EQ(b->statuses[2].status, DeliveryStatus::read);
  EXPECT_EQ(b->statuses[3].status, DeliveryStatus::read);
  EXPECT_EQ(b->statuses[3].provider_status, "played");
  const auto& f = b->statuses[4];
  EXPECT_EQ(f.status, DeliveryStatus::failed);
  EXPECT_EQ(f.error_code, "131047");
  EXPECT_EQ(f.reference, "msg-3");
  EXPECT_NE(f.error_message.find("Re-engagement message"), std::string::npos);
  EXPECT_NE(f.error_message.find("More than 24 hours"), std::string::npos);
}

TEST(MetaWebhook, ManyEntriesAndChanges) {
  std::string body =
      R"({"object":"whatsapp_business_account","entry":[
        {"id":"W1","changes":[
          {"field":"message_template_status_update","value":{"event":"APPROVED"}},
          {"field":"messages","value":{"messaging_product":"whatsapp","messages":[{"from":"1","id":"wamid.a","type":"text","text":{"body":"a"}}]}}]},
        {"id":"W2","changes":[
          {"field":"messages","value":{"messaging_product":"whatsapp","statuses":[{"id":"wamid.b","status":"delivered"}],
            "messages":[{"from":"2","id":"wamid.c","type":"text","text":{"body":"c"}}]}}]}]})";
  auto b = meta::parse_webhook_body(body);
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  ASSERT_EQ(b->messages.size(), 2u);
  EXPECT_EQ(b->messages[0].provider_id, "wamid.a");
  EXPECT_EQ(b->messages[1].provider_id, "wamid.c");
  ASSERT_EQ(b->statuses.size(), 1u);
}

TEST(MetaWebhook, NonMessageChangesGiveEmptyBatch) {
  auto b = meta::parse_webhook_body(envelope(R"({"event":"APPROVED","message_template_id":1})",
                                             "message_template_status_update"));
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  EXPECT_TRUE(b->messages.empty() && b->statuses.empty() && b->calls.empty());
  b = meta::parse_webhook_body(R"({"object":"page","entry":[]})");
  ASSERT_TRUE(b.ok());
  b = meta::parse_webhook_body(R"({"object":"whatsapp_business_account","entry":[]})");
  ASSERT_TRUE(b.ok());
}

TEST(MetaWebhook, ErrorsNameThePath) {
  auto code_msg = [](const std::string& body) {
    auto b = meta::parse_webhook_body(body);
    EXPECT_FALSE(b.ok());
    return std::make_pair(b.status().code(), b.status().message());
  };
  EXPECT_EQ(code_msg("{not json").first, Code::invalid_argument);
  EXPECT_EQ(code_msg("[]").first, Code::invalid_argument);
  EXPECT_EQ(code_msg(R"({"object":"whatsapp_business_account"})").second, "entry: missing");
  EXPECT_EQ(code_msg(R"({"entry":[{"id":"1"}]})").second, "entry[0].changes: missing");
  EXPECT_EQ(code_msg(R"({"entry":[{"changes":[{"field":"messages"}]}]})").second,
            "entry[0].changes[0].value: missing");
  std::string two_changes = R"({"entry":[{"changes":[
      {"field":"messages","value":{"messages":[{"from":"1","id":"wamid.ok","type":"text","text":{"body":"a"}}]}},
      {"field":"messages","value":{"messages":[{"from":"1","type":"text","text":{"body":"a"}}]}}]}]})";
  EXPECT_EQ(code_msg(two_changes).second, "entry[0].changes[1].value.messages[0].id: missing");
  EXPECT_EQ(code_msg(one_message(R"({"id":"wamid.x","type":"text","text":{"body":"a"}})")).second,
            "entry[0].changes[0].value.messages[0].from: missing");
  EXPECT_EQ(code_msg(one_message(R"({"from":"1","id":"wamid.x","text":{"body":"a"}})")).second,
            "entry[0].changes[0].value.messages[0].type: missing");
  EXPECT_EQ(code_msg(one_message(R"({"from":"1","id":"wamid.x","type":"text","timestamp":"soon","text":{"body":"a"}})")).second,
            "entry[0].changes[0].value.messages[0].timestamp: not a Unix timestamp");
  EXPECT_EQ(code_msg(one_message(R"({"from":1,"id":"wamid.x","type":"text"})")).second,
            "entry[0].changes[0].value.messages[0].from: expected a string");
  EXPECT_EQ(code_msg(envelope(R"({"statuses":[{"id":"wamid.1"}]})")).second,
            "entry[0].changes[0].value.statuses[0].status: missing");
}

TEST(MetaWebhook, ProviderInterface) {
  Provider* p = provider_for("meta");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->name(), "meta");
  WebhookRequest req;
  req.content_type = "application/json";
  req.body = sample_body();
  auto b = p->parse_webhook("whatsapp", req);
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  EXPECT_EQ(b->messages.size(), 1u);
  EXPECT_EQ(p->parse_webhook("sms", req).status().code(), Code::invalid_argument);
}

// ---- network -----------------------------------------------------------------------------------

TEST(MetaNetwork, SendTextRequestAndReceipt) {
  HttpStub stub([](const StubRequest&) {
    StubResponse r;
    r.body = R"({"messaging_product":"whatsapp","contacts":[{"input":"919800000002","wa_id":"919800000002"}],"messages":[{"id":"wamid.SENT1","message_status":"accepted"}]})";
    return r;
  });
  ProviderAccount a = account(stub.base_url() + "/");
  a.graph_version = "v22.0";
  meta::MetaProvider p;
  OutboundMessage m;
  m.channel = "whatsapp";
  m.to = "919800000002";
  m.text = "Container released";
  m.reference = "msg-42";
  auto r = p.send(a, m);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->provider_id, "wamid.SENT1");
  EXPECT_EQ(r->status, DeliveryStatus::queued);

  ASSERT_EQ(stub.request_count(), 1u);
  auto req = stub.requests()[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/v22.0/" + a.phone_number_id + "/messages");
  EXPECT_EQ(req.header("Authorization"), "Bearer EAAG-secret-token");
  EXPECT_NE(req.header("Content-Type").find("application/json"), std::string::npos);
  EXPECT_EQ(req.target.find(a.access_token), std::string::npos);
  auto d = parse(req.body);
  EXPECT_EQ(str(d, "messaging_product"), "whatsapp");
  EXPECT_EQ(str(d, "to"), "919800000002");
  EXPECT_EQ(str(d, "type"), "text");
  EXPECT_EQ(str(d["text"], "body"), "Container released");
  EXPECT_EQ(str(d, "biz_opaque_callback_data"), "msg-42");
}

StubResponse respond(int status, std::string body,
                     std::vector<std::pair<std::string, std::string>> headers = {}) {
  StubResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

OutboundMessage hello() {
  OutboundMessage m;
  m.channel = "whatsapp";
  m.to = "919800000002";
  m.text = "hello";
  return m;
}

TEST(MetaNetwork, ErrorStatuses) {
  std::atomic<int> mode{0};
  HttpStub stub([&mode](const StubRequest&) {
    switch (mode.load()) {
      case 0: return respond(401, graph_error(190, "Error validating access token"));
      case 1: return respond(429, graph_error(130429, "Rate limit hit"), {{"Retry-After", "7"}});
      case 2: return respond(500, R"({"error":{"message":"An unknown error occurred","code":1}})");
      default:
        return respond(400, graph_error(131047, "Re-engagement message",
                                        "Message failed to send because more than 24 hours have passed"));
    }
  });
  ProviderAccount a = account(stub.base_url());
  meta::MetaProvider p;

  Status st = p.send(a, hello()).status();
  EXPECT_EQ(st.code(), Code::unauthenticated);
  EXPECT_EQ(st.message().find(a.access_token), std::string::npos);

  mode = 1;
  st = p.send(a, hello()).status();
  EXPECT_EQ(st.code(), Code::unavailable);
  EXPECT_EQ(detail(st, "retry_after_ms"), "7000");
  EXPECT_EQ(detail(st, "http_status"), "429");

  mode = 2;
  st = p.send(a, hello()).status();
  EXPECT_EQ(st.code(), Code::unavailable);
  EXPECT_EQ(detail(st, "http_status"), "500");

  mode = 3;
  st = p.send(a, hello()).status();
  EXPECT_EQ(st.code(), Code::invalid_argument);
  EXPECT_EQ(detail(st, "provider_code"), "131047");
  EXPECT_NE(st.message().find("template"), std::string::npos);
  EXPECT_EQ(stub.request_count(), 4u);
}

TEST(MetaNetwork, Timeout) {
  HttpStub stub([](const StubRequest&) {
    StubResponse r = respond(200, R"({"messages":[{"id":"wamid.late"}]})");
    r.delay = 2500ms;
    return r;
  });
  ProviderAccount a = account(stub.base_url());
  a.timeout = 1s;
  meta::MetaProvider p;
  auto t0 = std::chrono::steady_clock::now();
  Status st = p.send(a, hello()).status();
  EXPECT_EQ(st.code(), Code::unavailable) << st.to_string();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2400ms);
}

TEST(MetaNetwork, MediaTwoStepDownload) {
  std::string base;
  HttpStub stub([&base](const StubRequest& r) {
    if (r.path() == "/v21.0/MEDIA_IMG")
      return respond(200, R"({"url":")" + base +
                              R"(/whatsapp_business/attachments/?mid=MEDIA_IMG&ext=1&hash=x","mime_type":"image/jpeg","sha256":"abc","file_size":11,"id":"MEDIA_IMG","messaging_product":"whatsapp"})");
    if (r.path() == "/whatsapp_business/attachments/") {
      StubResponse res = respond(200, std::string("JPEG\0bytes!", 11));
      res.content_type = "image/jpeg";
      return res;
    }
    return respond(404, R"({"error":{"message":"Unsupported get request","code":100}})");
  });
  base = stub.base_url();
  ProviderAccount a = account(base);
  meta::MetaProvider p;
  Media m;
  m.kind = "image";
  m.media_id = "MEDIA_IMG";
  auto bytes = p.fetch_media(a, m);
  ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
  EXPECT_EQ(*bytes, std::string("JPEG\0bytes!", 11));
  auto reqs = stub.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[0].target, "/v21.0/MEDIA_IMG");
  EXPECT_EQ(reqs[0].header("Authorization"), "Bearer EAAG-secret-token");
  EXPECT_EQ(reqs[1].method, "GET");
  EXPECT_EQ(reqs[1].target, "/whatsapp_business/attachments/?mid=MEDIA_IMG&ext=1&hash=x");
  EXPECT_EQ(reqs[1].header("Authorization"), "Bearer EAAG-secret-token");

  // Unknown media id: not_found.
  m.media_id = "NOPE";
  EXPECT_EQ(p.fetch_media(a, m).status().code(), Code::not_found);
}

TEST(MetaNetwork, MediaHostNotAllowedGetsNoToken) {
  HttpStub stub([](const StubRequest&) {
    return respond(200, R"({"url":"https://evil.example/steal?x=1","id":"M1"})");
  });
  ProviderAccount a = account(stub.base_url());
  meta::MetaProvider p;
  Media m;
  m.media_id = "M1";
  Status st = p.fetch_media(a, m).status();
  EXPECT_EQ(st.code(), Code::permission_denied);
  EXPECT_NE(st.message().find("evil.example"), std::string::npos);
  EXPECT_EQ(stub.request_count(), 1u);
}

TEST(MetaNetwork, MediaUrlPolicy) {
  ProviderAccount a = account("http://127.0.0.1:8081");
  EXPECT_TRUE(meta::media_url_allowed(a, "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1"));
  EXPECT_TRUE(meta::media_url_allowed(a, "https://scontent.xx.fbcdn.net/v/t1/abc.jpg"));
  EXPECT_TRUE(meta::media_url_allowed(a, "https://mmg.whatsapp.net/d/f/abc.enc"));
  EXPECT_TRUE(meta::media_url_allowed(a, "https://graph.facebook.com/v21.0/x"));
  EXPECT_TRUE(meta::media_url_allowed(a, "http://127.0.0.1:8081/media"));
  EXPECT_FALSE(meta::media_url_allowed(a, "http://127.0.0.1:8082/media"));
  EXPECT_FALSE(meta::media_url_allowed(a, "http://lookaside.fbsbx.com/x"));  // not https
  EXPECT_FALSE(meta::media_url_allowed(a, "https://evilfbsbx.com/x"));
  EXPECT_FALSE(meta::media_url_allowed(a, "https://fbsbx.com.evil.example/x"));
  EXPECT_FALSE(meta::media_url_allowed(a, "https://user:pw@lookaside.fbsbx.com/x"));
  EXPECT_FALSE(meta::media_url_allowed(a, "https://lookaside.fbsbx.com@evil.example/x"));
  EXPECT_FALSE(meta::media_url_allowed(a, "lookaside.fbsbx.com/x"));
}

TEST(MetaNetwork, NoVoiceNoPolling) {
  meta::MetaProvider p;
  ProviderAccount a = account();
  EXPECT_EQ(p.start_call(a, CallRequest{}).status().code(), Code::invalid_argument);
  Status st = p.poll_message(a, "wamid.1").status();
  EXPECT_EQ(st.code(), Code::invalid_argument);
  EXPECT_NE(st.message().find("webhook"), std::string::npos);
  EXPECT_EQ(p.poll_call(a, "x").status().code(), Code::invalid_argument);
}

TEST(MetaNetwork, ClientSideRateLimit) {
  HttpStub stub([](const StubRequest&) { return respond(200, R"({"messages":[{"id":"wamid.ok"}]})"); });
  ProviderAccount a = account(stub.base_url());
  a.requests_per_minute = 1;  // one token, refilled after a minute
  meta::MetaProvider p;
  ASSERT_TRUE(p.send(a, hello()).ok());
  auto t0 = std::chrono::steady_clock::now();
  Status st = p.send(a, hello()).status();
  EXPECT_EQ(st.code(), Code::unavailable);
  std::string ms = detail(st, "retry_after_ms");
  ASSERT_NE(ms, "<absent>");
  EXPECT_GT(std::stoll(ms), 2000);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);  // did not block for the whole minute
  EXPECT_EQ(stub.request_count(), 1u);
}

TEST(MetaNetwork, MissingCredentials) {
  meta::MetaProvider p;
  ProviderAccount a = account("http://127.0.0.1:1");
  a.access_token.clear();
  EXPECT_EQ(p.send(a, hello()).status().code(), Code::unauthenticated);
  a = account("http://127.0.0.1:1");
  a.phone_number_id.clear();
  EXPECT_EQ(p.send(a, hello()).status().code(), Code::invalid_argument);
}

}  // namespace
}  // namespace banxway::messaging
