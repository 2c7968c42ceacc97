// The C ABI over Engine. Every entry point catches everything: no exception crosses into C.
#include "banxway/banxway.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "banxway/engine.hpp"
#include "core/json.hpp"

struct banxway_engine {
  std::unique_ptr<banxway::Engine> engine;
};

namespace {

thread_local std::string g_last_error;

char* dup(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (!p) return nullptr;
  std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
}

int to_c(banxway::Code c) {
  using banxway::Code;
  switch (c) {
    case Code::ok: return BANXWAY_OK;
    case Code::invalid_argument: return BANXWAY_EINVALID;
    case Code::not_found: return BANXWAY_ENOTFOUND;
    case Code::already_exists: return BANXWAY_EEXISTS;
    case Code::permission_denied: return BANXWAY_EDENIED;
    case Code::unauthenticated: return BANXWAY_EUNAUTH;
    case Code::conflict: return BANXWAY_ECONFLICT;
    case Code::payload_too_large: return BANXWAY_ETOOLARGE;
    case Code::rate_limited: return BANXWAY_ERATELIMIT;
    case Code::unavailable: return BANXWAY_EUNAVAILABLE;
    case Code::internal: return BANXWAY_EINTERNAL;
  }
  return BANXWAY_EINTERNAL;
}

// Records the error for banxway_error_last() and, when out is given, returns it as JSON too.
int fail(const banxway::Status& st, char** out) {
  g_last_error = st.message();
  if (out) {
    std::string j = "{\"code\":" + banxway::json::quote(banxway::code_name(st.code())) +
                    ",\"message\":" + banxway::json::quote(st.message()) + ",\"details\":" +
                    (st.details().empty() ? "null" : st.details()) + "}";
    *out = dup(j);
  }
  return to_c(st.code());
}

int succeed(const std::string& data, char** out) {
  g_last_error.clear();
  *out = dup(data);
  if (!*out) return fail(banxway::Internal("out of memory"), nullptr);
  return BANXWAY_OK;
}

template <typename F>
int guarded(char** out, F&& f) {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    return fail(banxway::Internal("out of memory"), out);
  } catch (const std::exception& e) {
    return fail(banxway::Internal(std::string("internal error: ") + e.what()), out);
  } catch (...) {
    return fail(banxway::Internal("internal error"), out);
  }
}

}  // namespace

extern "C" {

const char* banxway_version(void) { return banxway::version(); }

int banxway_open(banxway_engine** out, const char* config_json) {
  if (!out) return fail(banxway::InvalidArgument("out is NULL"), nullptr);
  *out = nullptr;
  return guarded(nullptr, [&]() -> int {
    banxway::EngineOptions o;
    if (config_json && *config_json) {
      banxway::json::Document d;
      auto st = banxway::json::parse(config_json, &d);
      if (!st.ok()) return fail(st, nullptr);
      if (!d.IsObject()) return fail(banxway::InvalidArgument("config must be a JSON object"), nullptr);
      for (auto& m : d.GetObject()) {
        std::string k = m.name.GetString();
        if (k == "pool_size" && m.value.IsInt()) {
          o.db_pool_size = m.value.GetInt();
          continue;
        }
        if (k == "ai_monthly_token_budget") {
          if (!m.value.IsInt64() || m.value.GetInt64() < 0)
            return fail(banxway::InvalidArgument(
                            "config.ai_monthly_token_budget: expected a non-negative integer"),
                        nullptr);
          o.ai_monthly_token_budget = m.value.GetInt64();
          continue;
        }
        if (k == "ai_allow_private_network") {
          if (!m.value.IsBool())
            return fail(banxway::InvalidArgument(
                            "config.ai_allow_private_network: expected true or false"),
                        nullptr);
          o.ai_allow_private_network = m.value.GetBool();
          continue;
        }
        if (k == "blob_inline_max") {
          if (!m.value.IsInt64() || m.value.GetInt64() < 0)
            return fail(banxway::InvalidArgument(
                            "config.blob_inline_max: expected a non-negative integer (bytes)"),
                        nullptr);
          o.blob_inline_max_bytes = static_cast<size_t>(m.value.GetInt64());
          continue;
        }
        if (k == "ingest_parse_thread") {
          if (!m.value.IsBool())
            return fail(
                banxway::InvalidArgument("config.ingest_parse_thread: expected true or false"),
                nullptr);
          o.ingest_parse_thread = m.value.GetBool();
          continue;
        }
        if (k == "watch_mail") {
          if (!m.value.IsBool())
            return fail(banxway::InvalidArgument("config.watch_mail: expected true or false"),
                        nullptr);
          o.watch_mail = m.value.GetBool();
          continue;
        }
        if (!m.value.IsString())
          return fail(banxway::InvalidArgument("config." + k + ": expected a string"), nullptr);
        std::string v = m.value.GetString();
        if (k == "database_url") o.database_url = v;
        else if (k == "jwt_secret") o.jwt_secret = v;
        else if (k == "jwt_audience") o.jwt_audience = v;
        else if (k == "jwt_issuer") o.jwt_issuer = v;
        else if (k == "blob_dir") o.blob_dir = v;
        else if (k == "message_id_domain") o.message_id_domain = v;
        else if (k == "transcription_url") o.transcription_url = v;
        else if (k == "transcription_api_key") o.transcription_api_key = v;
        else if (k == "transcription_model") o.transcription_model = v;
        else if (k == "ai_provider") o.ai_provider = v;
        else if (k == "ai_base_url") o.ai_base_url = v;
        else if (k == "ai_api_key") o.ai_api_key = v;
        else if (k == "ai_model") o.ai_model = v;
        else return fail(banxway::InvalidArgument("config." + k + ": unknown field"), nullptr);
      }
    }
    auto e = banxway::Engine::open(std::move(o));
    if (!e.ok()) return fail(e.status(), nullptr);
    *out = new banxway_engine{std::move(e).value()};
    g_last_error.clear();
    return BANXWAY_OK;
  });
}

void banxway_close(banxway_engine* engine) {
  try {
    delete engine;
  } catch (...) {
  }
}

int banxway_call(char** result_json, banxway_engine* engine, const char* op,
                 const char* params_json, const char* credential) {
  if (!result_json) return fail(banxway::InvalidArgument("result_json is NULL"), nullptr);
  *result_json = nullptr;
  if (!engine || !op) return fail(banxway::InvalidArgument("engine and op are required"), result_json);
  return guarded(result_json, [&]() -> int {
    auto r = engine->engine->call(op, params_json ? params_json : "{}",
                                  std::string_view(credential ? credential : ""));
    if (!r.ok()) return fail(r.status(), result_json);
    return succeed(r->data, result_json);
  });
}

int banxway_events_poll(char** events_json, banxway_engine* engine, const char* credential,
                        int64_t after_id, int limit) {
  if (!events_json) return fail(banxway::InvalidArgument("events_json is NULL"), nullptr);
  *events_json = nullptr;
  if (!engine) return fail(banxway::InvalidArgument("engine is NULL"), events_json);
  return guarded(events_json, [&]() -> int {
    auto who = engine->engine->authenticate(credential ? credential : "");
    if (!who.ok()) return fail(who.status(), events_json);
    auto r = engine->engine->events_poll(*who, after_id, limit);
    if (!r.ok()) return fail(r.status(), events_json);
    return succeed(*r, events_json);
  });
}

int banxway_ingest(char** result_json, banxway_engine* engine, const char* credential,
                   const char* raw, size_t len) {
  if (!result_json) return fail(banxway::InvalidArgument("result_json is NULL"), nullptr);
  *result_json = nullptr;
  if (!engine || (!raw && len)) return fail(banxway::InvalidArgument("engine and raw are required"), result_json);
  return guarded(result_json, [&]() -> int {
    auto who = engine->engine->authenticate(credential ? credential : "");
    if (!who.ok()) return fail(who.status(), result_json);
    auto r = engine->engine->ingest_email(*who, std::string_view(raw ? raw : "", len));
    if (!r.ok()) return fail(r.status(), result_json);
    return succeed(*r, result_json);
  });
}

int banxway_bootstrap(char** result_json, banxway_engine* engine, const char* org_name) {
  if (!result_json) return fail(banxway::InvalidArgument("result_json is NULL"), nullptr);
  *result_json = nullptr;
  if (!engine || !org_name) return fail(banxway::InvalidArgument("engine and org_name are required"), result_json);
  return guarded(result_json, [&]() -> int {
    auto r = engine->engine->bootstrap(org_name);
    if (!r.ok()) return fail(r.status(), result_json);
    return succeed("{\"org\":" + r->org_json + ",\"api_key\":" + banxway::json::quote(r->api_key) + "}",
                   result_json);
  });
}

int banxway_start(banxway_engine* engine, int workers) {
  if (!engine) return fail(banxway::InvalidArgument("engine is NULL"), nullptr);
  return guarded(nullptr, [&]() -> int {
    auto st = engine->engine->start(workers);
    if (!st.ok()) return fail(st, nullptr);
    g_last_error.clear();
    return BANXWAY_OK;
  });
}

void banxway_stop(banxway_engine* engine) {
  if (!engine) return;
  try {
    engine->engine->stop();
  } catch (...) {
  }
}

int banxway_run_pending(int* ran, banxway_engine* engine, int max) {
  if (!ran) return fail(banxway::InvalidArgument("ran is NULL"), nullptr);
  *ran = 0;
  if (!engine) return fail(banxway::InvalidArgument("engine is NULL"), nullptr);
  if (max < 1) return fail(banxway::InvalidArgument("max: expected at least 1"), nullptr);
  return guarded(nullptr, [&]() -> int {
    auto r = engine->engine->run_pending(max);
    if (!r.ok()) return fail(r.status(), nullptr);
    *ran = *r;
    g_last_error.clear();
    return BANXWAY_OK;
  });
}

const char* banxway_error_last(void) { return g_last_error.c_str(); }

void banxway_free(void* ptr) { std::free(ptr); }

}  // extern "C"
