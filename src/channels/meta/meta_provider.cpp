// Meta WhatsApp Cloud API adapter: the network calls (send, media download) and registration.
#include <algorithm>
#include <cctype>
#include <memory>
#include <string>

#include "channels/messaging/adapters.hpp"
#include "channels/meta/meta.hpp"
#include "core/json.hpp"
#include "net/http.hpp"
#include "net/rate_limiter.hpp"

namespace banxway::messaging::meta {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kMaxLimiterWait{2000};
constexpr size_t kMaxMediaBytes = 100u << 20;  // WhatsApp documents go up to 100 MB



std::string details_retry(milliseconds wait) {
  return "{\"retry_after_ms\":" + std::to_string(wait.count()) + "}";
}

Status throttle(const ProviderAccount& acct) {
  if (acct.requests_per_minute <= 0) return Status();
  milliseconds wait = net::KeyedRateLimiter::global().acquire(
      "meta:" + acct.phone_number_id, acct.requests_per_minute, kMaxLimiterWait);
  if (wait.count() > 0)
    return Status(Code::unavailable,
                  "meta: client-side rate limit (" + std::to_string(acct.requests_per_minute) +
                      " requests/minute) reached",
                  details_retry(wait));
  return Status();
}

Status check_account(const ProviderAccount& acct) {
  if (acct.access_token.empty()) return Unauthenticated("meta: the account has no access token");
  const std::string& v = acct.graph_version;
  if (v.empty() || !std::all_of(v.begin(), v.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '.';
      }))
    return InvalidArgument("meta: graph_version must look like v21.0");
  return Status();
}

net::HttpRequest base_request(const ProviderAccount& acct, std::string method, std::string url) {
  net::HttpRequest req;
  req.method = std::move(method);
  req.url = std::move(url);
  req.headers.emplace_back("Authorization", "Bearer " + acct.access_token);
  req.timeout = std::chrono::duration_cast<milliseconds>(acct.timeout);
  if (req.timeout.count() <= 0) req.timeout = milliseconds(30000);
  req.connect_timeout = std::min(req.connect_timeout, req.timeout);
  req.allow_private_network = acct.allow_private_network;
  return req;
}

// Transport failures keep their code (unavailable, permission_denied for SSRF...).
Status transport_error(const Status& st) {
  return Status(st.code(), "meta: " + st.message(), st.details());
}

}  // namespace

bool media_url_allowed(const ProviderAccount& acct, std::string_view url) {
  return net::credentials_allowed(url, base_url(acct), {"facebook.com", "fbcdn.net", "fbsbx.com", "whatsapp.net"});
}

Result<SendReceipt> MetaProvider::send(const ProviderAccount& acct, const OutboundMessage& m) {
  BX_RETURN_IF_ERROR(check_account(acct));
  if (acct.phone_number_id.empty())
    return InvalidArgument("meta: the account has no phone_number_id");
  BX_ASSIGN_OR_RETURN(std::string body, build_send_body(m));
  BX_RETURN_IF_ERROR(throttle(acct));
  net::HttpRequest req =
      base_request(acct, "POST",
                   base_url(acct) + "/" + acct.graph_version + "/" +
                       net::url_escape(acct.phone_number_id) + "/messages");
  req.headers.emplace_back("Content-Type", "application/json");
  req.headers.emplace_back("Accept", "application/json");
  req.body = std::move(body);
  auto res = net::http_request(req);
  if (!res.ok()) return transport_error(res.status());
  return parse_send_response(res->status, res->body, res->retry_after());
}

Result<CallReceipt> MetaProvider::start_call(const ProviderAccount&, const CallRequest&) {
  return InvalidArgument("meta: the WhatsApp Cloud API adapter has no voice calls");
}

Result<std::string> MetaProvider::fetch_media(const ProviderAccount& acct, const Media& m) {
  BX_RETURN_IF_ERROR(check_account(acct));
  std::string url = m.url;
  if (!m.media_id.empty()) {
    // Step 1: the media id → a short-lived download URL.
    BX_RETURN_IF_ERROR(throttle(acct));
    net::HttpRequest req = base_request(
        acct, "GET", base_url(acct) + "/" + acct.graph_version + "/" + net::url_escape(m.media_id));
    req.headers.emplace_back("Accept", "application/json");
    auto res = net::http_request(req);
    if (!res.ok()) return transport_error(res.status());
    if (res->status < 200 || res->status > 299)
      return error_status(res->status, res->body, res->retry_after(), /*lookup=*/true);
    json::Document doc;
    if (!json::parse(res->body, &doc).ok() || !json::get_string(doc, "url"))
      return Internal("meta: media lookup answer has no url");
    url = std::string(*json::get_string(doc, "url"));
  } else if (url.empty()) {
    return InvalidArgument("meta: media has neither a media_id nor a url");
  }
  if (!media_url_allowed(acct, url)) {
    auto u = net::parse_url(url);
    return PermissionDenied("meta: refusing to send the access token to media host '" +
                            (u ? u->host : std::string("?")) + "'");
  }
  // Step 2: the bytes, with the same Bearer token.
  net::HttpRequest req = base_request(acct, "GET", url);
  req.max_response_bytes = kMaxMediaBytes;
  auto res = net::http_request(req);
  if (!res.ok()) return transport_error(res.status());
  if (res->status < 200 || res->status > 299)
    return error_status(res->status, res->body, res->retry_after(), /*lookup=*/true);
  return std::move(res->body);
}

Result<StatusUpdate> MetaProvider::poll_message(const ProviderAccount&, const std::string&) {
  return InvalidArgument("meta: polling a message is not supported by Meta; status arrives by webhook");
}

Result<CallUpdate> MetaProvider::poll_call(const ProviderAccount&, const std::string&) {
  return InvalidArgument("meta: polling a call is not supported by Meta; status arrives by webhook");
}

Status MetaProvider::verify_webhook(const ProviderAccount& acct, const WebhookRequest& req) {
  return verify_signature(acct.app_secret, req.header("X-Hub-Signature-256"), req.body);
}

Result<WebhookBatch> MetaProvider::parse_webhook(std::string_view channel,
                                                 const WebhookRequest& req) {
  if (channel != "whatsapp")
    return InvalidArgument("meta: webhooks are whatsapp only, not '" + std::string(channel) + "'");
  return parse_webhook_body(req.body);
}

namespace {
const bool registered = register_provider("meta", [] { return std::make_unique<MetaProvider>(); });
}  // namespace

// Referenced from the adapter registry so that static linking keeps this object file (and the
// registration above) in every binary.
void link_adapter() {}

}  // namespace banxway::messaging::meta
