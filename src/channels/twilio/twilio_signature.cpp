// X-Twilio-Signature (PROTOCOLS.md §2.1): HMAC-SHA1 over the full URL plus the sorted form
// parameters, base64; URL port variants; bodySHA256 for non-form bodies.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <string>

#include "channels/twilio/twilio.hpp"
#include "core/crypto.hpp"

namespace banxway::messaging::twilio {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "application/x-www-form-urlencoded; charset=utf-8" → "application/x-www-form-urlencoded"
std::string media_type(std::string_view content_type) {
  std::string t(trim(content_type.substr(0, content_type.find(';'))));
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return t;
}

}  // namespace

std::string hmac_sha1(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len))
    throw std::runtime_error("HMAC-SHA1 failed");
  return std::string(reinterpret_cast<char*>(md), len);
}

std::string compute_signature(std::string_view auth_token, std::string_view url,
                              net::FormFields params) {
  // Sorting the (name, value) pairs sorts by name, then a repeated name's values; std::string
  // compares byte-wise (as unsigned char), which is code-point order for UTF-8.
  std::sort(params.begin(), params.end());
  std::string data(url);
  for (const auto& [name, value] : params) {
    data += name;
    data += value;
  }
  return crypto::base64_encode(hmac_sha1(auth_token, data));
}

std::vector<std::string> url_variants(std::string_view url) {
  std::vector<std::string> out{std::string(url)};
  size_t sep = url.find("://");
  if (sep == std::string_view::npos) return out;
  std::string scheme(url.substr(0, sep));
  for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t auth_begin = sep + 3;
  size_t auth_end = url.find_first_of("/?#", auth_begin);
  if (auth_end == std::string_view::npos) auth_end = url.size();
  std::string_view auth = url.substr(auth_begin, auth_end - auth_begin);
  size_t at = auth.rfind('@');
  size_t host_begin = at == std::string_view::npos ? 0 : at + 1;
  std::string_view hostport = auth.substr(host_begin);
  size_t colon = std::string_view::npos;
  if (!hostport.empty() && hostport.front() == '[') {
    size_t close = hostport.find(']');
    if (close != std::string_view::npos && close + 1 < hostport.size() && hostport[close + 1] == ':')
      colon = close + 1;
  } else {
    colon = hostport.rfind(':');
  }
  std::string prefix(url.substr(0, auth_begin + host_begin));
  std::string rest(url.substr(auth_end));
  if (colon != std::string_view::npos) {
    out.push_back(prefix + std::string(hostport.substr(0, colon)) + rest);  // port removed
  } else {
    std::string port = scheme == "https" ? "443" : scheme == "http" ? "80" : "";
    if (!port.empty()) out.push_back(prefix + std::string(hostport) + ":" + port + rest);
  }
  return out;
}

Status verify_signature(std::string_view auth_token, const WebhookRequest& req) {
  if (auth_token.empty())
    return Unauthenticated("twilio: no auth token configured; cannot verify the webhook");
  std::string signature(trim(req.header("X-Twilio-Signature")));
  if (signature.empty()) return Unauthenticated("twilio: X-Twilio-Signature header missing");

  // bodySHA256 in the query: a non-form body, signed through its hash.
  std::optional<std::string> body_sha;
  if (size_t q = req.url.find('?'); q != std::string::npos) {
    std::string_view query(req.url);
    query = query.substr(q + 1);
    query = query.substr(0, query.find('#'));
    auto fields = net::form_decode(query);
    if (!fields.ok()) return Unauthenticated("twilio: webhook URL has a malformed query");
    for (const auto& [k, v] : *fields)
      if (k == "bodySHA256") {
        body_sha = v;
        break;
      }
  }

  net::FormFields params;
  bool body_ok = true;
  if (body_sha) {
    body_ok = crypto::constant_time_equal(crypto::sha256_hex(req.body), *body_sha);
  } else if (!req.body.empty()) {
    std::string type = media_type(req.content_type);
    if (!type.empty() && type != "application/x-www-form-urlencoded")
      return Unauthenticated("twilio: a " + type +
                             " body without bodySHA256 in the URL cannot be verified");
    auto fields = net::form_decode(req.body);
    if (!fields.ok()) return Unauthenticated("twilio: webhook body is not valid form data");
    params = std::move(*fields);
  }

  bool sig_ok = false;
  for (const auto& u : url_variants(req.url))
    sig_ok |= crypto::constant_time_equal(compute_signature(auth_token, u, params), signature);
  if (!sig_ok || !body_ok) return Unauthenticated("twilio: webhook signature mismatch");
  return Status();
}

}  // namespace banxway::messaging::twilio
