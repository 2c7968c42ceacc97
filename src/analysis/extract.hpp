// Freight identifiers in free text: containers (ISO 6346), air waybills (IATA mod 7 + airline
// prefix table), bills of lading (carrier prefix patterns + context), bookings (context),
// UN/LOCODEs, Incoterms, HS codes (context), IMO ship numbers and dated events (ETD, ETA,
// cut-offs, pickup, delivery). Pure functions: no database, no clock. Rules: docs/ANALYSIS.md.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace banxway::analysis {

struct DateRef {
  std::string kind;  // "etd" "eta" "cutoff" "pickup" "delivery"
  std::string date;  // canonical YYYY-MM-DD
  std::string raw;   // as written
  bool operator==(const DateRef&) const = default;
};

struct Rejected {
  std::string kind;  // "container" "awb" "hs_code" "date" "imo"
  std::string raw;   // as written
  std::string reason;
};

struct Entities {
  std::vector<std::string> containers;  // "MSCU1234565"
  std::vector<std::string> awbs;        // "176-12345675"
  std::vector<std::string> bls;         // "MAEU123456789" (carrier prefix kept, no spaces)
  std::vector<std::string> bookings;
  std::vector<std::string> ports;      // UN/LOCODE "INNSA"
  std::vector<std::string> incoterms;  // "FOB"; CNF and C&F become "CFR"
  std::vector<std::string> hs_codes;   // digits only "847130"
  std::vector<std::string> imos;       // "9074729" (beyond the brief's list: IMO ship numbers)
  std::vector<DateRef> dates;
};

struct ExtractOptions {
  std::string reference_date;  // YYYY-MM-DD: the year for dates written without one
  bool month_first = false;    // 03/04/2026 is 3 April unless month_first
};

struct Extraction {
  Entities entities;
  std::vector<Rejected> rejected;
};

/// Each value once, in order of first appearance. Only the first 64 KiB of text are read.
Extraction extract(std::string_view text, const ExtractOptions& opt = {});

struct Tokens;
/// The same on text already tokenized (analysis/lexicon.hpp), for analyze().
Extraction extract_tokens(std::string_view text, const Tokens& toks, const ExtractOptions& opt);

inline constexpr size_t kMaxAnalyzedBytes = 64 * 1024;
/// The first kMaxAnalyzedBytes of text, cut at a UTF-8 character boundary.
std::string_view analyzed_prefix(std::string_view text);

}  // namespace banxway::analysis
