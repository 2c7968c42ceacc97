// Thin wrappers over OpenSSL: hashes, HMAC, random tokens, base64url, constant-time compare.
#pragma once

#include <string>
#include <string_view>

namespace banxway::crypto {

/// SHA-256 of data, as 32 raw bytes.
std::string sha256(std::string_view data);
/// SHA-256 as lower-case hex.
std::string sha256_hex(std::string_view data);
/// HMAC-SHA256(key, data), 32 raw bytes.
std::string hmac_sha256(std::string_view key, std::string_view data);
/// n cryptographically random bytes.
std::string random_bytes(size_t n);
std::string hex(std::string_view raw);
std::string base64url_encode(std::string_view raw);  // no padding
/// Decodes base64url (padding optional). False on any character outside the alphabet.
bool base64url_decode(std::string_view in, std::string* out);
std::string base64_encode(std::string_view raw);
bool base64_decode(std::string_view in, std::string* out);
/// Compares in time independent of where the inputs differ (length may leak).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace banxway::crypto
