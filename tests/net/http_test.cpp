// http_request against a loopback stub (allow_private_network = true), the SSRF refusal, and
// the pure helpers (address classes, forms, multipart, Retry-After).
#include "net/http.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ctime>

#include "support/http_stub.hpp"

namespace banxway::net {
namespace {

using namespace std::chrono_literals;
using bxtest::HttpStub;
using bxtest::StubRequest;
using bxtest::StubResponse;

HttpRequest local(const std::string& url) {
  HttpRequest r;
  r.url = url;
  r.allow_private_network = true;
  r.connect_timeout = 5s;
  r.timeout = 10s;
  return r;
}

// A loopback port nobody listens on (bound, then closed).
int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string http_date(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

// --- round trips -------------------------------------------------------------------------------

TEST(Http, GetRoundTrip) {
  HttpStub stub([](const StubRequest& r) {
    StubResponse res;
    res.body = R"({"ok":true,"path":")" + r.path() + "\"}";
    res.headers = {{"X-Request-Id", "abc123"}, {"X-Empty", ""}};
    return res;
  });
  HttpRequest req = local(stub.base_url() + "/v1/items?limit=5&q=a%20b");
  req.headers = {{"Accept", "application/json"}, {"X-Custom", "v1"}};
  auto res = http_request(req);
  ASSERT_TRUE(res.ok()) << res.status().to_string();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, R"({"ok":true,"path":"/v1/items"})");
  EXPECT_EQ(res->header("x-request-id").value_or(""), "abc123");
  EXPECT_EQ(res->header("CONTENT-TYPE").value_or(""), "application/json");
  EXPECT_EQ(res->header("x-empty").value_or("missing"), "");
  EXPECT_FALSE(res->header("X-Absent").has_value());
  for (const auto& [k, v] : res->headers) EXPECT_NE(k.rfind("HTTP/", 0), 0u) << k;

  auto seen = stub.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].target, "/v1/items?limit=5&q=a%20b");
  EXPECT_EQ(seen[0].header("X-Custom"), "v1");
  EXPECT_EQ(seen[0].header("Accept"), "application/json");
  EXPECT_EQ(seen[0].header("Authorization"), "");
  EXPECT_EQ(seen[0].header("Expect"), "");
  EXPECT_TRUE(seen[0].body.empty());
}

TEST(Http, PostBodyAndHeaders) {
  HttpStub stub([](const StubRequest& r) {
    StubResponse res;
    res.status = 201;
    res.body = "echo:" + r.body;
    res.content_type = "text/plain";
    return res;
  });
  HttpRequest req = local(stub.base_url() + "/send");
  req.method = "POST";
  req.body = form_encode({{"To", "+91 98765 43210"}, {"Body", "Hello & bye"}});
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  auto res = http_request(req);
  ASSERT_TRUE(res.ok()) << res.status().to_string();
  EXPECT_EQ(res->status, 201);
  EXPECT_EQ(res->body, "echo:" + req.body);
  auto seen = stub.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].body, req.body);
  EXPECT_EQ(seen[0].header("Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(seen[0].header("Content-Length"), std::to_string(req.body.size()));
}

TEST(Http, LargeBodyIsSentWithoutExpectContinue) {
  HttpStub stub([](const StubRequest& r) {
    StubResponse res;
    res.body = std::to_string(r.body.size());
    return res;
  });
  HttpRequest req = local(stub.base_url() + "/upload");
  req.method = "PUT";
  req.body.assign(300000, 'x');
  auto res = http_request(req);
  ASSERT_TRUE(res.ok()) << res.status().to_string();
  EXPECT_EQ(res->body, "300000");
  auto seen = stub.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "PUT");
  EXPECT_EQ(seen[0].header("Expect"), "");
}

TEST(Http, OtherMethods) {
  HttpStub stub([](const StubRequest&) { return StubResponse{}; });
  for (std::string m : {"PUT", "PATCH", "DELETE"}) {
    HttpRequest req = local(stub.base_url() + "/r/1");
    req.method = m;
    if (m != "DELETE") req.body = R"({"a":1})";
    auto res = http_request(req);
    ASSERT_TRUE(res.ok()) << m << ": " << res.status().to_string();
    EXPECT_EQ(res->status, 200);
  }
  auto seen = stub.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].method, "PUT");
  EXPECT_EQ(seen[0].body, R"({"a":1})");
  EXPECT_EQ(seen[1].method, "PATCH");
  EXPECT_EQ(seen[1].body, R"({"a":1})");
  EXPECT_EQ(seen[2].method, "DELETE");
  EXPECT_TRUE(seen[2].body.empty());
}

TEST(Http, BasicAuth) {
  HttpStub stub([](const StubRequest&) { return StubResponse{}; });
  HttpRequest req = local(stub.base_url() + "/v1/Accounts/sid/Calls");
  req.basic_user = "api_key";
  req.basic_password = "s3cr3t";
  auto res = http_request(req);
  ASSERT_TRUE(res.ok()) << res.status().to_string();
  auto seen = stub.requests();
  ASSERT_EQ(seen.size(), 1u);
  // base64("api_key:s3cr3t")
  EXPECT_EQ(seen[0].header("Authorization"), "Basic YXBpX2tleTpzM2NyM3Q=");
  EXPECT_EQ(seen[0].target, "/v1/Accounts/sid/Calls");
}

TEST(Http, StatusCodesPassThrough) {
  HttpStub stub([](const StubRequest& r) {
    StubResponse res;
    res.status = std::stoi(r.path().substr(1));
    res.body = "status " + r.path().substr(1);
    return res;
  });
  for (int code : {204, 400, 401, 404, 429, 500, 503}) {
    auto res = http_request(local(stub.base_url() + "/" + std::to_string(code)));
    ASSERT_TRUE(res.ok()) << code << ": " << res.status().to_string();
    EXPECT_EQ(res->status, code);
    if (code != 204) {
      EXPECT_EQ(res->body, "status " + std::to_string(code));
    }
  }
}

TEST(Http, RetryAfterFromServer) {
  const std::string future = http_date(std::time(nullptr) + 3600);
  HttpStub stub([future](const StubRequest& r) {
    StubResponse res;
    res.status = 429;
    res.headers = {{"Retry-After", r.path() == "/seconds" ? "120" : future}};
    return res;
  });
  auto secs = http_request(local(stub.base_url() + "/seconds"));
  ASSERT_TRUE(secs.ok()) << secs.status().to_string();
  EXPECT_EQ(secs->status, 429);
  ASSERT_TRUE(secs->retry_after().has_value());
  EXPECT_EQ(*secs->retry_after(), std::chrono::milliseconds(120000));

  auto date = http_request(local(stub.base_url() + "/date"));
  ASSERT_TRUE(date.ok()) << date.status().to_string();
  auto wait = date->retry_after();
  ASSERT_TRUE(wait.has_value());
  EXPECT_GT(*wait, std::chrono::milliseconds(0));
  EXPECT_LE(*wait, std::chrono::milliseconds(3600000));
}

TEST(HttpResponseTest, RetryAfterParsing) {
  HttpResponse r;
  EXPECT_FALSE(r.retry_after().has_value());
  auto with = [](std::string v) {
    HttpResponse x;
    x.headers = {{"retry-after", std::move(v)}};
    return x.retry_after();
  };
  EXPECT_EQ(with("0"), std::chrono::milliseconds(0));
  EXPECT_EQ(with(" 7 "), std::chrono::milliseconds(7000));
  EXPECT_FALSE(with("-5").has_value());
  EXPECT_FALSE(with("1.5").has_value());
  EXPECT_FALSE(with("soon").has_value());
  EXPECT_FALSE(with("").has_value());
  EXPECT_FALSE(with("12abc").has_value());
  // A huge delta is clamped, not overflowed.
  auto huge = with("99999999999999999999999999");
  ASSERT_TRUE(huge.has_value());
  EXPECT_GT(*huge, std::chrono::milliseconds(0));
  // Dates: the past means "now"; a future one is a positive delay no longer than its distance.
  EXPECT_EQ(with("Wed, 21 Oct 2015 07:28:00 GMT"), std::chrono::milliseconds(0));
  auto future = with(http_date(std::time(nullptr) + 600));
  ASSERT_TRUE(future.has_value());
  EXPECT_GT(*future, std::chrono::milliseconds(0));
  EXPECT_LE(*future, std::chrono::milliseconds(600000));
}

// --- limits and failures -----------------------------------------------------------------------

TEST(Http, ResponseCap) {
  HttpStub stub([](const StubRequest& r) {
    StubResponse res;
    res.body.assign(r.path() == "/big" ? 5000 : 100, 'a');
    return res;
  });
  HttpRequest req = local(stub.base_url() + "/big");
  req.max_response_bytes = 1000;
  auto res = http_request(req);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), Code::payload_too_large) << res.status().to_string();

  req.url = stub.base_url() + "/small";
  req.max_response_bytes = 100;  // exactly at the cap is fine
  auto ok = http_request(req);
  ASSERT_TRUE(ok.ok()) << ok.status().to_string();
  EXPECT_EQ(ok->body.size(), 100u);
}

TEST(Http, Timeout) {
  HttpStub stub([](const StubRequest&) {
    StubResponse res;
    res.delay = 2s;
    return res;
  });
  HttpRequest req = local(stub.base_url() + "/slow?token=qsecret");
  req.timeout = 300ms;
  auto res = http_request(req);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), Code::unavailable) << res.status().to_string();
  EXPECT_NE(res.status().message().find("127.0.0.1"), std::string::npos);
  EXPECT_EQ(res.status().message().find("qsecret"), std::string::npos);
}

TEST(Http, ConnectionRefused) {
  HttpRequest req = local("http://127.0.0.1:" + std::to_string(closed_port()) +
                          "/x?api_key=qsecret");
  req.basic_user = "user";
  req.basic_password = "pw-hunter2";
  auto res = http_request(req);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), Code::unavailable) << res.status().to_string();
  const std::string m = res.status().message();
  EXPECT_NE(m.find("127.0.0.1"), std::string::npos) << m;
  EXPECT_EQ(m.find("qsecret"), std::string::npos) << m;
  EXPECT_EQ(m.find("api_key"), std::string::npos) << m;
  EXPECT_EQ(m.find("pw-hunter2"), std::string::npos) << m;
}

TEST(Http, UnresolvableHost) {
  HttpRequest req = local("http://no-such-host.invalid/x");
  auto res = http_request(req);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), Code::unavailable) << res.status().to_string();
  EXPECT_NE(res.status().message().find("no-such-host.invalid"), std::string::npos);
}

TEST(Http, InvalidRequests) {
  auto code_of = [](HttpRequest r) { return http_request(r).status().code(); };
  HttpRequest base = local("http://127.0.0.1:1/x");
  for (std::string url : {"", "not a url", "ftp://example.com/f", "file:///etc/passwd",
                          "gopher://127.0.0.1/", "http://", "//example.com/x",
                          "http://user:pw@example.com/", "http://example.com/\r\nX: y"}) {
    HttpRequest r = base;
    r.url = url;
    EXPECT_EQ(code_of(r), Code::invalid_argument) << url;
  }
  for (std::string m : {"TRACE", "get", "CONNECT", "HEAD", ""}) {
    HttpRequest r = base;
    r.method = m;
    EXPECT_EQ(code_of(r), Code::invalid_argument) << m;
  }
  HttpRequest bad_header = base;
  bad_header.headers = {{"X-A", "v\r\nInjected: 1"}};
  EXPECT_EQ(code_of(bad_header), Code::invalid_argument);
  bad_header.headers = {{"X A", "v"}};
  EXPECT_EQ(code_of(bad_header), Code::invalid_argument);
  HttpRequest no_timeout = base;
  no_timeout.timeout = 0ms;
  EXPECT_EQ(code_of(no_timeout), Code::invalid_argument);
}

// --- redirects ---------------------------------------------------------------------------------

TEST(Http, RedirectNotFollowedByDefault) {
  HttpStub stub([](const StubRequest& r) {
    StubResponse res;
    if (r.path() == "/a") {
      res.status = 302;
      res.headers = {{"Location", "/b"}, {"X-From", "a"}};
    } else {
      res.body = "at b";
    }
    return res;
  });
  auto res = http_request(local(stub.base_url() + "/a"));
  ASSERT_TRUE(res.ok()) << res.status().to_string();
  EXPECT_EQ(res->status, 302);
  EXPECT_EQ(res->header("Location").value_or(""), "/b");
  EXPECT_EQ(stub.request_count(), 1u);

  HttpRequest follow = local(stub.base_url() + "/a");
  follow.follow_redirects = true;
  auto followed = http_request(follow);
  ASSERT_TRUE(followed.ok()) << followed.status().to_string();
  EXPECT_EQ(followed->status, 200);
  EXPECT_EQ(followed->body, "at b");
  // Only the final response's headers are kept.
  EXPECT_FALSE(followed->header("X-From").has_value());
  EXPECT_FALSE(followed->header("Location").has_value());
  auto seen = stub.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[2].path(), "/b");
}

TEST(Http, RedirectLoopIsBounded) {
  HttpStub stub([](const StubRequest&) {
    StubResponse res;
    res.status = 302;
    res.headers = {{"Location", "/again"}};
    return res;
  });
  HttpRequest req = local(stub.base_url() + "/start");
  req.follow_redirects = true;
  auto res = http_request(req);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), Code::unavailable) << res.status().to_string();
  EXPECT_EQ(stub.request_count(), 4u);  // the request and 3 redirects
}

TEST(Http, RedirectToOtherSchemeRefused) {
  HttpStub stub([](const StubRequest&) {
    StubResponse res;
    res.status = 301;
    res.headers = {{"Location", "file:///etc/passwd"}};
    return res;
  });
  HttpRequest req = local(stub.base_url() + "/start");
  req.follow_redirects = true;
  auto res = http_request(req);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), Code::permission_denied) << res.status().to_string();
  EXPECT_EQ(stub.request_count(), 1u);
}

// --- SSRF --------------------------------------------------------------------------------------

TEST(HttpSsrf, LoopbackRefusedWithoutOptIn) {
  HttpStub stub([](const StubRequest&) { return StubResponse{}; });
  for (std::string host : {"127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "0x7f.1", "2130706433"}) {
    HttpRequest req;
    req.url = "http://" + host + ":" + std::to_string(stub.port()) + "/hook?token=qsecret";
    req.basic_user = "u";
    req.basic_password = "pw-hunter2";
    req.connect_timeout = 5s;
    req.timeout = 10s;
    auto res = http_request(req);
    ASSERT_FALSE(res.ok()) << host;
    EXPECT_EQ(res.status().code(), Code::permission_denied) << host << ": "
                                                             << res.status().to_string();
    const std::string m = res.status().message();
    EXPECT_NE(m.find("loopback"), std::string::npos) << m;
    EXPECT_EQ(m.find("qsecret"), std::string::npos) << m;
    EXPECT_EQ(m.find("pw-hunter2"), std::string::npos) << m;
  }
  EXPECT_EQ(stub.request_count(), 0u);
}

TEST(HttpSsrf, PrivateAndMetadataRefused) {
  // Refused in the socket callback, before any packet is sent, so these never leave the host.
  for (std::string url : {"http://169.254.169.254/latest/meta-data/", "http://10.0.0.5/",
                          "http://[::1]:9/", "http://0.0.0.0:9/", "https://192.168.1.1/",
                          "http://[fe80::1]/", "http://[64:ff9b::7f00:1]/"}) {
    HttpRequest req;
    req.url = url;
    req.connect_timeout = 5s;
    req.timeout = 10s;
    auto res = http_request(req);
    ASSERT_FALSE(res.ok()) << url;
    EXPECT_EQ(res.status().code(), Code::permission_denied) << url << ": "
                                                             << res.status().to_string();
  }
}

TEST(HttpSsrf, AddressTable) {
  struct Case {
    const char* ip;
    bool blocked;
  };
  const Case cases[] = {
      // IPv4 blocked
      {"0.0.0.0", true}, {"0.1.2.3", true}, {"10.0.0.5", true}, {"10.255.255.255", true},
      {"100.64.0.1", true}, {"100.127.255.254", true}, {"127.0.0.1", true},
      {"127.255.255.255", true}, {"169.254.169.254", true}, {"169.254.0.1", true},
      {"172.16.0.1", true}, {"172.31.255.255", true}, {"192.168.0.1", true},
      {"192.168.255.255", true}, {"192.0.0.8", true}, {"198.18.0.1", true},
      {"198.19.255.255", true}, {"224.0.0.1", true}, {"239.255.255.250", true},
      {"240.0.0.1", true}, {"255.255.255.255", true},
      // IPv4 allowed (neighbours of the blocked ranges and public resolvers)
      {"8.8.8.8", false}, {"1.1.1.1", false}, {"9.255.255.255", false}, {"11.0.0.0", false},
      {"100.63.255.255", false}, {"100.128.0.0", false}, {"126.255.255.255", false},
      {"128.0.0.1", false}, {"169.253.255.255", false}, {"169.255.0.0", false},
      {"172.15.255.255", false}, {"172.32.0.0", false}, {"192.167.255.255", false},
      {"192.169.0.0", false}, {"192.0.1.1", false}, {"198.17.255.255", false},
      {"198.20.0.0", false}, {"223.255.255.255", false}, {"52.95.110.1", false},
      // IPv6 blocked
      {"::", true}, {"::1", true}, {"[::1]", true}, {"fc00::1", true}, {"fd12:3456::1", true},
      {"fe80::1", true}, {"fe80::1%eth0", true}, {"febf::1", true}, {"ff02::1", true},
      {"ff05::1:3", true}, {"::ffff:127.0.0.1", true}, {"::ffff:10.1.2.3", true},
      {"::ffff:169.254.169.254", true}, {"::ffff:7f00:1", true}, {"64:ff9b::127.0.0.1", true},
      {"64:ff9b::a00:1", true}, {"64:ff9b::192.168.1.1", true}, {"::127.0.0.1", true},
      {"2002:7f00:1::", true}, {"2002:a9fe:a9fe::1", true}, {"64:ff9b:1::1", true},
      {"100::1", true}, {"fec0::1", true},
      // IPv6 allowed
      {"2001:4860:4860::8888", false}, {"2001:4860::8888", false}, {"2606:4700::1111", false},
      {"::ffff:8.8.8.8", false}, {"64:ff9b::8.8.8.8", false}, {"2002:808:808::1", false},
      {"fbff::1", false}, {"fec0::1", true}, {"2a00:1450:4001:80b::200e", false},
      // not an address literal: fail closed
      {"", true}, {"localhost", true}, {"example.com", true}, {"1.2.3", true},
      {"256.1.1.1", true}, {"::ffff:999.1.1.1", true},
  };
  for (const auto& c : cases) EXPECT_EQ(is_private_address(c.ip), c.blocked) << c.ip;
}

// --- forms -------------------------------------------------------------------------------------

TEST(Form, EncodeDecodeRoundTrip) {
  FormFields in = {{"To", "+91 98765 43210"},
                   {"Body", "Hello & good-bye = 100% ~ok_."},
                   {"ünï", "çödé\n\r\t"},
                   {"empty", ""},
                   {"", "nameless"},
                   {"bin", std::string("a\0b\xff", 4)}};
  std::string enc = form_encode(in);
  EXPECT_EQ(form_encode({{"a b", "c&d=e"}, {"x", "~._-+/"}}),
            "a+b=c%26d%3De&x=~._-%2B%2F");
  auto out = form_decode(enc);
  ASSERT_TRUE(out.ok()) << out.status().to_string();
  EXPECT_EQ(*out, in);
  EXPECT_EQ(form_encode({}), "");
}

TEST(Form, DecodeForms) {
  auto out = form_decode("a=1&b=&c&&d=x%2By+z&e=%e2%82%AC&");
  ASSERT_TRUE(out.ok()) << out.status().to_string();
  FormFields want = {{"a", "1"}, {"b", ""}, {"c", ""}, {"d", "x+y z"}, {"e", "\xe2\x82\xac"}};
  EXPECT_EQ(*out, want);
  auto empty = form_decode("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  auto eq = form_decode("k=v=w");
  ASSERT_TRUE(eq.ok());
  EXPECT_EQ((*eq)[0].second, "v=w");
}

TEST(Form, DecodeRejectsMalformedEscapes) {
  for (std::string bad : {"a=%", "a=%4", "a=%zz", "a=%4g", "%G1=x", "a=1&b=%%", "a=ok&b=%2"})
    EXPECT_EQ(form_decode(bad).status().code(), Code::invalid_argument) << bad;
}

TEST(Form, UrlEscape) {
  EXPECT_EQ(url_escape("a b/c?d=\xc3\xa9&+"), "a%20b%2Fc%3Fd%3D%C3%A9%26%2B");
  EXPECT_EQ(url_escape("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(url_escape(""), "");
}

// --- multipart ---------------------------------------------------------------------------------

TEST(Multipart, QuotedBoundaryAndFile) {
  const std::string body =
      "preamble to ignore\r\n"
      "--xyz:b 1\r\n"
      "Content-Disposition: form-data; name=\"CallSid\"\r\n"
      "\r\n"
      "CA123\r\n"
      "--xyz:b 1\r\n"
      "content-disposition: form-data; name=\"notes\"\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n"
      "\r\n"
      "line one\r\nline two\r\n\r\n"
      "--xyz:b 1\r\n"
      "Content-Disposition: form-data; name=\"file\"; filename=\"C:\\dir\\a.txt\"\r\n"
      "Content-Type: application/octet-stream\r\n"
      "\r\n"
      "\x01\x02--xyz\r\n"
      "--xyz:b 1\r\n"
      "Content-Disposition: form-data; name=\"with \\\"quote\\\"\"\r\n"
      "\r\n"
      "\r\n"
      "--xyz:b 1--\r\n"
      "epilogue";
  auto out = multipart_decode("multipart/form-data; boundary=\"xyz:b 1\"", body);
  ASSERT_TRUE(out.ok()) << out.status().to_string();
  FormFields want = {{"CallSid", "CA123"},
                     {"notes", "line one\r\nline two\r\n"},
                     {"file", "\x01\x02--xyz"},
                     {"with \"quote\"", ""}};
  EXPECT_EQ(*out, want);
}

TEST(Multipart, UnquotedBoundary) {
  const std::string body =
      "--AaB03x\r\n"
      "Content-Disposition: form-data; name=field1\r\n"
      "\r\n"
      "Joe Blow\r\n"
      "--AaB03x  \r\n"  // transport padding
      "Content-Disposition: form-data;\r\n name=\"folded\"\r\n"
      "\r\n"
      "v\r\n"
      "--AaB03x--";
  auto out = multipart_decode("Multipart/Form-Data;boundary=AaB03x; charset=utf-8", body);
  ASSERT_TRUE(out.ok()) << out.status().to_string();
  FormFields want = {{"field1", "Joe Blow"}, {"folded", "v"}};
  EXPECT_EQ(*out, want);
}

TEST(Multipart, Malformed) {
  const std::string good =
      "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--b--\r\n";
  ASSERT_TRUE(multipart_decode("multipart/form-data; boundary=b", good).ok());
  auto code = [](std::string ct, std::string body, size_t max = 1000) {
    return multipart_decode(ct, body, max).status().code();
  };
  const auto bad = Code::invalid_argument;
  EXPECT_EQ(code("multipart/form-data", good), bad);                   // no boundary
  EXPECT_EQ(code("multipart/form-data; boundary=", good), bad);        // empty boundary
  EXPECT_EQ(code("multipart/form-data; boundary=\"b", good), bad);     // unterminated quote
  EXPECT_EQ(code("application/json; boundary=b", good), bad);          // wrong type
  EXPECT_EQ(code("multipart/form-data; boundary=zz", good), bad);      // boundary not in body
  EXPECT_EQ(code("multipart/form-data; boundary=b",
                 "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n"),
            bad);  // missing closing boundary
  EXPECT_EQ(code("multipart/form-data; boundary=b",
                 "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n"),
            bad);  // unterminated headers
  EXPECT_EQ(code("multipart/form-data; boundary=b",
                 "--b\r\nContent-Type: text/plain\r\n\r\n1\r\n--b--"),
            bad);  // no Content-Disposition
  EXPECT_EQ(code("multipart/form-data; boundary=b",
                 "--b\r\nContent-Disposition: form-data; filename=\"x\"\r\n\r\n1\r\n--b--"),
            bad);  // no name
  EXPECT_EQ(code("multipart/form-data; boundary=b",
                 "--b\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\n1\r\n--b--"),
            bad);  // not form-data
  EXPECT_EQ(code("multipart/form-data; boundary=b",
                 "--bXYZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--b--"),
            bad);  // delimiter followed by garbage
  // LF-only line ends are not multipart (RFC 2046 requires CRLF).
  EXPECT_EQ(code("multipart/form-data; boundary=b",
                 "--b\nContent-Disposition: form-data; name=\"a\"\n\n1\n--b--\n"),
            bad);
  // Bounded number of parts.
  std::string three;
  for (int i = 0; i < 3; ++i)
    three += "--b\r\nContent-Disposition: form-data; name=\"f" + std::to_string(i) +
             "\"\r\n\r\nv\r\n";
  three += "--b--\r\n";
  EXPECT_EQ(code("multipart/form-data; boundary=b", three, 2), bad);
  auto ok3 = multipart_decode("multipart/form-data; boundary=b", three, 3);
  ASSERT_TRUE(ok3.ok()) << ok3.status().to_string();
  EXPECT_EQ(ok3->size(), 3u);
}

TEST(Multipart, NoParts) {
  auto out = multipart_decode("multipart/form-data; boundary=b", "--b--\r\n");
  ASSERT_TRUE(out.ok()) << out.status().to_string();
  EXPECT_TRUE(out->empty());
}

}  // namespace
}  // namespace banxway::net
