// banxway._banxway: the thin native layer under the `banxway` Python package.
//
// It exposes banxway::Engine almost one to one and leaves everything Pythonic (JSON <-> dict,
// keyword params, iterators, exception classes) to banxway/*.py, which is easier to read and
// to change. Two rules hold for every method here:
//   * the GIL is released around each library call, so Python threads keep running while the
//     engine waits on its database, and several Python threads can call into one engine;
//   * a failed banxway::Status becomes the matching banxway.errors.* exception (built by
//     banxway.errors._from_status so the Python classes stay the single definition).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "banxway/engine.hpp"
#include "banxway/status.hpp"

namespace py = pybind11;
using banxway::Code;
using banxway::Result;
using banxway::Status;

namespace {

// Raises the Python exception for a failed Status. Must be called with the GIL held.
[[noreturn]] void raise_status(const Status& st) {
  py::object factory = py::module_::import("banxway.errors").attr("_from_status");
  py::object exc = factory(std::string(banxway::code_name(st.code())), st.message(),
                           st.details());
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
  throw py::error_already_set();
}

template <typename T>
T take(Result<T>&& r) {
  if (!r.ok()) raise_status(r.status());
  return std::move(r).value();
}

void check(const Status& st) {
  if (!st.ok()) raise_status(st);
}

// Owns the engine through a shared_ptr: every call copies the pointer (under the GIL, which
// serializes access to the member) before releasing the GIL, so close() from one thread cannot
// destroy the engine under a call still running in another; the last holder destroys it.
class PyEngine {
 public:
  explicit PyEngine(std::shared_ptr<banxway::Engine> e) : engine_(std::move(e)) {}
  ~PyEngine() { close(); }

  static std::unique_ptr<PyEngine> open(const std::string& database_url,
                                        const std::string& jwt_secret,
                                        const std::string& jwt_audience,
                                        const std::string& jwt_issuer,
                                        std::optional<int> db_pool_size,
                                        std::optional<size_t> max_params_bytes,
                                        bool watch_mail, const py::dict& ai) {
    banxway::EngineOptions o;
    o.database_url = database_url;
    o.jwt_secret = jwt_secret;
    o.jwt_audience = jwt_audience;
    o.jwt_issuer = jwt_issuer;
    if (db_pool_size) o.db_pool_size = *db_pool_size;
    if (max_params_bytes) o.max_params_bytes = *max_params_bytes;
    o.watch_mail = watch_mail;
    // AI provider settings (docs/COMPOSE.md): {"provider", "base_url", "api_key", "model",
    // "monthly_token_budget", "allow_private_network", "analyze_messages"}.
    for (auto item : ai) {
      std::string k = py::cast<std::string>(item.first);
      py::handle v = item.second;
      if (k == "provider") o.ai_provider = py::cast<std::string>(v);
      else if (k == "base_url") o.ai_base_url = py::cast<std::string>(v);
      else if (k == "api_key") o.ai_api_key = py::cast<std::string>(v);
      else if (k == "model") o.ai_model = py::cast<std::string>(v);
      else if (k == "monthly_token_budget") o.ai_monthly_token_budget = py::cast<int64_t>(v);
      else if (k == "allow_private_network") o.ai_allow_private_network = py::cast<bool>(v);
      else if (k == "analyze_messages") o.ai_analyze_messages = py::cast<bool>(v);
      else throw py::value_error("ai: unknown setting \"" + k + "\"");
    }
    // Opening runs migrations and may connect to PostgreSQL: no reason to hold the GIL.
    auto r = [&] {
      py::gil_scoped_release nogil;
      return banxway::Engine::open(std::move(o));
    }();
    std::unique_ptr<banxway::Engine> e = take(std::move(r));
    return std::make_unique<PyEngine>(std::shared_ptr<banxway::Engine>(std::move(e)));
  }

  void close() {
    std::shared_ptr<banxway::Engine> e = std::move(engine_);
    engine_.reset();
    if (!e) return;
    // Destruction closes database connections (and may wait for them); do it without the GIL
    // when this thread holds it. PyGILState_Check is false during some interpreter teardown
    // paths, where releasing would be wrong.
    if (PyGILState_Check()) {
      py::gil_scoped_release nogil;
      e.reset();
    } else {
      e.reset();
    }
  }

  bool closed() const { return !engine_; }

  banxway::Principal authenticate(const std::string& credential) {
    auto e = get();
    auto r = [&] {
      py::gil_scoped_release nogil;
      return e->authenticate(credential);
    }();
    return take(std::move(r));
  }

  std::string call_credential(const std::string& op, const std::string& params,
                              const std::string& credential) {
    auto e = get();
    auto r = [&] {
      py::gil_scoped_release nogil;
      return e->call(op, params, std::string_view(credential));
    }();
    return take(std::move(r)).data;
  }

  std::string call_principal(const std::string& op, const std::string& params,
                             const banxway::Principal& who) {
    auto e = get();
    auto r = [&] {
      py::gil_scoped_release nogil;
      return e->call(op, params, who);
    }();
    return take(std::move(r)).data;
  }

  std::string events_poll(const banxway::Principal& who, int64_t after, int limit) {
    auto e = get();
    auto r = [&] {
      py::gil_scoped_release nogil;
      return e->events_poll(who, after, limit);
    }();
    return take(std::move(r));
  }

  py::tuple bootstrap(const std::string& org_name) {
    auto e = get();
    auto r = [&] {
      py::gil_scoped_release nogil;
      return e->bootstrap(org_name);
    }();
    banxway::Bootstrap b = take(std::move(r));
    return py::make_tuple(b.org_json, b.api_key);
  }

  bool empty() {
    auto e = get();
    auto r = [&] {
      py::gil_scoped_release nogil;
      return e->empty();
    }();
    return take(std::move(r));
  }

  banxway::Principal system_principal(const std::string& org_id, const std::string& label) {
    auto e = get();
    auto r = [&] {
      py::gil_scoped_release nogil;
      return e->system_principal(org_id, label);
    }();
    return take(std::move(r));
  }

  void ping() {
    auto e = get();
    Status st = [&] {
      py::gil_scoped_release nogil;
      return e->ping();
    }();
    check(st);
  }

  // Durable jobs (outbox sends, timers) and, unless watch_mail was false, the IMAP watchers.
  void start(int workers) {
    auto e = get();
    Status st = [&] {
      py::gil_scoped_release nogil;
      return e->start(workers);
    }();
    check(st);
  }

  void stop() {
    auto e = get();
    py::gil_scoped_release nogil;
    e->stop();
  }

  int run_pending(int max) {
    auto e = get();
    auto r = [&] {
      py::gil_scoped_release nogil;
      return e->run_pending(max);
    }();
    return take(std::move(r));
  }

  int schema_version() {
    auto e = get();
    auto r = [&] {
      py::gil_scoped_release nogil;
      return e->schema_version();
    }();
    return take(std::move(r));
  }

  py::list operations() {
    auto e = get();
    std::vector<banxway::OperationInfo> infos = [&] {
      py::gil_scoped_release nogil;
      return e->operations();
    }();
    py::list out;
    for (const auto& i : infos) {
      py::dict d;
      d["name"] = i.name;
      d["summary"] = i.summary;
      d["permission"] = i.permission;
      d["params_schema"] = i.params_schema;  // JSON text; the Python layer parses it
      d["is_list"] = i.is_list;
      d["is_write"] = i.is_write;
      out.append(std::move(d));
    }
    return out;
  }

 private:
  std::shared_ptr<banxway::Engine> get() const {
    if (!engine_) raise_status(banxway::Unavailable("engine is closed"));
    return engine_;
  }

  std::shared_ptr<banxway::Engine> engine_;
};

std::string principal_repr(const banxway::Principal& p) {
  std::string s = "Principal(org_id='" + p.org_id + "', role='" +
                  std::string(banxway::role_name(p.role)) + "', actor_type='" + p.actor_type +
                  "', actor_id='" + p.actor_id + "'";
  if (!p.user_id.empty()) s += ", user_id='" + p.user_id + "'";
  return s + ")";
}

}  // namespace

PYBIND11_MODULE(_banxway, m) {
  m.doc() = "Native core of the banxway package (use `banxway`, not this module).";
  m.attr("__version__") = std::string(banxway::version());

  // Read-only from Python: a principal is minted by the engine (authenticate/system_principal)
  // and handed back to it, never assembled by scripts.
  py::class_<banxway::Principal>(m, "Principal")
      .def_property_readonly("org_id", [](const banxway::Principal& p) { return p.org_id; })
      .def_property_readonly("user_id",
                             [](const banxway::Principal& p) -> std::optional<std::string> {
                               if (p.user_id.empty()) return std::nullopt;
                               return p.user_id;
                             })
      .def_property_readonly(
          "role", [](const banxway::Principal& p) { return std::string(banxway::role_name(p.role)); })
      .def_property_readonly("actor_type", [](const banxway::Principal& p) { return p.actor_type; })
      .def_property_readonly("actor_id", [](const banxway::Principal& p) { return p.actor_id; })
      .def("__repr__", &principal_repr);

  py::class_<PyEngine>(m, "Engine")
      .def(py::init(&PyEngine::open), py::arg("database_url"), py::arg("jwt_secret") = "",
           py::arg("jwt_audience") = "", py::arg("jwt_issuer") = "",
           py::arg("db_pool_size") = py::none(), py::arg("max_params_bytes") = py::none(),
           py::arg("watch_mail") = true, py::arg("ai") = py::dict())
      .def("close", &PyEngine::close)
      .def_property_readonly("closed", &PyEngine::closed)
      .def("authenticate", &PyEngine::authenticate, py::arg("credential"))
      .def("call_credential", &PyEngine::call_credential, py::arg("op"), py::arg("params_json"),
           py::arg("credential"))
      .def("call_principal", &PyEngine::call_principal, py::arg("op"), py::arg("params_json"),
           py::arg("principal"))
      .def("events_poll", &PyEngine::events_poll, py::arg("principal"), py::arg("after"),
           py::arg("limit"))
      .def("bootstrap", &PyEngine::bootstrap, py::arg("org_name"))
      .def("empty", &PyEngine::empty)
      .def("system_principal", &PyEngine::system_principal, py::arg("org_id"),
           py::arg("label") = "system")
      .def("ping", &PyEngine::ping)
      .def("start", &PyEngine::start, py::arg("workers"))
      .def("stop", &PyEngine::stop)
      .def("run_pending", &PyEngine::run_pending, py::arg("max") = 100)
      .def("schema_version", &PyEngine::schema_version)
      .def("operations", &PyEngine::operations);

  // The stable code names, so the Python layer can check it covers every one.
  py::list codes;
  for (int c = static_cast<int>(Code::ok) + 1; c <= static_cast<int>(Code::internal); ++c)
    codes.append(std::string(banxway::code_name(static_cast<Code>(c))));
  m.attr("CODES") = codes;
}
