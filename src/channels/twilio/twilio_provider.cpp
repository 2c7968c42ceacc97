// Twilio adapter: the network calls (messages, calls, polling, media) and registration.
#include <algorithm>
#include <cctype>
#include <memory>
#include <string>

#include "channels/messaging/adapters.hpp"
#include "channels/twilio/twilio.hpp"
#include "net/http.hpp"
#include "net/rate_limiter.hpp"

namespace banxway::messaging::twilio {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kMaxLimiterWait{2000};
constexpr size_t kMaxMediaBytes = 100u << 20;


bool is_sid(std::string_view s) {
  return s.size() >= 2 && s.size() <= 64 &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c); });
}

Status check_account(const ProviderAccount& acct) {
  if (!is_sid(acct.account_sid)) return InvalidArgument("twilio: the account has no valid account SID");
  if (acct.auth_token.empty()) return Unauthenticated("twilio: the account has no auth token");
  return Status();
}

Status throttle(const ProviderAccount& acct) {
  if (acct.requests_per_minute <= 0) return Status();
  milliseconds wait = net::KeyedRateLimiter::global().acquire(
      "twilio:" + acct.account_sid, acct.requests_per_minute, kMaxLimiterWait);
  if (wait.count() > 0)
    return Status(Code::unavailable,
                  "twilio: client-side rate limit (" + std::to_string(acct.requests_per_minute) +
                      " requests/minute) reached",
                  "{\"retry_after_ms\":" + std::to_string(wait.count()) + "}");
  return Status();
}

std::string account_url(const ProviderAccount& acct) {
  return base_url(acct) + "/2010-04-01/Accounts/" + net::url_escape(acct.account_sid);
}

net::HttpRequest base_request(const ProviderAccount& acct, std::string method, std::string url) {
  net::HttpRequest req;
  req.method = std::move(method);
  req.url = std::move(url);
  req.basic_user = acct.account_sid;
  req.basic_password = acct.auth_token;
  req.headers.emplace_back("Accept", "application/json");
  req.timeout = std::chrono::duration_cast<milliseconds>(acct.timeout);
  if (req.timeout.count() <= 0) req.timeout = milliseconds(30000);
  req.connect_timeout = std::min(req.connect_timeout, req.timeout);
  req.allow_private_network = acct.allow_private_network;
  return req;
}

Status transport_error(const Status& st) {
  return Status(st.code(), "twilio: " + st.message(), st.details());
}

// POSTs a form to the account's `resource` (Messages.json, Calls.json).
Result<net::HttpResponse> post_form(const ProviderAccount& acct, const std::string& resource,
                                    const net::FormFields& form) {
  BX_RETURN_IF_ERROR(throttle(acct));
  net::HttpRequest req = base_request(acct, "POST", account_url(acct) + "/" + resource);
  req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  req.body = net::form_encode(form);
  auto res = net::http_request(req);
  if (!res.ok()) return transport_error(res.status());
  return res;
}

Result<net::HttpResponse> get_resource(const ProviderAccount& acct, const std::string& path) {
  BX_RETURN_IF_ERROR(throttle(acct));
  auto res = net::http_request(base_request(acct, "GET", account_url(acct) + "/" + path));
  if (!res.ok()) return transport_error(res.status());
  if (res->status < 200 || res->status > 299)
    return error_status(res->status, res->body, res->retry_after(), /*lookup=*/true);
  return res;
}

std::string media_type(std::string_view content_type) {
  std::string t(content_type.substr(0, content_type.find(';')));
  t.erase(0, t.find_first_not_of(" \t"));
  t.erase(t.find_last_not_of(" \t") + 1);
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return t;
}

}  // namespace

bool media_url_allowed(const ProviderAccount& acct, std::string_view url) {
  return net::credentials_allowed(url, base_url(acct), {"twilio.com"});
}

Result<SendReceipt> TwilioProvider::send(const ProviderAccount& acct, const OutboundMessage& m) {
  BX_RETURN_IF_ERROR(check_account(acct));
  BX_ASSIGN_OR_RETURN(net::FormFields form, build_message_form(acct, m));
  BX_ASSIGN_OR_RETURN(net::HttpResponse res, post_form(acct, "Messages.json", form));
  return parse_send_response(res.status, res.body, res.retry_after());
}

Result<CallReceipt> TwilioProvider::start_call(const ProviderAccount& acct, const CallRequest& r) {
  BX_RETURN_IF_ERROR(check_account(acct));
  BX_ASSIGN_OR_RETURN(net::FormFields form, build_call_form(acct, r));
  BX_ASSIGN_OR_RETURN(net::HttpResponse res, post_form(acct, "Calls.json", form));
  return parse_call_response(res.status, res.body, res.retry_after());
}

Result<std::string> TwilioProvider::fetch_media(const ProviderAccount& acct, const Media& m) {
  BX_RETURN_IF_ERROR(check_account(acct));
  if (m.url.empty()) return InvalidArgument("twilio: media has no url");
  if (!media_url_allowed(acct, m.url)) {
    auto u = net::parse_url(m.url);
    return PermissionDenied("twilio: refusing to send the account credentials to media host '" +
                            (u ? u->host : std::string("?")) + "'");
  }
  BX_RETURN_IF_ERROR(throttle(acct));
  net::HttpRequest req = base_request(acct, "GET", m.url);
  req.headers.clear();  // no Accept: the media's own type
  req.max_response_bytes = kMaxMediaBytes;
  // api.twilio.com answers with a redirect to a short-lived signed URL on its CDN; the client
  // follows it (http/https only, SSRF-checked; libcurl does not resend Basic credentials to
  // another host).
  req.follow_redirects = true;
  auto res = net::http_request(req);
  if (!res.ok()) return transport_error(res.status());
  if (res->status < 200 || res->status > 299)
    return error_status(res->status, res->body, res->retry_after(), /*lookup=*/true);
  return std::move(res->body);
}

Result<StatusUpdate> TwilioProvider::poll_message(const ProviderAccount& acct,
                                                  const std::string& provider_id) {
  BX_RETURN_IF_ERROR(check_account(acct));
  if (!is_sid(provider_id)) return InvalidArgument("twilio: not a message SID");
  BX_ASSIGN_OR_RETURN(net::HttpResponse res, get_resource(acct, "Messages/" + provider_id + ".json"));
  auto u = parse_message_resource(res.body);
  if (!u.ok()) return Internal("twilio: unexpected message resource: " + u.status().message());
  return u;
}

Result<CallUpdate> TwilioProvider::poll_call(const ProviderAccount& acct,
                                             const std::string& call_id) {
  BX_RETURN_IF_ERROR(check_account(acct));
  if (!is_sid(call_id)) return InvalidArgument("twilio: not a call SID");
  BX_ASSIGN_OR_RETURN(net::HttpResponse res, get_resource(acct, "Calls/" + call_id + ".json"));
  auto c = parse_call_resource(res.body);
  if (!c.ok()) return Internal("twilio: unexpected call resource: " + c.status().message());
  return c;
}

Status TwilioProvider::verify_webhook(const ProviderAccount& acct, const WebhookRequest& req) {
  return verify_signature(acct.auth_token, req);
}

Result<WebhookBatch> TwilioProvider::parse_webhook(std::string_view channel,
                                                   const WebhookRequest& req) {
  net::FormFields fields;
  std::string type = media_type(req.content_type);
  if (req.method == "GET" || (req.body.empty() && type.empty())) {
    // A webhook configured as GET: the parameters are in the query.
    size_t q = req.url.find('?');
    std::string_view query;
    if (q != std::string::npos) {
      query = std::string_view(req.url).substr(q + 1);
      query = query.substr(0, query.find('#'));
    }
    auto f = net::form_decode(query);
    if (!f.ok()) return InvalidArgument("twilio webhook: " + f.status().message());
    fields = std::move(*f);
  } else if (type.empty() || type == "application/x-www-form-urlencoded") {
    auto f = net::form_decode(req.body);
    if (!f.ok()) return InvalidArgument("twilio webhook: " + f.status().message());
    fields = std::move(*f);
  } else if (type == "multipart/form-data") {
    auto f = net::multipart_decode(req.content_type, req.body);
    if (!f.ok()) return InvalidArgument("twilio webhook: " + f.status().message());
    fields = std::move(*f);
  } else {
    return InvalidArgument("twilio webhook: unsupported content type '" + type + "'");
  }
  return parse_webhook_fields(channel, fields);
}

namespace {
const bool registered =
    register_provider("twilio", [] { return std::make_unique<TwilioProvider>(); });
}  // namespace

// Referenced from the adapter registry so that static linking keeps this object file (and the
// registration above) in every binary.
void link_adapter() {}

}  // namespace banxway::messaging::twilio
