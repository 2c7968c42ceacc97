// banxway — the command line: migrations, set-up and one-off operation calls. JSON on stdout,
// errors as JSON on stderr with a non-zero exit code.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <unistd.h>

#include "banxway/engine.hpp"
#include "channels/email/mailbox_files.hpp"
#include "core/json.hpp"

namespace {

const char* kUsage =
    "usage: banxway [--db URL] COMMAND\n"
    "  migrate                                   apply database migrations\n"
    "  org create NAME                           create an organization\n"
    "  user create --org ID --email E --role R [--name N]\n"
    "  apikey create --org ID --role R [--name N]   prints {\"key\": ...} once\n"
    "  call OP [JSON] (--org ID | --key KEY)      run any operation\n"
    "  import mbox --org ID FILE...              import mail; JSON summary on stdout\n"
    "  import maildir --org ID DIR...\n"
    "  ops                                       list operations with their params schemas\n"
    "  version\n"
    "--db defaults to $DATABASE_URL, then sqlite://./var/banxway.db\n";

int usage_error(const std::string& msg) {
  std::cerr << "banxway: " << msg << "\n" << kUsage;
  return 2;
}

int print_error(const banxway::Status& st) {
  std::cerr << "{\"error\":{\"code\":" << banxway::json::quote(banxway::code_name(st.code()))
            << ",\"message\":" << banxway::json::quote(st.message()) << "}}\n";
  return 1;
}

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> flags;
};

// Flags take one value each ("--org ID"); everything else is positional.
bool parse_args(int argc, char** argv, Args* a, std::string* err) {
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (s == "-h" || s == "--help") {
      a->flags["help"] = "1";
    } else if (s.rfind("--", 0) == 0) {
      std::string name = s.substr(2), value;
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name.resize(eq);
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        *err = "flag --" + name + " needs a value";
        return false;
      }
      a->flags[name] = value;
    } else {
      a->positional.push_back(s);
    }
  }
  return true;
}

std::string flag(const Args& a, const std::string& k) {
  auto it = a.flags.find(k);
  return it == a.flags.end() ? std::string() : it->second;
}

struct ImportTally {
  size_t seen = 0, messages = 0, threads = 0, duplicates = 0;
  std::string errors = "[";
  size_t error_count = 0;
};

void flush_batch(banxway::Engine& engine, const banxway::Principal& who,
                 std::vector<std::pair<std::string, std::string>>& batch, ImportTally& t) {
  std::vector<std::string_view> raws;
  for (auto& [src, raw] : batch) raws.emplace_back(raw);
  auto results = engine.ingest_email_batch(who, raws);
  for (size_t i = 0; i < results.size(); ++i) {
    if (!results[i].ok()) {
      t.errors += std::string(t.error_count++ ? "," : "") + "{\"source\":" +
                  banxway::json::quote(batch[i].first) + ",\"reason\":" +
                  banxway::json::quote(results[i].status().to_string()) + "}";
      continue;
    }
    banxway::json::Document d;
    if (auto st = banxway::json::parse(*results[i], &d, {64, SIZE_MAX}); !st.ok()) {
      // Cannot happen unless the engine's result is broken: count it, never drop it silently.
      t.errors += std::string(t.error_count++ ? "," : "") + "{\"source\":" +
                  banxway::json::quote(batch[i].first) + ",\"reason\":" +
                  banxway::json::quote("unreadable ingest result: " + st.message()) + "}";
      continue;
    }
    if (d["duplicate"].GetBool()) {
      ++t.duplicates;
    } else {
      ++t.messages;
      if (d["new_thread"].GetBool()) ++t.threads;
    }
  }
  batch.clear();
}

int run_import(banxway::Engine& engine, const banxway::Principal& who, const std::string& kind,
               const std::vector<std::string>& paths) {
  ImportTally t;
  std::vector<std::pair<std::string, std::string>> batch;
  bool tty = ::isatty(2);
  auto progress = [&] {
    if (tty) std::fprintf(stderr, "\rimporting: %zu read, %zu new, %zu duplicates, %zu errors",
                          t.seen, t.messages, t.duplicates, t.error_count);
  };
  auto add = [&](std::string&& raw, std::string source) {
    ++t.seen;
    batch.emplace_back(std::move(source), std::move(raw));
    if (batch.size() >= 500) {
      flush_batch(engine, who, batch, t);
      progress();
    }
    return true;
  };
  for (const auto& path : paths) {
    banxway::Status st =
        kind == "mbox"
            ? banxway::email::for_each_mbox_message(
                  path, [&](std::string&& raw, size_t i) {
                    return add(std::move(raw), path + "#" + std::to_string(i + 1));
                  })
            : banxway::email::for_each_maildir_message(
                  path, [&](std::string&& raw, const std::string& name) {
                    return add(std::move(raw), path + "/" + name);
                  });
    if (!st.ok())
      t.errors += std::string(t.error_count++ ? "," : "") + "{\"source\":" +
                  banxway::json::quote(path) + ",\"reason\":" +
                  banxway::json::quote(st.to_string()) + "}";
  }
  flush_batch(engine, who, batch, t);
  progress();
  if (tty) std::fprintf(stderr, "\n");
  std::cout << "{\"read\":" << t.seen << ",\"messages\":" << t.messages << ",\"threads\":"
            << t.threads << ",\"duplicates\":" << t.duplicates << ",\"errors\":" << t.errors
            << "]}\n";
  return t.error_count == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  std::string err;
  if (!parse_args(argc, argv, &a, &err)) return usage_error(err);
  if (a.flags.count("help") || a.positional.empty()) {
    std::cout << kUsage;
    return a.positional.empty() && !a.flags.count("help") ? 2 : 0;
  }
  const std::string& cmd = a.positional[0];
  if (cmd == "version") {
    std::cout << "{\"version\":" << banxway::json::quote(banxway::version()) << "}\n";
    return 0;
  }
  banxway::EngineOptions o;
  o.database_url = flag(a, "db");
  if (o.database_url.empty())
    if (const char* env = std::getenv("DATABASE_URL")) o.database_url = env;
  for (const char* k : {"SUPABASE_JWT_SECRET", "JWT_SECRET"})
    if (const char* v = std::getenv(k); v && o.jwt_secret.empty()) o.jwt_secret = v;
  auto opened = banxway::Engine::open(o);
  if (!opened.ok()) return print_error(opened.status());
  auto& engine = **opened;

  auto sub = [&](size_t i) { return a.positional.size() > i ? a.positional[i] : std::string(); };
  auto as_org = [&]() -> banxway::Result<banxway::Principal> {
    if (!flag(a, "key").empty()) return engine.authenticate(flag(a, "key"));
    if (flag(a, "org").empty()) return banxway::InvalidArgument("--org ID (or --key KEY) is required");
    return engine.system_principal(flag(a, "org"), "cli");
  };
  auto run = [&](const std::string& op, const std::string& params) -> int {
    auto who = as_org();
    if (!who.ok()) return print_error(who.status());
    auto r = engine.call(op, params, *who);
    if (!r.ok()) return print_error(r.status());
    std::cout << r->data << "\n";
    return 0;
  };
  auto obj = [](std::initializer_list<std::pair<const char*, std::string>> kv) {
    std::string j = "{";
    for (auto& [k, v] : kv) {
      if (v.empty()) continue;
      if (j.size() > 1) j += ',';
      j += banxway::json::quote(k) + ":" + banxway::json::quote(v);
    }
    return j + "}";
  };

  if (cmd == "migrate") {
    auto v = engine.schema_version();
    if (!v.ok()) return print_error(v.status());
    std::cout << "{\"schema_version\":" << *v << "}\n";
    return 0;
  }
  if (cmd == "org" && sub(1) == "create") {
    if (sub(2).empty()) return usage_error("org create needs a NAME");
    auto b = engine.bootstrap(sub(2));
    if (!b.ok()) return print_error(b.status());
    // The bootstrap admin key is not shown here: create keys explicitly with `apikey create`.
    std::cout << b->org_json << "\n";
    return 0;
  }
  if (cmd == "user" && sub(1) == "create")
    return run("users.create", obj({{"email", flag(a, "email")}, {"role", flag(a, "role")},
                                    {"name", flag(a, "name")}, {"team", flag(a, "team")}}));
  if (cmd == "apikey" && sub(1) == "create")
    return run("apikeys.create", obj({{"role", flag(a, "role")}, {"name", flag(a, "name")}}));
  if (cmd == "call") {
    if (sub(1).empty()) return usage_error("call needs an operation name");
    return run(sub(1), sub(2).empty() ? "{}" : sub(2));
  }
  if (cmd == "import") {
    std::string kind = sub(1);
    if (kind != "mbox" && kind != "maildir") return usage_error("import needs mbox or maildir");
    if (a.positional.size() < 3) return usage_error("import " + kind + " needs a path");
    auto who = as_org();
    if (!who.ok()) return print_error(who.status());
    return run_import(engine, *who, kind, {a.positional.begin() + 2, a.positional.end()});
  }
  if (cmd == "ops") {
    std::string out = "[";
    for (const auto& op : engine.operations()) {
      if (out.size() > 1) out += ',';
      out += "{\"name\":" + banxway::json::quote(op.name) + ",\"summary\":" +
             banxway::json::quote(op.summary) + ",\"permission\":" +
             banxway::json::quote(op.permission) + ",\"params\":" + op.params_schema + "}";
    }
    std::cout << out << "]\n";
    return 0;
  }
  return usage_error("unknown command: " + cmd);
}
