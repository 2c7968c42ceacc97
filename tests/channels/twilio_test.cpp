// The Twilio adapter: X-Twilio-Signature (PROTOCOLS.md §2.1 vector, port variants, bodySHA256),
// request building, answer and webhook parsing (pure), then messages, calls, polling and media
// against a loopback stand-in (bxtest::HttpStub).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <string>

#include "channels/twilio/twilio.hpp"
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
  a.provider = "twilio";
  a.channel = "sms";
  a.base_url = base;
  a.allow_private_network = true;
  static std::atomic<int> n{0};
  a.account_sid = "AC0123456789abcdef" + std::to_string(n++);  // own limiter bucket per test
  a.auth_token = "twilio-auth-token-xyz";
  a.from = "+15550001111";
  a.timeout = 5s;
  return a;
}

std::string detail(const Status& st, const char* key) {
  json::Document d;
  if (st.details().empty() || !json::parse(st.details(), &d).ok()) return "<none>";
  const json::Value* v = json::get(d, key);
  if (!v) return "<absent>";
  if (v->IsString()) return v->GetString();
  return json::stringify(*v);
}

std::multimap<std::string, std::string> fields_of(const std::string& body) {
  auto f = net::form_decode(body);
  EXPECT_TRUE(f.ok()) << body;
  std::multimap<std::string, std::string> out;
  if (f.ok())
    for (auto& [k, v] : *f) out.emplace(k, v);
  return out;
}

std::string one(const std::multimap<std::string, std::string>& f, const std::string& k) {
  auto it = f.find(k);
  return it == f.end() ? "<absent>" : it->second;
}

const char* kVectorUrl = "https://mycompany.com/myapp.php?foo=1&bar=2";
const net::FormFields kVectorParams = {{"CallSid", "CA1234567890ABCDE"},
                                       {"Caller", "+12349013030"},
                                       {"Digits", "1234"},
                                       {"From", "+12349013030"},
                                       {"To", "+18005551212"}};
const char* kVectorSignature = "0/KCTR6DLpKmkAf8muzZqo1nDgQ=";

WebhookRequest form_request(const std::string& url, const std::string& body,
                            const std::string& signature) {
  WebhookRequest req;
  req.url = url;
  req.content_type = "application/x-www-form-urlencoded";
  req.body = body;
  req.headers = {{"X-Twilio-Signature", signature}};
  return req;
}

// ---- signatures --------------------------------------------------------------------------------

TEST(TwilioSignature, ProtocolsVector) {
  EXPECT_EQ(twilio::compute_signature("12345", kVectorUrl, kVectorParams), kVectorSignature);
  // The parameter order on the wire does not matter.
  net::FormFields shuffled(kVectorParams.rbegin(), kVectorParams.rend());
  EXPECT_EQ(twilio::compute_signature("12345", kVectorUrl, shuffled), kVectorSignature);
  // The signed string, spelled out.
  std::string data = std::string(kVectorUrl) +
                     "CallSidCA1234567890ABCDECaller+12349013030Digits1234From+12349013030To+18005551212";
  EXPECT_EQ(crypto::base64_encode(twilio::hmac_sha1("12345", data)), kVectorSignature);

  std::string body = net::form_encode(shuffled);
  EXPECT_TRUE(twilio::verify_signature("12345", form_request(kVectorUrl, body, kVectorSignature)).ok());
  EXPECT_EQ(twilio::verify_signature("12346", form_request(kVectorUrl, body, kVectorSignature)).code(),
            Code::unauthenticated);
  // Through the provider interface, with the token from the account.
  Provider* p = provider_for("twilio");
  ASSERT_NE(p, nullptr);
  ProviderAccount a = account();
  a.auth_token = "12345";
  EXPECT_TRUE(p->verify_webhook(a, form_request(kVectorUrl, body, kVectorSignature)).ok());
}

TEST(TwilioSignature, EveryBodyBitFlipRejected) {
  const std::string body = net::form_encode(kVectorParams);  // '+' travels as %2B
  ASSERT_TRUE(twilio::verify_signature("12345", form_request(kVectorUrl, body, kVectorSignature)).ok());
  auto decoded_sorted = [](const std::string& b) -> std::optional<net::FormFields> {
    auto f = net::form_decode(b);
    if (!f.ok()) return std::nullopt;
    std::sort(f->begin(), f->end());
    return *f;
  };
  const auto original = decoded_sorted(body);
  int equivalent = 0;
  for (size_t i = 0; i < body.size(); ++i)
    for (int bit = 0; bit < 8; ++bit) {
      std::string b = body;
      b[i] = static_cast<char>(b[i] ^ (1 << bit));
      Status st = twilio::verify_signature("12345", form_request(kVectorUrl, b, kVectorSignature));
      if (decoded_sorted(b) == original) {
        // Twilio signs decoded values: "%2b" and "%2B" are the same parameter. Only the case of a
        // percent-escape's hex letter can do this.
        ++equivalent;
        EXPECT_TRUE(st.ok());
        continue;
      }
      ASSERT_EQ(st.code(), Code::unauthenticated) << "byte " << i << " bit " << bit;
    }
  EXPECT_EQ(equivalent, 3);  // the 'B' of the three "%2B"
}

TEST(TwilioSignature, EverySignatureBitFlipRejected) {
  const std::string body = net::form_encode(kVectorParams);
  const std::string sig = kVectorSignature;
  for (size_t i = 0; i < sig.size(); ++i)
    for (int bit = 0; bit < 8; ++bit) {
      std::string s = sig;
      s[i] = static_cast<char>(s[i] ^ (1 << bit));
      ASSERT_EQ(twilio::verify_signature("12345", form_request(kVectorUrl, body, s)).code(),
                Code::unauthenticated)
          << "byte " << i << " bit " << bit;
    }
}

TEST(TwilioSignature, PortVariants) {
  const std::string body = net::form_encode(kVectorParams);
  const std::string with443 = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
  // Twilio signed with the default port; we were called without it, and the reverse.
  std::string sig443 = twilio::compute_signature("12345", with443, kVectorParams);
  EXPECT_TRUE(twilio::verify_signature("12345", form_request(kVectorUrl, body, sig443)).ok());
  EXPECT_TRUE(twilio::verify_signature("12345", form_request(with443, body, kVectorSignature)).ok());
  EXPECT_TRUE(twilio::verify_signature("12345", form_request(with443, body, sig443)).ok());
  // http and :80.
  std::string sig80 = twilio::compute_signature("12345", "http://h.example:80/in?x=1", {});
  EXPECT_TRUE(twilio::verify_signature("12345", form_request("http://h.example/in?x=1", "", sig80)).ok());
  // Another port is not a default-port variant of a port-less URL.
  std::string sig8443 = twilio::compute_signature("12345", "https://mycompany.com:8443/myapp.php?foo=1&bar=2", kVectorParams);
  EXPECT_EQ(twilio::verify_signature("12345", form_request(kVectorUrl, body, sig8443)).code(),
            Code::unauthenticated);
  EXPECT_TRUE(twilio::verify_signature(
                  "12345", form_request("https://mycompany.com:8443/myapp.php?foo=1&bar=2", body, sig8443))
                  .ok());

  auto v = twilio::url_variants("https://a.example/p?q=1");
  EXPECT_EQ(v, (std::vector<std::string>{"https://a.example/p?q=1", "https://a.example:443/p?q=1"}));
  v = twilio::url_variants("https://a.example:443/p");
  EXPECT_EQ(v, (std::vector<std::string>{"https://a.example:443/p", "https://a.example/p"}));
  v = twilio::url_variants("http://u:pw@a.example?x");
  EXPECT_EQ(v, (std::vector<std::string>{"http://u:pw@a.example?x", "http://u:pw@a.example:80?x"}));
  v = twilio::url_variants("https://[2001:db8::1]:8443/x");
  EXPECT_EQ(v, (std::vector<std::string>{"https://[2001:db8::1]:8443/x", "https://[2001:db8::1]/x"}));
}

TEST(TwilioSignature, RepeatedNamesSortValues) {
  const std::string url = "https://h.example/hook";
  const std::string body = "A=b&B=c&A=a&A=%C3%A9";  // é sorts after ASCII by bytes
  std::string expected = crypto::base64_encode(
      twilio::hmac_sha1("tok", url + "AaAbA\xC3\xA9" "Bc"));
  EXPECT_TRUE(twilio::verify_signature("tok", form_request(url, body, expected)).ok());
  // Sorting by value only within a name, never across names.
  std::string wrong = crypto::base64_encode(twilio::hmac_sha1("tok", url + "AbBcAaA\xC3\xA9"));
  EXPECT_EQ(twilio::verify_signature("tok", form_request(url, body, wrong)).code(),
            Code::unauthenticated);
}

TEST(TwilioSignature, JsonBodySha256) {
  const std::string body = R"({"event":"com.twilio.messaging.message.delivered","sid":"SM1"})";
  const std::string url = "https://h.example/hook?bodySHA256=" + crypto::sha256_hex(body);
  const std::string sig = twilio::compute_signature("tok", url, {});
  WebhookRequest req;
  req.url = url;
  req.content_type = "application/json";
  req.body = body;
  req.headers = {{"X-Twilio-Signature", sig}};
  EXPECT_TRUE(twilio::verify_signature("tok", req).ok());

  WebhookRequest changed = req;
  changed.body[10] ^= 1;
  EXPECT_EQ(twilio::verify_signature("tok", changed).code(), Code::unauthenticated);
  for (size_t i = 0; i < body.size(); ++i) {
    WebhookRequest r = req;
    r.body[i] = static_cast<char>(r.body[i] ^ 0x04);
    ASSERT_EQ(twilio::verify_signature("tok", r).code(), Code::unauthenticated) << i;
  }
  // A JSON body without bodySHA256 would be unsigned: refused even with a URL-only signature.
  WebhookRequest unsigned_body = req;
  unsigned_body.url = "https://h.example/hook";
  unsigned_body.headers = {{"X-Twilio-Signature", twilio::compute_signature("tok", unsigned_body.url, {})}};
  EXPECT_EQ(twilio::verify_signature("tok", unsigned_body).code(), Code::unauthenticated);
}

TEST(TwilioSignature, MissingHeaderOrToken) {
  const std::string body = net::form_encode(kVectorParams);
  WebhookRequest req = form_request(kVectorUrl, body, kVectorSignature);
  req.headers.clear();
  EXPECT_EQ(twilio::verify_signature("12345", req).code(), Code::unauthenticated);
  req = form_request(kVectorUrl, body, kVectorSignature);
  Status st = twilio::verify_signature("", req);
  EXPECT_EQ(st.code(), Code::unauthenticated);
  // Lower-case header name, surrounding spaces.
  req.headers = {{"x-twilio-signature", std::string(" ") + kVectorSignature + " "}};
  EXPECT_TRUE(twilio::verify_signature("12345", req).ok());
  // The message never carries the token.
  st = twilio::verify_signature("12345", form_request(kVectorUrl, body, "AAAA"));
  EXPECT_EQ(st.message().find("12345"), std::string::npos);
}

// ---- building requests ---------------------------------------------------------------------------

TEST(TwilioBuild, SmsAndWhatsApp) {
  ProviderAccount a = account();
  OutboundMessage m;
  m.channel = "sms";
  m.to = "+919800000002";
  m.text = "Your shipment BWX123 has arrived";
  m.status_callback_url = "https://hooks.example/twilio/status?ref=msg-1";
  auto f = twilio::build_message_form(a, m);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ(*f, (net::FormFields{{"To", "+919800000002"},
                                 {"From", "+15550001111"},
                                 {"Body", "Your shipment BWX123 has arrived"},
                                 {"StatusCallback", "https://hooks.example/twilio/status?ref=msg-1"}}));

  m.channel = "whatsapp";
  m.from = "whatsapp:+14155238886";
  m.status_callback_url.clear();
  Media img;
  img.kind = "image";
  img.url = "https://files.example/seal.jpg";
  m.media = img;
  f = twilio::build_message_form(a, m);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ(*f, (net::FormFields{{"To", "whatsapp:+919800000002"},
                                 {"From", "whatsapp:+14155238886"},
                                 {"Body", "Your shipment BWX123 has arrived"},
                                 {"MediaUrl", "https://files.example/seal.jpg"}}));

  // Media only, caption as body.
  m.text.clear();
  m.media->caption = "Seal";
  f = twilio::build_message_form(a, m);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)[2], (std::pair<std::string, std::string>{"Body", "Seal"}));

  // Messaging Service SID as sender.
  m.from = "MG0123456789abcdef0123456789abcdef";
  f = twilio::build_message_form(a, m);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)[1], (std::pair<std::string, std::string>{"MessagingServiceSid", m.from}));
}

TEST(TwilioBuild, ContentTemplate) {
  ProviderAccount a = account();
  OutboundMessage m;
  m.channel = "whatsapp";
  m.to = "+919800000002";
  TemplateMessage t;
  t.name = "HX0123456789abcdef0123456789abcdef";
  t.body_params = {"BWX123", "say \"hi\""};
  m.template_message = t;
  m.text = "ignored";
  auto f = twilio::build_message_form(a, m);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ(*f, (net::FormFields{{"To", "whatsapp:+919800000002"},
                                 {"From", "whatsapp:+15550001111"},
                                 {"ContentSid", t.name},
                                 {"ContentVariables", R"({"1":"BWX123","2":"say \"hi\""})"}}));
  m.template_message->name = "shipment_delay";
  EXPECT_EQ(twilio::build_message_form(a, m).status().code(), Code::invalid_argument);
}

TEST(TwilioBuild, Refusals) {
  ProviderAccount a = account();
  OutboundMessage m;
  m.channel = "sms";
  m.to = "+919800000002";
  EXPECT_EQ(twilio::build_message_form(a, m).status().code(), Code::invalid_argument);  // empty
  m.text = std::string(1601, 'x');
  EXPECT_EQ(twilio::build_message_form(a, m).status().code(), Code::invalid_argument);
  m.text = "ok";
  m.channel = "voice";
  EXPECT_EQ(twilio::build_message_form(a, m).status().code(), Code::invalid_argument);
  m.channel = "sms";
  a.from.clear();
  EXPECT_EQ(twilio::build_message_form(a, m).status().code(), Code::invalid_argument);
  a = account();
  Media by_id;
  by_id.media_id = "123";
  m.media = by_id;
  EXPECT_EQ(twilio::build_message_form(a, m).status().code(), Code::invalid_argument);
}

TEST(TwilioBuild, DialTwimlEscaping) {
  auto x = twilio::build_dial_twiml("+91 98000 00002", "+15550001111", 0);
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(*x, R"(<Response><Dial callerId="+15550001111">+91 98000 00002</Dial></Response>)");
  x = twilio::build_dial_twiml(R"(1</Dial><Play>x&y</Play>"')", R"(a"b)", 600);
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(*x,
            R"(<Response><Dial callerId="a&quot;b" timeLimit="600">1&lt;/Dial&gt;&lt;Play&gt;x&amp;y&lt;/Play&gt;&quot;&apos;</Dial></Response>)");
  EXPECT_EQ(twilio::build_dial_twiml("1\n2", "", 0).status().code(), Code::invalid_argument);
  EXPECT_EQ(twilio::build_dial_twiml("", "", 0).status().code(), Code::invalid_argument);
}

TEST(TwilioBuild, CallForm) {
  ProviderAccount a = account();
  CallRequest r;
  r.from = "+919800000010";  // agent
  r.to = "+919800000002";    // customer
  r.record = true;
  r.status_callback_url = "https://hooks.example/twilio/voice";
  auto f = twilio::build_call_form(a, r);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ(*f, (net::FormFields{
                    {"From", "+15550001111"},
                    {"To", "+919800000010"},
                    {"Twiml", R"(<Response><Dial callerId="+15550001111">+919800000002</Dial></Response>)"},
                    {"StatusCallback", "https://hooks.example/twilio/voice"},
                    {"StatusCallbackMethod", "POST"},
                    {"StatusCallbackEvent", "answered"},
                    {"StatusCallbackEvent", "completed"},
                    {"Record", "true"}}));
  r.caller_id = "+15559990000";
  r.record = false;
  r.status_callback_url.clear();
  r.time_limit_seconds = 300;
  f = twilio::build_call_form(a, r);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*f, (net::FormFields{
                    {"From", "+15559990000"},
                    {"To", "+919800000010"},
                    {"Twiml", R"(<Response><Dial callerId="+15559990000" timeLimit="300">+919800000002</Dial></Response>)"},
                    {"TimeLimit", "300"}}));
  r.from.clear();
  EXPECT_EQ(twilio::build_call_form(a, r).status().code(), Code::invalid_argument);
}

// ---- answers and resources -------------------------------------------------------------------

TEST(TwilioResponse, StatusMapping) {
  using DS = DeliveryStatus;
  const std::pair<const char*, DS> cases[] = {
      {"queued", DS::queued},   {"accepted", DS::queued},  {"scheduled", DS::queued},
      {"sending", DS::queued},  {"sent", DS::sent},         {"delivered", DS::delivered},
      {"read", DS::read},       {"undelivered", DS::failed}, {"failed", DS::failed},
      {"canceled", DS::failed}, {"partially_delivered", DS::sent}};
  for (auto [s, want] : cases) {
    auto got = twilio::map_message_status(s);
    ASSERT_TRUE(got.has_value()) << s;
    EXPECT_EQ(*got, want) << s;
  }
  EXPECT_FALSE(twilio::map_message_status("received").has_value());
}

TEST(TwilioResponse, SendAndErrors) {
  auto r = twilio::parse_send_response(
      201, R"({"sid":"SM123","status":"queued","error_code":null,"error_message":null,"num_segments":"1"})",
      std::nullopt);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->provider_id, "SM123");
  EXPECT_EQ(r->status, DeliveryStatus::queued);
  EXPECT_EQ(twilio::parse_send_response(201, "{}", std::nullopt).status().code(), Code::internal);

  const char* err = R"({"code":21211,"message":"The 'To' number +91 is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400})";
  Status st = twilio::parse_send_response(400, err, std::nullopt).status();
  EXPECT_EQ(st.code(), Code::invalid_argument);
  EXPECT_EQ(detail(st, "provider_code"), "21211");
  EXPECT_EQ(detail(st, "http_status"), "400");
  EXPECT_EQ(detail(st, "more_info"), "https://www.twilio.com/docs/errors/21211");
  EXPECT_NE(st.message().find("21211"), std::string::npos);

  st = twilio::parse_send_response(401, R"({"code":20003,"message":"Authenticate","status":401})", std::nullopt).status();
  EXPECT_EQ(st.code(), Code::unauthenticated);
  st = twilio::parse_send_response(429, R"({"code":20429,"message":"Too Many Requests","status":429})", 2000ms).status();
  EXPECT_EQ(st.code(), Code::unavailable);
  EXPECT_EQ(detail(st, "retry_after_ms"), "2000");
  st = twilio::parse_send_response(503, "", std::nullopt).status();
  EXPECT_EQ(st.code(), Code::unavailable);
  st = twilio::parse_send_response(403, R"({"code":20003,"message":"Forbidden"})", std::nullopt).status();
  EXPECT_EQ(st.code(), Code::permission_denied);
  EXPECT_EQ(twilio::error_status(404, "", std::nullopt, true).code(), Code::not_found);
  EXPECT_EQ(twilio::error_status(404, "", std::nullopt, false).code(), Code::invalid_argument);
}

TEST(TwilioResponse, Resources) {
  auto u = twilio::parse_message_resource(
      R"({"sid":"SM1","status":"undelivered","error_code":30003,"error_message":"Unreachable destination handset","date_updated":"Thu, 30 Jul 2015 20:12:33 +0000","to":"+919800000002"})");
  ASSERT_TRUE(u.ok()) << u.status().to_string();
  EXPECT_EQ(u->provider, "twilio");
  EXPECT_EQ(u->provider_id, "SM1");
  EXPECT_EQ(u->status, DeliveryStatus::failed);
  EXPECT_EQ(u->provider_status, "undelivered");
  EXPECT_EQ(u->error_code, "30003");
  EXPECT_EQ(u->error_message, "Unreachable destination handset");
  ASSERT_TRUE(u->timestamp.has_value());
  EXPECT_EQ(format_time(*u->timestamp), "2015-07-30T20:12:33.000Z");

  auto c = twilio::parse_call_resource(
      R"({"sid":"CA1","status":"completed","from":"+15550001111","to":"+919800000010","direction":"outbound-api","duration":"42","answered_by":"machine_start","start_time":"Tue, 10 Aug 2010 08:02:17 +0000","end_time":"Tue, 10 Aug 2010 08:02:59 +0530"})");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->call_id, "CA1");
  EXPECT_EQ(c->status, "completed");
  EXPECT_EQ(c->event_type, "terminal");
  EXPECT_EQ(c->direction, "outbound");
  EXPECT_EQ(c->duration_seconds, 42);
  EXPECT_EQ(c->answered_by, "machine");
  EXPECT_EQ(format_time(*c->started_at), "2010-08-10T08:02:17.000Z");
  EXPECT_EQ(format_time(*c->ended_at), "2010-08-10T02:32:59.000Z");

  c = twilio::parse_call_resource(R"({"sid":"CA2","status":"ringing","duration":null,"direction":"inbound"})");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->duration_seconds, -1);
  EXPECT_EQ(c->event_type, "");
  EXPECT_EQ(c->direction, "inbound");
  EXPECT_EQ(twilio::parse_call_resource(R"({"status":"ringing"})").status().code(), Code::invalid_argument);

  TimePoint t;
  EXPECT_FALSE(twilio::parse_rfc2822("yesterday", &t));
  EXPECT_FALSE(twilio::parse_rfc2822("Thu, 31 Feb 2015 20:12:33 +0000", &t));
  EXPECT_TRUE(twilio::parse_rfc2822("30 Jul 2015 20:12:33 GMT", &t));
}

// ---- webhooks -----------------------------------------------------------------------------------

WebhookRequest form(const net::FormFields& f) {
  WebhookRequest req;
  req.url = "https://hooks.example/twilio";
  req.content_type = "application/x-www-form-urlencoded; charset=utf-8";
  req.body = net::form_encode(f);
  return req;
}

TEST(TwilioWebhook, InboundSms) {
  twilio::TwilioProvider p;
  auto b = p.parse_webhook("sms", form({{"ToCountry", "US"},
                                        {"SmsMessageSid", "SM111"},
                                        {"NumMedia", "0"},
                                        {"SmsSid", "SM111"},
                                        {"SmsStatus", "received"},
                                        {"Body", "Where is BWX123?"},
                                        {"To", "+15550001111"},
                                        {"NumSegments", "1"},
                                        {"MessageSid", "SM111"},
                                        {"AccountSid", "AC1"},
                                        {"From", "+919800000002"},
                                        {"ApiVersion", "2010-04-01"}}));
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  ASSERT_EQ(b->messages.size(), 1u);
  EXPECT_TRUE(b->statuses.empty());
  const auto& m = b->messages[0];
  EXPECT_EQ(m.channel, "sms");
  EXPECT_EQ(m.provider, "twilio");
  EXPECT_EQ(m.provider_id, "SM111");
  EXPECT_EQ(m.from, "+919800000002");
  EXPECT_EQ(m.to, "+15550001111");
  EXPECT_EQ(m.content_type, "text");
  EXPECT_EQ(m.text, "Where is BWX123?");
  EXPECT_TRUE(m.media.empty());
}

TEST(TwilioWebhook, InboundWhatsAppWithMedia) {
  twilio::TwilioProvider p;
  auto b = p.parse_webhook("whatsapp",
                           form({{"MessageSid", "MM222"},
                                 {"From", "whatsapp:+919800000002"},
                                 {"To", "whatsapp:+14155238886"},
                                 {"Body", "Damaged container"},
                                 {"NumMedia", "2"},
                                 {"MediaUrl0", "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM222/Media/ME1"},
                                 {"MediaContentType0", "image/jpeg"},
                                 {"MediaUrl1", "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM222/Media/ME2"},
                                 {"MediaContentType1", "application/pdf"},
                                 {"ProfileName", "Ravi"},
                                 {"WaId", "919800000002"},
                                 {"OriginalRepliedMessageSid", "SM000"},
                                 {"SmsStatus", "received"}}));
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  ASSERT_EQ(b->messages.size(), 1u);
  const auto& m = b->messages[0];
  EXPECT_EQ(m.channel, "whatsapp");
  EXPECT_EQ(m.from, "+919800000002");
  EXPECT_EQ(m.to, "+14155238886");
  EXPECT_EQ(m.profile_name, "Ravi");
  EXPECT_EQ(m.content_type, "image");
  EXPECT_EQ(m.text, "Damaged container");
  EXPECT_EQ(m.reply_to_provider_id, "SM000");
  ASSERT_EQ(m.media.size(), 2u);
  EXPECT_EQ(m.media[0].kind, "image");
  EXPECT_EQ(m.media[0].media_type, "image/jpeg");
  EXPECT_EQ(m.media[0].url, "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM222/Media/ME1");
  EXPECT_EQ(m.media[0].caption, "Damaged container");
  EXPECT_EQ(m.media[1].kind, "document");

  // Missing media URL, bad count.
  auto bad = p.parse_webhook("whatsapp", form({{"MessageSid", "MM3"}, {"From", "whatsapp:+1"}, {"Body", ""}, {"NumMedia", "1"}}));
  EXPECT_EQ(bad.status().message(), "MediaUrl0: missing");
  bad = p.parse_webhook("whatsapp", form({{"MessageSid", "MM3"}, {"From", "whatsapp:+1"}, {"Body", ""}, {"NumMedia", "x"}}));
  EXPECT_EQ(bad.status().code(), Code::invalid_argument);
}

TEST(TwilioWebhook, InboundWhatsAppLocationAndButton) {
  twilio::TwilioProvider p;
  auto b = p.parse_webhook("whatsapp", form({{"MessageSid", "MM4"}, {"From", "whatsapp:+919800000002"},
                                             {"To", "whatsapp:+14155238886"}, {"Body", ""},
                                             {"NumMedia", "0"}, {"Latitude", "18.95"},
                                             {"Longitude", "72.95"}, {"Label", "JNPT"},
                                             {"Address", "Nhava Sheva"}}));
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  EXPECT_EQ(b->messages[0].content_type, "location");
  EXPECT_EQ(b->messages[0].text, "JNPT, Nhava Sheva (18.95,72.95)");
  b = p.parse_webhook("whatsapp", form({{"MessageSid", "MM5"}, {"From", "whatsapp:+919800000002"},
                                        {"Body", "Confirm"}, {"ButtonText", "Confirm"},
                                        {"ButtonPayload", "ACK_1"}}));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->messages[0].content_type, "button");
  EXPECT_EQ(b->messages[0].text, "Confirm");
}

TEST(TwilioWebhook, StatusCallbacks) {
  twilio::TwilioProvider p;
  auto b = p.parse_webhook("sms", form({{"SmsSid", "SM9"}, {"SmsStatus", "delivered"},
                                        {"MessageStatus", "delivered"}, {"To", "+919800000002"},
                                        {"MessageSid", "SM9"}, {"AccountSid", "AC1"},
                                        {"From", "+15550001111"}, {"ApiVersion", "2010-04-01"}}));
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  ASSERT_EQ(b->statuses.size(), 1u);
  EXPECT_TRUE(b->messages.empty());
  EXPECT_EQ(b->statuses[0].provider, "twilio");
  EXPECT_EQ(b->statuses[0].provider_id, "SM9");
  EXPECT_EQ(b->statuses[0].status, DeliveryStatus::delivered);
  EXPECT_EQ(b->statuses[0].provider_status, "delivered");

  b = p.parse_webhook("whatsapp", form({{"MessageSid", "SM10"}, {"MessageStatus", "undelivered"},
                                        {"ErrorCode", "63016"}, {"ChannelPrefix", "whatsapp"}}));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->statuses[0].status, DeliveryStatus::failed);
  EXPECT_EQ(b->statuses[0].error_code, "63016");

  const std::pair<const char*, DeliveryStatus> cases[] = {
      {"queued", DeliveryStatus::queued}, {"accepted", DeliveryStatus::queued},
      {"scheduled", DeliveryStatus::queued}, {"sending", DeliveryStatus::queued},
      {"sent", DeliveryStatus::sent}, {"read", DeliveryStatus::read},
      {"failed", DeliveryStatus::failed}, {"canceled", DeliveryStatus::failed}};
  for (auto [raw, want] : cases) {
    b = p.parse_webhook("whatsapp", form({{"MessageSid", "SM11"}, {"MessageStatus", raw}}));
    ASSERT_TRUE(b.ok()) << raw;
    ASSERT_EQ(b->statuses.size(), 1u) << raw;
    EXPECT_EQ(b->statuses[0].status, want) << raw;
  }
  b = p.parse_webhook("sms", form({{"MessageStatus", "sent"}}));
  EXPECT_EQ(b.status().message(), "MessageSid: missing");
}

TEST(TwilioWebhook, Voice) {
  twilio::TwilioProvider p;
  auto b = p.parse_webhook("voice", form({{"CallSid", "CA77"}, {"CallStatus", "completed"},
                                          {"CallDuration", "95"}, {"Direction", "outbound-api"},
                                          {"From", "+15550001111"}, {"To", "+919800000010"},
                                          {"AnsweredBy", "human"},
                                          {"RecordingUrl", "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"},
                                          {"Timestamp", "Mon, 16 Nov 2026 10:00:05 +0000"}}));
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  ASSERT_EQ(b->calls.size(), 1u);
  const auto& c = b->calls[0];
  EXPECT_EQ(c.provider, "twilio");
  EXPECT_EQ(c.call_id, "CA77");
  EXPECT_EQ(c.status, "completed");
  EXPECT_EQ(c.event_type, "terminal");
  EXPECT_EQ(c.duration_seconds, 95);
  EXPECT_EQ(c.direction, "outbound");
  EXPECT_EQ(c.answered_by, "human");
  EXPECT_EQ(c.recording_url, "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1");
  ASSERT_TRUE(c.ended_at.has_value());
  EXPECT_EQ(format_time(*c.ended_at), "2026-11-16T10:00:05.000Z");

  b = p.parse_webhook("voice", form({{"CallSid", "CA78"}, {"CallStatus", "in-progress"},
                                     {"Direction", "inbound"}, {"AnsweredBy", "machine_end_beep"}}));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->calls[0].event_type, "answered");
  EXPECT_EQ(b->calls[0].answered_by, "machine");
  EXPECT_EQ(b->calls[0].direction, "inbound");
  EXPECT_EQ(b->calls[0].duration_seconds, -1);

  EXPECT_EQ(p.parse_webhook("voice", form({{"CallStatus", "ringing"}})).status().message(),
            "CallSid: missing");
  EXPECT_EQ(p.parse_webhook("voice", form({{"CallSid", "CA1"}, {"CallStatus", "completed"}, {"CallDuration", "-3"}}))
                .status()
                .code(),
            Code::invalid_argument);
  EXPECT_EQ(p.parse_webhook("fax", form({{"CallSid", "CA1"}})).status().code(), Code::invalid_argument);
}

TEST(TwilioWebhook, ContentTypes) {
  twilio::TwilioProvider p;
  WebhookRequest req;
  req.content_type = "application/json";
  req.body = "{}";
  EXPECT_EQ(p.parse_webhook("sms", req).status().code(), Code::invalid_argument);
  req.content_type = "application/x-www-form-urlencoded";
  req.body = "Body=%ZZ";
  EXPECT_EQ(p.parse_webhook("sms", req).status().code(), Code::invalid_argument);
  // A GET webhook: parameters in the query.
  req = WebhookRequest{};
  req.method = "GET";
  req.url = "https://hooks.example/twilio?MessageSid=SM5&MessageStatus=sent";
  auto b = p.parse_webhook("sms", req);
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  ASSERT_EQ(b->statuses.size(), 1u);
  EXPECT_EQ(b->statuses[0].status, DeliveryStatus::sent);
}

// ---- network -----------------------------------------------------------------------------------

StubResponse respond(int status, std::string body,
                     std::vector<std::pair<std::string, std::string>> headers = {}) {
  StubResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

std::string basic(const ProviderAccount& a) {
  return "Basic " + crypto::base64_encode(a.account_sid + ":" + a.auth_token);
}

OutboundMessage sms() {
  OutboundMessage m;
  m.channel = "sms";
  m.to = "+919800000002";
  m.text = "Gate-in done";
  return m;
}

TEST(TwilioNetwork, SendRequestFieldByField) {
  HttpStub stub([](const StubRequest&) {
    return respond(201, R"({"sid":"SM0001","status":"queued","error_code":null,"error_message":null})");
  });
  ProviderAccount a = account(stub.base_url());
  twilio::TwilioProvider p;
  OutboundMessage m = sms();
  m.channel = "whatsapp";
  m.status_callback_url = "https://hooks.example/twilio/status";
  Media img;
  img.kind = "image";
  img.url = "https://files.example/x.jpg";
  m.media = img;
  auto r = p.send(a, m);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->provider_id, "SM0001");
  EXPECT_EQ(r->status, DeliveryStatus::queued);

  ASSERT_EQ(stub.request_count(), 1u);
  auto req = stub.requests()[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/2010-04-01/Accounts/" + a.account_sid + "/Messages.json");
  EXPECT_EQ(req.header("Authorization"), basic(a));
  EXPECT_NE(req.header("Content-Type").find("application/x-www-form-urlencoded"), std::string::npos);
  auto f = fields_of(req.body);
  EXPECT_EQ(f.size(), 5u);
  EXPECT_EQ(one(f, "To"), "whatsapp:+919800000002");
  EXPECT_EQ(one(f, "From"), "whatsapp:+15550001111");
  EXPECT_EQ(one(f, "Body"), "Gate-in done");
  EXPECT_EQ(one(f, "MediaUrl"), "https://files.example/x.jpg");
  EXPECT_EQ(one(f, "StatusCallback"), "https://hooks.example/twilio/status");
  EXPECT_EQ(req.body.find(a.auth_token), std::string::npos);
  EXPECT_EQ(req.target.find(a.auth_token), std::string::npos);
}

TEST(TwilioNetwork, ErrorStatuses) {
  std::atomic<int> mode{0};
  HttpStub stub([&mode](const StubRequest&) {
    switch (mode.load()) {
      case 0: return respond(401, R"({"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401})");
      case 1: return respond(429, R"({"code":20429,"message":"Too Many Requests","status":429})", {{"Retry-After", "4"}});
      case 2: return respond(500, R"({"code":20500,"message":"Internal Server Error","status":500})");
      default: return respond(400, R"({"code":21211,"message":"The 'To' number is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400})");
    }
  });
  ProviderAccount a = account(stub.base_url());
  twilio::TwilioProvider p;
  Status st = p.send(a, sms()).status();
  EXPECT_EQ(st.code(), Code::unauthenticated);
  EXPECT_EQ(st.message().find(a.auth_token), std::string::npos);
  mode = 1;
  st = p.send(a, sms()).status();
  EXPECT_EQ(st.code(), Code::unavailable);
  EXPECT_EQ(detail(st, "retry_after_ms"), "4000");
  mode = 2;
  st = p.send(a, sms()).status();
  EXPECT_EQ(st.code(), Code::unavailable);
  EXPECT_EQ(detail(st, "http_status"), "500");
  mode = 3;
  st = p.send(a, sms()).status();
  EXPECT_EQ(st.code(), Code::invalid_argument);
  EXPECT_EQ(detail(st, "provider_code"), "21211");
}

TEST(TwilioNetwork, Timeout) {
  HttpStub stub([](const StubRequest&) {
    StubResponse r = respond(201, R"({"sid":"SMlate","status":"queued"})");
    r.delay = 2500ms;
    return r;
  });
  ProviderAccount a = account(stub.base_url());
  a.timeout = 1s;
  twilio::TwilioProvider p;
  auto t0 = std::chrono::steady_clock::now();
  Status st = p.send(a, sms()).status();
  EXPECT_EQ(st.code(), Code::unavailable) << st.to_string();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2400ms);
}

TEST(TwilioNetwork, StartCall) {
  HttpStub stub([](const StubRequest&) {
    return respond(201, R"({"sid":"CA0001","status":"queued","direction":"outbound-api"})");
  });
  ProviderAccount a = account(stub.base_url());
  twilio::TwilioProvider p;
  CallRequest r;
  r.from = "+919800000010";
  r.to = "+919800000002";
  r.record = true;
  r.status_callback_url = "https://hooks.example/twilio/voice";
  auto c = p.start_call(a, r);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->call_id, "CA0001");
  EXPECT_EQ(c->status, "queued");
  auto req = stub.requests().at(0);
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/2010-04-01/Accounts/" + a.account_sid + "/Calls.json");
  EXPECT_EQ(req.header("Authorization"), basic(a));
  auto f = fields_of(req.body);
  EXPECT_EQ(one(f, "From"), "+15550001111");
  EXPECT_EQ(one(f, "To"), "+919800000010");
  EXPECT_EQ(one(f, "Twiml"), R"(<Response><Dial callerId="+15550001111">+919800000002</Dial></Response>)");
  EXPECT_EQ(one(f, "StatusCallback"), "https://hooks.example/twilio/voice");
  EXPECT_EQ(one(f, "Record"), "true");
  auto [lo, hi] = f.equal_range("StatusCallbackEvent");
  std::vector<std::string> events;
  for (auto it = lo; it != hi; ++it) events.push_back(it->second);
  EXPECT_EQ(events, (std::vector<std::string>{"answered", "completed"}));
}

TEST(TwilioNetwork, PollMessageAndCall) {
  HttpStub stub([](const StubRequest& r) {
    if (r.path().ends_with("/Messages/SM55.json"))
      return respond(200, R"({"sid":"SM55","status":"delivered","error_code":null,"date_updated":"Mon, 16 Nov 2026 10:00:00 +0000"})");
    if (r.path().ends_with("/Calls/CA55.json"))
      return respond(200, R"({"sid":"CA55","status":"in-progress","from":"+15550001111","to":"+919800000010","direction":"outbound-api","duration":null})");
    return respond(404, R"({"code":20404,"message":"The requested resource was not found","status":404})");
  });
  ProviderAccount a = account(stub.base_url());
  twilio::TwilioProvider p;
  auto u = p.poll_message(a, "SM55");
  ASSERT_TRUE(u.ok()) << u.status().to_string();
  EXPECT_EQ(u->status, DeliveryStatus::delivered);
  EXPECT_EQ(u->provider_id, "SM55");
  auto c = p.poll_call(a, "CA55");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->status, "in-progress");
  EXPECT_EQ(c->event_type, "answered");
  auto reqs = stub.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[0].target, "/2010-04-01/Accounts/" + a.account_sid + "/Messages/SM55.json");
  EXPECT_EQ(reqs[0].header("Authorization"), basic(a));
  EXPECT_EQ(reqs[1].target, "/2010-04-01/Accounts/" + a.account_sid + "/Calls/CA55.json");

  EXPECT_EQ(p.poll_message(a, "SM404").status().code(), Code::not_found);
  EXPECT_EQ(p.poll_message(a, "../x").status().code(), Code::invalid_argument);
  EXPECT_EQ(stub.request_count(), 3u);
}

TEST(TwilioNetwork, FetchMedia) {
  HttpStub stub([](const StubRequest& r) {
    if (r.path() == "/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1") {
      StubResponse res = respond(200, std::string("\x89PNG\0data", 9));
      res.content_type = "image/png";
      return res;
    }
    return respond(404, "");
  });
  ProviderAccount a = account(stub.base_url());
  twilio::TwilioProvider p;
  Media m;
  m.url = stub.base_url() + "/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1";
  auto bytes = p.fetch_media(a, m);
  ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
  EXPECT_EQ(*bytes, std::string("\x89PNG\0data", 9));
  EXPECT_EQ(stub.requests().at(0).header("Authorization"), basic(a));

  m.url = stub.base_url() + "/missing";
  EXPECT_EQ(p.fetch_media(a, m).status().code(), Code::not_found);

  // Credentials only go to Twilio (or the configured base).
  m.url = "https://evil.example/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1";
  EXPECT_EQ(p.fetch_media(a, m).status().code(), Code::permission_denied);
  EXPECT_EQ(stub.request_count(), 2u);
  EXPECT_TRUE(twilio::media_url_allowed(a, "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"));
  EXPECT_FALSE(twilio::media_url_allowed(a, "http://api.twilio.com/x"));
  EXPECT_FALSE(twilio::media_url_allowed(a, "https://eviltwilio.com/x"));
  EXPECT_FALSE(twilio::media_url_allowed(a, "https://api.twilio.com.evil.example/x"));
  EXPECT_FALSE(twilio::media_url_allowed(a, "https://x:y@api.twilio.com/x"));
}

TEST(TwilioNetwork, ClientSideRateLimit) {
  HttpStub stub([](const StubRequest&) { return respond(201, R"({"sid":"SMok","status":"queued"})"); });
  ProviderAccount a = account(stub.base_url());
  a.requests_per_minute = 1;
  twilio::TwilioProvider p;
  ASSERT_TRUE(p.send(a, sms()).ok());
  auto t0 = std::chrono::steady_clock::now();
  Status st = p.send(a, sms()).status();
  EXPECT_EQ(st.code(), Code::unavailable);
  std::string ms = detail(st, "retry_after_ms");
  ASSERT_NE(ms, "<absent>");
  EXPECT_GT(std::stoll(ms), 2000);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_EQ(stub.request_count(), 1u);
}

TEST(TwilioNetwork, MissingCredentials) {
  twilio::TwilioProvider p;
  ProviderAccount a = account("http://127.0.0.1:1");
  a.auth_token.clear();
  EXPECT_EQ(p.send(a, sms()).status().code(), Code::unauthenticated);
  a = account("http://127.0.0.1:1");
  a.account_sid.clear();
  EXPECT_EQ(p.send(a, sms()).status().code(), Code::invalid_argument);
}

}  // namespace
}  // namespace banxway::messaging
