#include "metrics.hpp"

#include <rapidjson/document.h>

#include <cstdio>

#include "banxway/engine.hpp"

namespace bxserver {
namespace {

// Label values escaped as the text format asks: backslash, double quote and newline.
void label(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += "=\"";
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  out += '"';
}

std::string number(double v) {
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%.15g", v);
  return std::string(buf, static_cast<size_t>(n));
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void gauge(std::string& out, std::string_view name, std::string_view help, int64_t v,
           std::string_view type = "gauge") {
  header(out, name, type, help);
  out += name;
  out += ' ';
  out += std::to_string(v);
  out += '\n';
}

std::string_view route_label(std::string_view r) { return r.empty() ? "unmatched" : r; }

}  // namespace

Metrics& Metrics::global() {
  static Metrics* m = new Metrics();  // never destroyed: sessions may outlive main's statics
  return *m;
}

void Metrics::request_done(std::string_view route, std::string_view method, int status,
                           double seconds) {
  Metrics& m = global();
  route = route_label(route);
  std::lock_guard<std::mutex> lock(m.mu_);
  auto key = std::tuple<std::string_view, std::string_view, int>(route, method, status);
  auto it = m.requests_.find(key);
  if (it == m.requests_.end())
    it = m.requests_
             .emplace(std::tuple<std::string, std::string, int>(route, method, status), Series{})
             .first;
  it->second.count++;
  auto lkey = std::tuple<std::string_view, std::string_view>(route, method);
  auto lit = m.latency_.find(lkey);
  if (lit == m.latency_.end())
    lit = m.latency_.emplace(std::tuple<std::string, std::string>(route, method), Latency{}).first;
  Latency& l = lit->second;
  for (size_t i = 0; i < kBucketCount; ++i)
    if (seconds <= kBuckets[i]) l.buckets[i]++;
  l.count++;
  l.sum += seconds;
}

void Metrics::rate_limited_add(std::string_view by) {
  Metrics& m = global();
  std::lock_guard<std::mutex> lock(m.mu_);
  m.rate_limited_[std::string(by)]++;
}

std::string Metrics::render(std::string_view engine_stats_json) const {
  std::string out;
  out.reserve(16 * 1024);
  {
    std::lock_guard<std::mutex> lock(mu_);
    header(out, "banxway_http_requests_total", "counter",
           "HTTP requests answered, by route pattern, method and status.");
    for (const auto& [k, s] : requests_) {
      const auto& [route, method, status] = k;
      out += "banxway_http_requests_total{";
      label(out, "route", route);
      out += ',';
      label(out, "method", method);
      out += ',';
      label(out, "status", std::to_string(status));
      out += "} ";
      out += std::to_string(s.count);
      out += '\n';
    }
    header(
        out, "banxway_http_request_duration_seconds", "histogram",
        "Time from a request's first byte to its response written, by route pattern and method.");
    for (const auto& [k, l] : latency_) {
      std::string labels;
      label(labels, "route", std::get<0>(k));
      labels += ',';
      label(labels, "method", std::get<1>(k));
      for (size_t i = 0; i < kBucketCount; ++i) {
        out += "banxway_http_request_duration_seconds_bucket{" + labels + ",le=\"" +
               number(kBuckets[i]) + "\"} " + std::to_string(l.buckets[i]) + '\n';
      }
      out += "banxway_http_request_duration_seconds_bucket{" + labels + ",le=\"+Inf\"} " +
             std::to_string(l.count) + '\n';
      out += "banxway_http_request_duration_seconds_sum{" + labels + "} " + number(l.sum) + '\n';
      out += "banxway_http_request_duration_seconds_count{" + labels + "} " +
             std::to_string(l.count) + '\n';
    }
    header(out, "banxway_http_rate_limited_total", "counter",
           "Requests refused with 429, by what was limited (caller or address).");
    for (const auto& [by, n] : rate_limited_) {
      out += "banxway_http_rate_limited_total{";
      label(out, "by", by);
      out += "} " + std::to_string(n) + '\n';
    }
  }
  gauge(out, "banxway_http_requests_in_flight", "Requests being received, run or answered.",
        inflight_.load());
  gauge(out, "banxway_http_connections", "Open HTTP connections.", connections_.load());
  gauge(out, "banxway_http_connections_refused_total",
        "Connections refused because --max-connections was reached.", refused_.load(), "counter");
  int64_t ws = ws_connections_.load();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (ws_source_) ws = ws_source_();
  }
  gauge(out, "banxway_websocket_connections", "Open WebSocket connections.", ws);
  gauge(out, "banxway_websocket_messages_sent_total", "Messages sent to WebSocket clients.",
        ws_messages_sent_.load(), "counter");

  rapidjson::Document d;
  bool have = !engine_stats_json.empty() &&
              !d.Parse(engine_stats_json.data(), engine_stats_json.size()).HasParseError() &&
              d.IsObject() && d.HasMember("messages") && d["messages"].IsArray() &&
              d.HasMember("jobs") && d["jobs"].IsArray();
  gauge(out, "banxway_engine_stats_up",
        "1 when the database counters below could be read at the last refresh.", have ? 1 : 0);
  if (!have) return out;
  auto s = [](const rapidjson::Value& v, const char* k) -> std::string_view {
    auto it = v.FindMember(k);
    return it != v.MemberEnd() && it->value.IsString()
               ? std::string_view(it->value.GetString(), it->value.GetStringLength())
               : std::string_view("");
  };
  auto n = [](const rapidjson::Value& v) -> int64_t {
    auto it = v.FindMember("count");
    return it != v.MemberEnd() && it->value.IsInt64() ? it->value.GetInt64() : 0;
  };
  header(out, "banxway_messages_stored", "gauge",
         "Messages stored, all organizations, by channel and direction (ingested and sent).");
  for (const auto& m : d["messages"].GetArray()) {
    out += "banxway_messages_stored{";
    label(out, "channel", s(m, "channel"));
    out += ',';
    label(out, "direction", s(m, "direction"));
    out += "} " + std::to_string(n(m)) + '\n';
  }
  header(out, "banxway_jobs", "gauge",
         "Background jobs by kind and state (pending, running, done, dead).");
  for (const auto& j : d["jobs"].GetArray()) {
    out += "banxway_jobs{";
    label(out, "kind", s(j, "kind"));
    out += ',';
    label(out, "state", s(j, "status"));
    out += "} " + std::to_string(n(j)) + '\n';
  }
  header(out, "banxway_job_failures", "gauge",
         "Jobs that failed for good (state dead: attempts exhausted), by kind.");
  for (const auto& j : d["jobs"].GetArray()) {
    if (s(j, "status") != "dead") continue;
    out += "banxway_job_failures{";
    label(out, "kind", s(j, "kind"));
    out += "} " + std::to_string(n(j)) + '\n';
  }
  return out;
}

}  // namespace bxserver
