// PostgreSQL backend (libpq): a pool of connections shared by query() and transaction(),
// `?` placeholders rewritten to $n, a prepared-statement cache per connection, and results
// normalized to the text SQLite gives for the same data (see store/db.hpp).
#include <libpq-fe.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "store/db.hpp"

namespace banxway::store {
namespace {

// Type OIDs from pg_type.h (that header is server-side only). These are fixed since 8.x/9.4.
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kTimestampOid = 1114;
constexpr Oid kTimestamptzOid = 1184;
constexpr Oid kJsonbOid = 3802;

constexpr int kMaxTransactionAttempts = 5;
constexpr auto kAcquireTimeout = std::chrono::seconds(30);
constexpr size_t kSqlInMessage = 120;  // how much of a failing statement an error quotes
// Named statements live in server memory for the connection's lifetime; SQL built on the fly
// (IN lists of varying length) must not grow that without bound. Past this many, a statement
// runs unnamed: parsed each time, same parameter inference.
constexpr size_t kMaxPreparedPerConn = 1000;

using PgResult = std::unique_ptr<PGresult, decltype(&PQclear)>;

// ---- URLs and secrets ---------------------------------------------------------------------

/// Where the password sits in `scheme://user:password@host/...`, as [begin, end), if anywhere.
std::optional<std::pair<size_t, size_t>> userinfo_password(std::string_view url) {
  size_t start = url.find("://");
  if (start == std::string_view::npos) return std::nullopt;
  start += 3;
  size_t end = url.find_first_of("/?", start);
  size_t at = url.rfind('@', end == std::string_view::npos ? url.size() : end);
  if (at == std::string_view::npos || at < start) return std::nullopt;
  size_t colon = url.find(':', start);
  if (colon == std::string_view::npos || colon > at) return std::nullopt;
  return std::make_pair(colon + 1, at);
}

/// The password a connection string carries (userinfo or ?password=), or "". libpq's parse
/// gives it decoded; a URL libpq rejects falls back to the raw userinfo text.
std::string password_of(const std::string& url) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err);
  PQfreemem(err);
  std::string pw;
  if (!opts) {
    if (auto span = userinfo_password(url))
      pw = url.substr(span->first, span->second - span->first);
    return pw;
  }
  for (PQconninfoOption* o = opts; o->keyword; ++o)
    if (std::string_view(o->keyword) == "password" && o->val) pw = o->val;
  PQconninfoFree(opts);
  return pw;
}

/// Replaces every occurrence of secret in text, so server or libpq messages never echo it.
std::string redact(std::string text, const std::string& secret) {
  if (secret.empty()) return text;
  for (size_t p = text.find(secret); p != std::string::npos; p = text.find(secret, p + 3))
    text.replace(p, secret.size(), "***");
  return text;
}

/// The URL with the password masked, fit for error messages and logs.
std::string redact_url(std::string_view url) {
  std::string out(url);
  if (auto span = userinfo_password(out))
    out.replace(span->first, span->second - span->first, "***");
  if (size_t q = out.find("password="); q != std::string::npos) {
    size_t end = out.find('&', q);
    out.replace(q + 9, (end == std::string::npos ? out.size() : end) - q - 9, "***");
  }
  return out;
}

/// libpq messages end in a newline and may span lines ("...failed: Connection refused\n\tIs the
/// server running...?"); error messages and log lines want one line.
std::string one_line(std::string_view s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// ---- placeholders ---------------------------------------------------------------------------

struct Rewritten {
  std::string sql;
  int nparams = 0;
};

bool ident_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$';
}

/// `?` -> `$1..$n`, leaving `?` alone inside '…' strings (E'…' with backslash escapes),
/// "…" identifiers, -- line comments and /* … */ block comments (which nest in PostgreSQL).
Rewritten rewrite_placeholders(std::string_view sql) {
  enum class In { code, string, ident, line_comment, block_comment };
  Rewritten out;
  out.sql.reserve(sql.size() + 16);
  In in = In::code;
  bool backslash_escapes = false;
  int comment_depth = 0;
  auto next = [&](size_t i) { return i + 1 < sql.size() ? sql[i + 1] : '\0'; };
  for (size_t i = 0; i < sql.size(); ++i) {
    char c = sql[i];
    switch (in) {
      case In::code:
        if (c == '?') {
          out.sql += '$';
          out.sql += std::to_string(++out.nparams);
          continue;
        }
        if (c == '\'') {
          in = In::string;
          backslash_escapes = i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
                              !(i > 1 && ident_char(sql[i - 2]));
        } else if (c == '"') {
          in = In::ident;
        } else if (c == '-' && next(i) == '-') {
          in = In::line_comment;
        } else if (c == '/' && next(i) == '*') {
          in = In::block_comment;
          comment_depth = 1;
          out.sql += c;
          c = sql[++i];
        }
        break;
      case In::string: {
        // \x in an E'' string and '' anywhere are two characters that do not end the string.
        bool escaped_pair = (backslash_escapes && c == '\\' && i + 1 < sql.size()) ||
                            (c == '\'' && next(i) == '\'');
        if (escaped_pair) {
          out.sql += c;
          c = sql[++i];
        } else if (c == '\'') {
          in = In::code;
        }
        break;
      }
      case In::ident:
        if (c == '"') in = In::code;  // "" re-enters at once, which is the same thing
        break;
      case In::line_comment:
        if (c == '\n') in = In::code;
        break;
      case In::block_comment:
        if (c == '/' && next(i) == '*') {
          ++comment_depth;
          out.sql += c;
          c = sql[++i];
        } else if (c == '*' && next(i) == '/') {
          out.sql += c;
          c = sql[++i];
          if (--comment_depth == 0) in = In::code;
        }
        break;
    }
    out.sql += c;
  }
  return out;
}

// ---- result normalization ---------------------------------------------------------------

/// Reads exactly n digits at s[*p]; advances *p.
bool read_digits(std::string_view s, size_t* p, size_t n, int* out) {
  if (*p + n > s.size()) return false;
  int v = 0;
  for (size_t i = *p; i < *p + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    v = v * 10 + (s[i] - '0');
  }
  *p += n;
  *out = v;
  return true;
}

/// Server text of a timestamp[tz] under DateStyle ISO ("2026-01-02 03:04:05.678901+00", the
/// zone optional, fraction optional) -> "2026-01-02T03:04:05.678Z", truncated to milliseconds.
/// Values that are not plain dates (infinity, BC, years past 9999) come back unchanged.
std::string iso_time(std::string_view s) {
  using namespace std::chrono;
  size_t p = 0;
  int Y, M, D, h, m, sec, ms = 0;
  bool ok =
      read_digits(s, &p, 4, &Y) && p < s.size() && s[p++] == '-' && read_digits(s, &p, 2, &M) &&
      p < s.size() && s[p++] == '-' && read_digits(s, &p, 2, &D) && p < s.size() && s[p++] == ' ' &&
      read_digits(s, &p, 2, &h) && p < s.size() && s[p++] == ':' && read_digits(s, &p, 2, &m) &&
      p < s.size() && s[p++] == ':' && read_digits(s, &p, 2, &sec);
  if (!ok) return std::string(s);
  if (p < s.size() && s[p] == '.') {
    int digits = 0;
    for (++p; p < s.size() && std::isdigit(static_cast<unsigned char>(s[p])); ++p, ++digits)
      if (digits < 3) ms = ms * 10 + (s[p] - '0');
    for (; digits < 3; ++digits) ms *= 10;
  }
  int offset_s = 0;  // zone offset, e.g. "+05:30" (only when TimeZone is not UTC)
  if (p < s.size() && (s[p] == '+' || s[p] == '-')) {
    int sign = s[p++] == '-' ? -1 : 1, oh = 0, om = 0, os = 0;
    if (!read_digits(s, &p, 2, &oh)) return std::string(s);
    if (p < s.size() && s[p] == ':' && (++p, !read_digits(s, &p, 2, &om))) return std::string(s);
    if (p < s.size() && s[p] == ':' && (++p, !read_digits(s, &p, 2, &os))) return std::string(s);
    offset_s = sign * (oh * 3600 + om * 60 + os);
  }
  if (p != s.size()) return std::string(s);
  year_month_day ymd{year{Y}, month{static_cast<unsigned>(M)}, day{static_cast<unsigned>(D)}};
  if (!ymd.ok()) return std::string(s);
  auto t =
      sys_days(ymd) + hours(h) + minutes(m) + seconds(sec) + milliseconds(ms) - seconds(offset_s);
  auto dp = floor<days>(t);
  year_month_day d{dp};
  hh_mm_ss<milliseconds> tod{t - dp};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(d.year()),
                static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()),
                static_cast<int>(tod.hours().count()), static_cast<int>(tod.minutes().count()),
                static_cast<int>(tod.seconds().count()),
                static_cast<int>(tod.subseconds().count()));
  return buf;
}

/// jsonb prints `{"a": 1, "b": [1, 2]}`; drop the whitespace outside strings so the text is the
/// compact JSON SQLite returns for compact input.
std::string compact_json(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool in_string = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (in_string) {
      if (c == '\\' && i + 1 < s.size()) {
        out += c;
        c = s[++i];
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      continue;
    }
    out += c;
  }
  return out;
}

/// bytea's text output (`\x` and hex digits, or the older escape format) decoded by libpq to
/// the bytes themselves, which is what SQLite returns for a BLOB. `v` is libpq's value, which
/// is NUL-terminated.
std::string unescape_bytea(const char* v) {
  size_t n = 0;
  unsigned char* bytes = PQunescapeBytea(reinterpret_cast<const unsigned char*>(v), &n);
  if (!bytes) return std::string(v);  // out of memory: leave it as the server printed it
  std::string out(reinterpret_cast<const char*>(bytes), n);
  PQfreemem(bytes);
  return out;
}

std::string column_text(Oid type, const char* v, int len) {
  std::string_view s(v, static_cast<size_t>(len));
  switch (type) {
    case kTimestamptzOid:
    case kTimestampOid:
      return iso_time(s);
    case kBoolOid:
      return s == "t" ? "1" : "0";
    case kJsonbOid:
      return compact_json(s);
    case kByteaOid:
      return unescape_bytea(v);
    default:
      return std::string(s);
  }
}

Rows to_rows(const PGresult* r) {
  Rows out;
  int ncol = PQnfields(r), nrow = PQntuples(r);
  std::vector<Oid> types(ncol);
  out.columns.reserve(ncol);
  for (int c = 0; c < ncol; ++c) {
    out.columns.emplace_back(PQfname(r, c));
    types[c] = PQftype(r, c);
  }
  out.rows.reserve(nrow);
  for (int i = 0; i < nrow; ++i) {
    Row& row = out.rows.emplace_back();
    row.reserve(ncol, 64 * static_cast<size_t>(ncol));
    for (int c = 0; c < ncol; ++c) {
      if (PQgetisnull(r, i, c))
        row.add_null();
      else
        row.add(column_text(types[c], PQgetvalue(r, i, c), PQgetlength(r, i, c)));
    }
  }
  const char* n = PQcmdTuples(const_cast<PGresult*>(r));
  if (n && *n) std::from_chars(n, n + std::strlen(n), out.affected);
  return out;
}

// ---- errors ------------------------------------------------------------------------------------

bool retryable_state(std::string_view state) { return state == "40001" || state == "40P01"; }

/// Maps a SQLSTATE to the library's codes: constraint and input errors are the caller's to fix,
/// conflicts and lost connections are worth retrying, anything else is a bug (ours or the SQL's).
Code code_for_state(std::string_view state) {
  if (state == "23505") return Code::already_exists;
  if (state == "23503" || state == "23502" || state == "23514" || state == "22P02" ||
      state == "22007" || state == "22008" || state == "22001" || state == "22003" ||
      state == "22021")
    return Code::invalid_argument;
  if (retryable_state(state) || state.starts_with("08") || state.starts_with("57P") ||
      state.starts_with("53"))
    return Code::unavailable;
  return Code::internal;
}

// ---- one connection ----------------------------------------------------------------------

class PgConn final : public Conn {
 public:
  PgConn(PGconn* pg, std::string secret) : pg_(pg), secret_(std::move(secret)) {}
  ~PgConn() override { PQfinish(pg_); }
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  Dialect dialect() const override { return Dialect::postgres; }
  PGconn* raw() { return pg_; }

  Result<Rows> query(std::string_view sql, std::span<const Value> params) override {
    auto held = hold(sql, params);
    if (!held.ok()) return held.status();
    if (!pending_.empty()) {
      Rows rows;
      BX_RETURN_IF_ERROR(pipeline(&*held, &rows));
      return rows;
    }
    std::vector<const char*> values = held->values();
    const int n = static_cast<int>(values.size());
    PgResult r(held->name.empty()
                   ? PQexecParams(pg_, held->text.c_str(), n, nullptr, values.data(),
                                  held->lengths_or_null(), held->formats_or_null(), 0)
                   : PQexecPrepared(pg_, held->name.c_str(), n, values.data(),
                                    held->lengths_or_null(), held->formats_or_null(), 0),
               &PQclear);
    BX_RETURN_IF_ERROR(check(r.get(), "query", sql));
    return to_rows(r.get());
  }

  Status exec_script(std::string_view sql) override {
    if (sql == "ROLLBACK") pending_.clear();  // discarded with everything else
    if (!pending_.empty()) {
      // One statement rides the pipeline with the held ones; a script (several statements)
      // cannot, as a pipeline takes one statement per message.
      if (sql.find(';') == std::string_view::npos) {
        Held h = Held::command(sql);
        return pipeline(&h, nullptr);
      }
      BX_RETURN_IF_ERROR(pipeline(nullptr, nullptr));
    }
    PgResult r(PQexec(pg_, std::string(sql).c_str()), &PQclear);
    return check(r.get(), "script", sql);
  }

  Status exec_deferred(std::string_view sql) override {
    if (!in_transaction()) return exec_script(sql);
    pending_.push_back(Held::command(sql));
    return Status();
  }

  Status write_deferred(std::string_view sql, std::span<const Value> params) override {
    if (!in_transaction()) return query(sql, params).status();  // nothing would send it
    auto held = hold(sql, params);
    if (!held.ok()) return held.status();
    held->write = true;
    pending_.push_back(std::move(*held));
    return Status();
  }

  Status settle_deferred() override {
    for (const auto& h : pending_)
      if (h.write) return pipeline(nullptr, nullptr);
    return Status();  // savepoint commands alone can wait for the next statement
  }

  /// Usable for the next caller: connected, not inside a transaction, nothing held back.
  bool reusable() const {
    return !broken_ && pending_.empty() && PQstatus(pg_) == CONNECTION_OK &&
           PQtransactionStatus(pg_) == PQTRANS_IDLE;
  }

  /// Cheap check before handing out an idle connection: reads whatever the server sent while
  /// it sat in the pool, which reveals a closed socket (server restart, idle timeout, kill).
  bool alive() {
    if (PQconsumeInput(pg_) == 0 || PQstatus(pg_) != CONNECTION_OK) return false;
    while (PGnotify* n = PQnotifies(pg_)) PQfreemem(n);
    return true;
  }

  bool in_failed_transaction() const { return PQtransactionStatus(pg_) == PQTRANS_INERROR; }
  bool in_transaction() const {
    auto t = PQtransactionStatus(pg_);
    return t == PQTRANS_INTRANS || t == PQTRANS_INERROR;
  }

  /// Did a statement fail with a serialization failure or deadlock since the last reset?
  bool saw_retryable() const { return saw_retryable_; }
  void reset_retryable() { saw_retryable_ = false; }
  /// The most recent error, to report when a caller ignored it and tried to commit anyway.
  const Status& last_error() const { return last_error_; }

 private:
  struct Prepared {
    std::string name;  // empty: not kept on the server (the cache is full); `text` is sent
    int nparams;
    std::string text;  // the statement as the server reads it ($1 placeholders), when unnamed
  };

  /// A statement ready to send: a prepared one with its parameters as text, or (no name and
  /// no parameters) a plain command sent as is.
  struct Held {
    std::string sql;   // as the caller wrote it (for error messages)
    std::string name;  // the prepared statement, or empty to send `text` with its parameters
    std::string text;
    std::vector<std::optional<std::string>> params;
    bool write = false;  // from write_deferred: its failure must surface before a savepoint ends
    // Set only when a parameter is Bytes: that one is sent in binary format (its length
    // counts, NULs included); the others stay text.
    std::vector<int> lengths, formats;
    const int* lengths_or_null() const { return formats.empty() ? nullptr : lengths.data(); }
    const int* formats_or_null() const { return formats.empty() ? nullptr : formats.data(); }
    /// A plain command (SAVEPOINT, RELEASE, …): no name, no parameters, sent as written.
    static Held command(std::string_view sql) {
      Held h;
      h.sql = h.text = std::string(sql);
      return h;
    }
    std::vector<const char*> values() const {
      std::vector<const char*> v(params.size(), nullptr);
      for (size_t i = 0; i < params.size(); ++i)
        if (params[i]) v[i] = params[i]->c_str();
      return v;
    }
  };

  Result<Held> hold(std::string_view sql, std::span<const Value> params) {
    auto prepared = prepare(sql);
    if (!prepared.ok()) return prepared.status();
    const Prepared& st = *prepared;
    if (st.nparams != static_cast<int>(params.size()))
      return Internal("statement expects " + std::to_string(st.nparams) + " parameters, got " +
                      std::to_string(params.size()) + ": " + quote(sql));
    // Every parameter travels as text and the server converts it to the type it inferred;
    // Bytes go in binary (bytea's binary form is the bytes themselves).
    Held h;
    h.sql = std::string(sql);
    h.name = st.name;
    h.text = st.text;
    h.params.resize(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      const auto& v = params[i].v;
      if (v.index() == 1) h.params[i] = std::to_string(std::get<1>(v));
      if (v.index() == 2) h.params[i] = format_double(std::get<2>(v));
      if (v.index() == 3) h.params[i] = std::get<3>(v);
      if (v.index() == 4) {
        if (std::get<4>(v).data.size() > static_cast<size_t>(INT32_MAX))
          return InvalidArgument("a binary parameter is over 2 GB: " + quote(sql));
        if (h.formats.empty()) {
          h.formats.assign(params.size(), 0);
          h.lengths.assign(params.size(), 0);
        }
        h.params[i] = std::get<4>(v).data;
        h.formats[i] = 1;
        h.lengths[i] = static_cast<int>(h.params[i]->size());
      }
    }
    return h;
  }

  /// Sends the held statements and then `last` (if any) in one pipeline: one round trip for
  /// all. The first failure is the answer; the server skips the rest of the pipeline after it,
  /// so a savepoint release held behind a failed write does not happen.
  Status pipeline(const Held* last, Rows* out) {
    std::vector<Held> held = std::move(pending_);
    pending_.clear();
    const std::string_view what = last ? std::string_view(last->sql) : std::string_view(held.back().sql);
    if (PQenterPipelineMode(pg_) != 1) {
      broken_ = true;
      return check(nullptr, "pipeline", what);
    }
    bool ok = true;
    auto send = [&](const Held& h) {
      std::vector<const char*> v = h.values();
      const int n = static_cast<int>(v.size());
      if (h.name.empty())
        ok = ok && PQsendQueryParams(pg_, h.text.c_str(), n, nullptr, v.data(), h.lengths_or_null(),
                                     h.formats_or_null(), 0) == 1;
      else
        ok = ok && PQsendQueryPrepared(pg_, h.name.c_str(), n, v.data(), h.lengths_or_null(),
                                       h.formats_or_null(), 0) == 1;
    };
    for (const auto& h : held) send(h);
    if (last) send(*last);
    ok = ok && PQpipelineSync(pg_) == 1;
    Status first;
    const size_t n = held.size() + (last ? 1 : 0);
    // Results arrive in order, each followed by a null; then the sync marker.
    for (size_t i = 0; ok && i < n; ++i) {
      PgResult r(PQgetResult(pg_), &PQclear);
      if (!r) {
        ok = false;
        break;
      }
      const Held& h = i < held.size() ? held[i] : *last;
      if (PQresultStatus(r.get()) != PGRES_PIPELINE_ABORTED) {
        Status s = check(r.get(), "query", h.sql);
        if (first.ok() && !s.ok()) first = s;
        if (s.ok() && out && i == n - 1 && last) *out = to_rows(r.get());
      }
      PgResult end(PQgetResult(pg_), &PQclear);
      if (end) ok = false;  // one result per statement: anything else is a protocol upset
    }
    if (ok) {
      PgResult sync(PQgetResult(pg_), &PQclear);
      ok = sync && PQresultStatus(sync.get()) == PGRES_PIPELINE_SYNC;
    }
    if (!ok || PQexitPipelineMode(pg_) != 1) {
      broken_ = true;  // never handed out again
      return first.ok() ? check(nullptr, "pipeline", what) : first;
    }
    if (!first.ok()) last_error_ = first;
    return first;
  }

  // The map caches the rewrite too: a statement is rewritten and parsed once per connection.
  Result<Prepared> prepare(std::string_view sql) {
    auto it = prepared_.find(std::string(sql));
    if (it != prepared_.end()) return it->second;
    Rewritten rw = rewrite_placeholders(sql);
    // Past the cache's size a statement is parsed with each execution (never as libpq's one
    // unnamed statement: two of those held in one pipeline would overwrite each other).
    if (prepared_.size() >= kMaxPreparedPerConn) return Prepared{"", rw.nparams, std::move(rw.sql)};
    std::string name = "bx_" + std::to_string(prepared_.size() + 1);
    // No parameter types: the server infers each from its context (a uuid column, a timestamptz
    // comparison, ...), which is what lets one SQL text with text parameters run on both backends.
    PgResult r(PQprepare(pg_, name.c_str(), rw.sql.c_str(), rw.nparams, nullptr), &PQclear);
    BX_RETURN_IF_ERROR(check(r.get(), "prepare", sql));
    Prepared p{std::move(name), rw.nparams, {}};
    prepared_.emplace(std::string(sql), p);
    return p;
  }

  Status check(const PGresult* r, std::string_view what, std::string_view sql) {
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) return Status();
    const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    const char* primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    std::string msg = primary ? primary : one_line(PQerrorMessage(pg_));
    // No SQLSTATE on a broken connection: libpq reports it locally.
    Code code = state ? code_for_state(state) : Code::unavailable;
    if (!state && PQstatus(pg_) == CONNECTION_OK) code = Code::internal;
    if (state && retryable_state(state)) saw_retryable_ = true;
    std::string text = "PostgreSQL " + std::string(what) + " failed: " + redact(msg, secret_);
    if (state) text += " [SQLSTATE " + std::string(state) + "]";
    text += " in: " + quote(sql);
    last_error_ = Status(code, std::move(text));
    return last_error_;
  }

  static std::string quote(std::string_view sql) {
    std::string s(sql.substr(0, kSqlInMessage));
    std::replace(s.begin(), s.end(), '\n', ' ');
    return sql.size() > kSqlInMessage ? s + "..." : s;
  }

  /// Shortest text that reads back to the same double. A whole number is written as plain
  /// digits (2500000000, not 2.5e+09): compared with a bigint column the server parses the
  /// parameter as a bigint, which takes no exponent.
  static std::string format_double(double d) {
    char buf[64];
    bool whole = std::abs(d) < 1e15 && d == std::trunc(d);
    auto res = whole ? std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed)
                     : std::to_chars(buf, buf + sizeof buf, d);
    return std::string(buf, res.ptr);
  }

  PGconn* pg_;
  std::string secret_;
  std::unordered_map<std::string, Prepared> prepared_;
  std::vector<Held> pending_;  // held statements not sent yet
  bool broken_ = false;               // a pipeline went wrong: close rather than reuse
  bool saw_retryable_ = false;
  Status last_error_;
};

/// Opens and configures one connection. The URL may set its own connect_timeout.
Result<std::unique_ptr<PgConn>> connect(const std::string& url, const std::string& secret) {
  // Keywords before dbname are defaults the expanded URL overrides; see PQconnectdbParams.
  const char* keys[] = {"connect_timeout", "fallback_application_name", "dbname", nullptr};
  const char* vals[] = {"10", "banxway", url.c_str(), nullptr};
  PGconn* pg = PQconnectdbParams(keys, vals, 1);
  if (!pg) return Unavailable("cannot connect to PostgreSQL: out of memory");
  if (PQstatus(pg) != CONNECTION_OK) {
    std::string msg = one_line(PQerrorMessage(pg));
    PQfinish(pg);
    return Unavailable("cannot connect to PostgreSQL at " + redact_url(url) + ": " +
                       redact(msg, secret));
  }
  // Notices ("relation already exists, skipping") would go to stderr; they carry nothing a
  // caller acts on.
  PQsetNoticeProcessor(
      pg, [](void*, const char*) {}, nullptr);
  auto conn = std::make_unique<PgConn>(pg, secret);
  // Fixed session settings make the output text predictable: ISO times in UTC, UTF-8, and
  // floats printed with full precision (so they read back to the same double).
  BX_RETURN_IF_ERROR(
      conn->exec_script("SET TimeZone='UTC'; SET DateStyle='ISO'; SET client_encoding='UTF8'; "
                        "SET extra_float_digits=3"));
  return conn;
}

// ---- the pool ------------------------------------------------------------------------------

class Pool;

/// A connection borrowed from the pool; goes back (or is dropped if broken) on destruction.
class Lease {
 public:
  Lease(Pool* pool, std::unique_ptr<PgConn> c) : pool_(pool), conn_(std::move(c)) {}
  Lease(Lease&&) = default;
  Lease& operator=(Lease&&) = delete;
  ~Lease();
  PgConn& operator*() { return *conn_; }
  PgConn* operator->() { return conn_.get(); }

 private:
  Pool* pool_;
  std::unique_ptr<PgConn> conn_;
};

class Pool {
 public:
  Pool(std::string url, int size) : url_(std::move(url)), secret_(password_of(url_)), size_(size) {}

  /// A connection outside the pool (a LISTEN connection lives as long as its listener).
  Result<std::unique_ptr<PgConn>> dedicated() { return connect(url_, secret_); }

  /// An idle connection, a new one while under size, or the next one released.
  Result<Lease> acquire() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      if (!idle_.empty()) {
        std::unique_ptr<PgConn> c = std::move(idle_.back());
        idle_.pop_back();
        lock.unlock();
        if (c->alive()) return Lease(this, std::move(c));
        c.reset();  // dead: close it, and open a replacement below
        lock.lock();
        --open_;
        continue;
      }
      if (open_ < size_) {
        ++open_;
        lock.unlock();
        auto c = connect(url_, secret_);
        if (c.ok()) return Lease(this, std::move(c).value());
        lock.lock();
        --open_;
        cv_.notify_one();
        return c.status();
      }
      // A bound rather than forever: a caller that holds a lease while asking for another
      // (nested use from every pooled thread) gets an error instead of a silent deadlock.
      if (!cv_.wait_for(lock, kAcquireTimeout, [&] { return !idle_.empty() || open_ < size_; }))
        return Unavailable("timed out waiting for a PostgreSQL connection (pool size " +
                           std::to_string(size_) + ")");
    }
  }

  void release(std::unique_ptr<PgConn> c) {
    bool keep = c->reusable();
    if (!keep) c.reset();  // broken or stuck in a transaction: never hand it to someone else
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (keep)
        idle_.push_back(std::move(c));
      else
        --open_;
    }
    cv_.notify_one();
  }

 private:
  const std::string url_;
  const std::string secret_;
  const int size_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<PgConn>> idle_;
  int open_ = 0;  // idle + leased
};

Lease::~Lease() {
  if (conn_) pool_->release(std::move(conn_));
}


// ---- notifications ---------------------------------------------------------------------------

/// LISTEN on a connection of its own. wait() polls the socket and an eventfd (interrupt()).
class PgListener final : public Db::Listener {
 public:
  explicit PgListener(std::unique_ptr<PgConn> c) : conn_(std::move(c)), wake_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  ~PgListener() override {
    if (wake_ >= 0) ::close(wake_);
  }

  Result<std::vector<Db::Notification>> wait(int timeout_ms) override {
    std::vector<Db::Notification> out;
    drain(out);
    if (!out.empty()) return out;
    PGconn* pg = conn_->raw();
    pollfd fds[2] = {{PQsocket(pg), POLLIN, 0}, {wake_, POLLIN, 0}};
    int n = ::poll(fds, 2, timeout_ms);
    if (n < 0 && errno != EINTR) return Unavailable("LISTEN connection: poll failed");
    if (fds[1].revents & POLLIN) {
      uint64_t v;
      while (::read(wake_, &v, sizeof v) > 0) {
      }
    }
    if (fds[0].revents & (POLLIN | POLLERR | POLLHUP)) {
      if (!PQconsumeInput(pg) || PQstatus(pg) != CONNECTION_OK)
        return Unavailable("LISTEN connection lost: " + one_line(PQerrorMessage(pg)));
    }
    drain(out);
    return out;
  }

  void interrupt() override {
    uint64_t one = 1;
    if (wake_ >= 0) (void)!::write(wake_, &one, sizeof one);
  }

 private:
  void drain(std::vector<Db::Notification>& out) {
    while (PGnotify* n = PQnotifies(conn_->raw())) {
      out.push_back({n->relname ? n->relname : "", n->extra ? n->extra : ""});
      PQfreemem(n);
    }
  }

  std::unique_ptr<PgConn> conn_;
  int wake_;
};

// ---- the database ----------------------------------------------------------------------------

class PgDb final : public Db {
 public:
  PgDb(std::string url, int pool_size) : pool_(std::move(url), pool_size) {}

  Dialect dialect() const override { return Dialect::postgres; }

  Result<Rows> query(std::string_view sql, std::span<const Value> params) override {
    if (Conn* open = current_transaction()) return open->query(sql, params);
    BX_ASSIGN_OR_RETURN(Lease c, pool_.acquire());
    return c->query(sql, params);
  }

  Status transaction(const std::function<Status(Conn&)>& fn) override {
    if (Conn* open = current_transaction()) return run_nested(*open, fn);
    for (int attempt = 1;; ++attempt) {
      bool retry = false;
      Status st = attempt_transaction(fn, &retry);
      if (st.ok() || !retry || attempt == kMaxTransactionAttempts) return st;
      backoff(attempt);
    }
  }

  Status ping() override { return query("SELECT 1", {}).status(); }

  Result<std::unique_ptr<Listener>> listen(const std::vector<std::string>& channels) override {
    BX_ASSIGN_OR_RETURN(auto c, pool_.dedicated());
    for (const auto& ch : channels) {
      // Channel names are identifiers; only banxway's own fixed names come here.
      for (char x : ch)
        if (!(std::isalnum(static_cast<unsigned char>(x)) || x == '_'))
          return InvalidArgument("bad LISTEN channel name: " + ch);
      BX_RETURN_IF_ERROR(c->exec_script("LISTEN " + ch));
    }
    return std::unique_ptr<Listener>(std::make_unique<PgListener>(std::move(c)));
  }

  Status notify(std::string_view channel, std::string_view payload) override {
    if (payload.size() > 7999) return InvalidArgument("notification payload over 7999 bytes");
    BX_ASSIGN_OR_RETURN(Lease c, pool_.acquire());
    return static_cast<Conn&>(*c).query("SELECT pg_notify(?, ?)", {channel, payload}).status();
  }

  Result<int> schema_version() override {
    auto r = query("SELECT COALESCE(MAX(version),0) FROM schema_migrations", {});
    if (!r.ok()) return r.status();
    return static_cast<int>(r->rows.at(0).int64(0));
  }

 private:
  /// One try; *retry says whether the failure was a conflict that a fresh attempt may avoid.
  Status attempt_transaction(const std::function<Status(Conn&)>& fn, bool* retry) {
    BX_ASSIGN_OR_RETURN(Lease c, pool_.acquire());
    c->reset_retryable();
    c->clear_event_orgs();
    Status st = c->exec_script("BEGIN");
    if (!st.ok()) {
      *retry = !c->reusable();  // nothing ran yet: safe to retry on a fresh connection
      return st;
    }
    c->set_defers_events(true);
    try {
      st = run_marked(*c, fn);
    } catch (const std::exception& e) {
      st = Internal(std::string("exception in transaction: ") + e.what());
    } catch (...) {
      st = Internal("unknown exception in transaction");
    }
    c->set_defers_events(false);
    // PostgreSQL turns COMMIT of an aborted transaction into a silent ROLLBACK: if fn ignored a
    // failed statement, report that failure instead of pretending the writes landed.
    if (st.ok() && c->in_failed_transaction()) st = c->last_error();
    // The events the transaction appended go in last, under their organizations' locks.
    if (st.ok()) st = flush_deferred_events(*c);
    // Other processes on this database learn of new events at commit (LISTEN bx_events); the
    // payload is the organization, so a listener re-reads only that organization's events.
    for (size_t i = 0; st.ok() && i < c->event_orgs().size(); ++i)
      st = static_cast<Conn&>(*c).write_deferred("SELECT pg_notify('bx_events', ?)",
                                                 {c->event_orgs()[i]});
    if (st.ok()) st = c->exec_script("COMMIT");
    if (st.ok()) committed(*c);
    if (!st.ok()) {
      if (c->in_transaction()) (void)c->exec_script("ROLLBACK");
      *retry = c->saw_retryable();
    }
    return st;
  }

  static void backoff(int attempt) {
    thread_local std::minstd_rand rng(std::random_device{}());
    int ms = (5 << attempt) + static_cast<int>(rng() % 10);  // 10, 20, 40, 80 ms + jitter
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  }

  Pool pool_;
};

}  // namespace

Result<std::unique_ptr<Db>> open_postgres(std::string_view url_in, const DbOptions& opts) {
  std::string url(url_in);
  char* err = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(url.c_str(), &err);
  if (!parsed) {
    std::string msg = err ? one_line(err) : "out of memory";
    PQfreemem(err);
    return InvalidArgument("invalid PostgreSQL URL " + redact_url(url) + ": " +
                           redact(msg, password_of(url)));
  }
  PQconninfoFree(parsed);
  auto db = std::make_unique<PgDb>(url, std::max(2, opts.readers));
  // Connect once now so a wrong URL or a down server surfaces at open, not at first use.
  BX_RETURN_IF_ERROR(db->ping());
  return std::unique_ptr<Db>(std::move(db));
}

}  // namespace banxway::store
