// ExotelProvider: the network half of the adapter (send, start_call, polls, media) and the
// webhook entry points, registered as "exotel".
#include <algorithm>
#include <chrono>
#include <memory>
#include <string>

#include "channels/exotel/exotel.hpp"
#include "channels/messaging/adapters.hpp"
#include "net/http.hpp"
#include "net/rate_limiter.hpp"

namespace banxway::exotel {

using namespace detail;
using namespace std::chrono_literals;

namespace {

constexpr auto kRateLimitMaxWait = 2000ms;
constexpr size_t kMaxMediaBytes = 100u << 20;  // WhatsApp documents go up to 100 MB
constexpr size_t kMaxApiReplyBytes = 2u << 20;

Status check_credentials(const messaging::ProviderAccount& acct) {
  if (trim(acct.account_sid).empty())
    return Unauthenticated("exotel: the account has no account_sid configured");
  if (acct.api_key.empty() || acct.api_token.empty())
    return Unauthenticated("exotel: the account has no api_key/api_token configured");
  return Status();
}

// Client-side limiter, one bucket per Exotel account (API host + SID).
Status rate_limit(const messaging::ProviderAccount& acct, const std::string& base) {
  const int rpm = acct.requests_per_minute > 0 ? acct.requests_per_minute : kDefaultRequestsPerMinute;
  auto wait = net::KeyedRateLimiter::global().acquire(base + "|" + acct.account_sid, rpm,
                                                      kRateLimitMaxWait);
  if (wait.count() == 0) return Status();
  return Status(Code::unavailable,
                "exotel: client-side rate limit of " + std::to_string(rpm) +
                    " requests/minute reached for this account; retry in " +
                    std::to_string(wait.count()) + " ms",
                error_details(-1, wait.count(), ""));
}

net::HttpRequest api_request(const messaging::ProviderAccount& acct, std::string method,
                             std::string url) {
  net::HttpRequest req;
  req.method = std::move(method);
  req.url = std::move(url);
  req.basic_user = acct.api_key;
  req.basic_password = acct.api_token;
  req.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(acct.timeout);
  if (req.timeout.count() <= 0) req.timeout = 30s;
  req.connect_timeout = std::min<std::chrono::milliseconds>(req.connect_timeout, req.timeout);
  req.allow_private_network = acct.allow_private_network;
  req.max_response_bytes = kMaxApiReplyBytes;
  req.headers.emplace_back("Accept", "application/json");
  return req;
}

// Performs an API call: limiter, request, status mapping. The reply on 2xx.
Result<net::HttpResponse> call_api(const messaging::ProviderAccount& acct, const std::string& base,
                                   net::HttpRequest req, std::string_view what, bool lookup) {
  BX_RETURN_IF_ERROR(rate_limit(acct, base));
  auto res = net::http_request(req);
  if (!res.ok()) {
    const Status& st = res.status();
    return Status(st.code(), "exotel " + std::string(what) + ": " + st.message(), st.details());
  }
  if (res->status < 200 || res->status >= 300) return http_error(*res, what, lookup);
  return res;
}

std::string v1_url(const std::string& base, const messaging::ProviderAccount& acct,
                   std::string_view tail) {
  return base + "/v1/Accounts/" + net::url_escape(trim(acct.account_sid)) + std::string(tail);
}

Result<messaging::SendReceipt> send_sms(const messaging::ProviderAccount& acct,
                                        const std::string& base,
                                        const messaging::OutboundMessage& m) {
  BX_ASSIGN_OR_RETURN(auto form, build_sms_form(acct, m));
  auto req = api_request(acct, "POST", v1_url(base, acct, "/Sms/send.json"));
  req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  req.body = net::form_encode(form);
  BX_ASSIGN_OR_RETURN(auto res, call_api(acct, base, std::move(req), "sms send", false));
  return parse_sms_send_response(res.body);
}

Result<messaging::SendReceipt> send_whatsapp(const messaging::ProviderAccount& acct,
                                             const std::string& base,
                                             const messaging::OutboundMessage& m) {
  BX_ASSIGN_OR_RETURN(auto body, build_whatsapp_request(acct, m));
  auto req = api_request(acct, "POST",
                         base + "/v2/accounts/" + net::url_escape(trim(acct.account_sid)) +
                             "/messages");
  req.headers.emplace_back("Content-Type", "application/json");
  req.body = std::move(body);
  BX_ASSIGN_OR_RETURN(auto res, call_api(acct, base, std::move(req), "whatsapp send", false));
  return parse_whatsapp_send_response(res.body);
}

}  // namespace

Result<messaging::SendReceipt> ExotelProvider::send(const messaging::ProviderAccount& acct,
                                                    const messaging::OutboundMessage& m) {
  const std::string channel = lower(acct.channel.empty() ? m.channel : acct.channel);
  if (!m.channel.empty() && !iequals(m.channel, channel))
    return InvalidArgument("exotel: a " + m.channel + " message cannot go out through a " +
                           channel + " account");
  if (channel != "sms" && channel != "whatsapp")
    return InvalidArgument("exotel: send() serves the sms and whatsapp channels, not '" + channel +
                           "'");
  BX_RETURN_IF_ERROR(check_credentials(acct));
  BX_ASSIGN_OR_RETURN(auto base, base_url(acct));
  auto r = channel == "sms" ? send_sms(acct, base, m) : send_whatsapp(acct, base, m);
  if (!r.ok()) return scrub(r.status(), acct);
  return r;
}

Result<messaging::CallReceipt> ExotelProvider::start_call(const messaging::ProviderAccount& acct,
                                                          const messaging::CallRequest& r) {
  if (!acct.channel.empty() && lower(acct.channel) != "voice")
    return InvalidArgument("exotel: calls go through a voice account, not a " + acct.channel +
                           " one");
  BX_RETURN_IF_ERROR(check_credentials(acct));
  BX_ASSIGN_OR_RETURN(auto base, base_url(acct));
  BX_ASSIGN_OR_RETURN(auto form, build_call_form(acct, r));
  auto req = api_request(acct, "POST", v1_url(base, acct, "/Calls/connect.json"));
  req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  req.body = net::form_encode(form);
  auto res = call_api(acct, base, std::move(req), "call connect", false);
  if (!res.ok()) return scrub(res.status(), acct);
  auto receipt = parse_call_response(res->body);
  if (!receipt.ok()) return scrub(receipt.status(), acct);
  return receipt;
}

Result<messaging::StatusUpdate> ExotelProvider::poll_message(const messaging::ProviderAccount& acct,
                                                             const std::string& provider_id) {
  if (trim(provider_id).empty()) return InvalidArgument("exotel sms details: empty message id");
  if (!acct.channel.empty() && lower(acct.channel) != "sms")
    return InvalidArgument("exotel: only SMS can be polled (no WhatsApp details API)");
  BX_RETURN_IF_ERROR(check_credentials(acct));
  BX_ASSIGN_OR_RETURN(auto base, base_url(acct));
  auto req = api_request(acct, "GET",
                         v1_url(base, acct, "/SMS/Messages/" + net::url_escape(provider_id) + ".json"));
  auto res = call_api(acct, base, std::move(req), "sms details", true);
  if (!res.ok()) return scrub(res.status(), acct);
  auto u = parse_sms_details(res->body);
  if (!u.ok()) return scrub(u.status(), acct);
  return u;
}

Result<messaging::CallUpdate> ExotelProvider::poll_call(const messaging::ProviderAccount& acct,
                                                        const std::string& call_id) {
  if (trim(call_id).empty()) return InvalidArgument("exotel call details: empty call id");
  BX_RETURN_IF_ERROR(check_credentials(acct));
  BX_ASSIGN_OR_RETURN(auto base, base_url(acct));
  auto req = api_request(
      acct, "GET", v1_url(base, acct, "/Calls/" + net::url_escape(call_id) + ".json?details=true"));
  auto res = call_api(acct, base, std::move(req), "call details", true);
  if (!res.ok()) return scrub(res.status(), acct);
  auto u = parse_call_details(res->body);
  if (!u.ok()) return scrub(u.status(), acct);
  return u;
}

Result<std::string> ExotelProvider::fetch_media(const messaging::ProviderAccount& acct,
                                                const messaging::Media& m) {
  if (m.url.empty())
    return InvalidArgument("exotel media: no url (Exotel serves media by URL, not by id)");
  auto base = base_url(acct);
  std::string url = m.url;
  // Redirects are followed by hand (at most 3) so that the credential rule is applied to every
  // hop: Basic auth only to the account's API host or Exotel's / AWS's https hosts.
  for (int hop = 0; hop < 4; ++hop) {
    auto parts = net::parse_url(url);
    if (!parts) return InvalidArgument("exotel media: the media URL is not an http(s) URL");
    if (!parts->userinfo.empty())
      return InvalidArgument("exotel media: the media URL must not carry credentials");
    net::HttpRequest req;
    req.method = "GET";
    req.url = url;
    req.allow_private_network = acct.allow_private_network;
    req.max_response_bytes = kMaxMediaBytes;
    req.timeout = std::max<std::chrono::milliseconds>(
        std::chrono::duration_cast<std::chrono::milliseconds>(acct.timeout), 120s);
    // Without configured credentials the fetch is anonymous (pre-signed URLs still work).
    const bool creds = may_send_credentials(acct, url) && check_credentials(acct).ok();
    if (creds) {
      req.basic_user = acct.api_key;
      req.basic_password = acct.api_token;
      if (base.ok()) {
        auto api = net::parse_url(*base);
        if (api && api->host == parts->host && api->port == parts->port)
          if (Status st = rate_limit(acct, *base); !st.ok()) return st;
      }
    }
    auto res = net::http_request(req);
    if (!res.ok()) {
      const Status& st = res.status();
      return scrub(Status(st.code(), "exotel media: " + st.message(), st.details()), acct);
    }
    if (res->status >= 300 && res->status < 400 && res->status != 304) {
      auto loc = res->header("Location");
      if (!loc || loc->empty()) return Unavailable("exotel media: redirect without a Location");
      std::string next = trim(*loc);
      if (next.starts_with("/")) {
        // Relative to the current origin.
        next = parts->scheme + "://" +
               (parts->host.find(':') != std::string::npos ? "[" + parts->host + "]" : parts->host) +
               ":" + std::to_string(parts->port) + next;
      }
      url = next;
      continue;
    }
    if (res->status < 200 || res->status >= 300)
      return scrub(http_error(*res, "media", /*lookup=*/true), acct);
    return std::move(res->body);
  }
  return Unavailable("exotel media: too many redirects");
}

Status ExotelProvider::verify_webhook(const messaging::ProviderAccount&,
                                      const messaging::WebhookRequest&) {
  // Exotel signs nothing; the callback URL's capability token is checked by the caller.
  return Status();
}

Result<messaging::WebhookBatch> ExotelProvider::parse_webhook(std::string_view channel,
                                                              const messaging::WebhookRequest& req) {
  std::string content_type = req.content_type.empty() ? req.header("Content-Type") : req.content_type;
  messaging::WebhookBatch batch;
  const std::string ch = lower(channel);
  if (ch == "sms") {
    BX_ASSIGN_OR_RETURN(auto u, parse_sms_dlr(content_type, req.body));
    batch.statuses.push_back(std::move(u));
    return batch;
  }
  if (ch == "whatsapp") return parse_whatsapp_webhook(req.body);
  if (ch == "voice") {
    BX_ASSIGN_OR_RETURN(auto u, parse_voice_callback(content_type, req.body));
    batch.calls.push_back(std::move(u));
    return batch;
  }
  return InvalidArgument("exotel: no webhooks for channel '" + std::string(channel) +
                         "' (sms, whatsapp, voice)");
}

namespace {
[[maybe_unused]] const bool registered = messaging::register_provider(
    "exotel", [] { return std::make_unique<ExotelProvider>(); });
}  // namespace

// Referenced from the adapter registry so that static linking keeps this object file (and the
// registration above) in every binary.
void link_adapter() {}

}  // namespace banxway::exotel
