// The draft guardrail (docs/COMPOSE.md): every container number, air waybill, bill of lading,
// booking reference, date and amount a draft states must appear in the context it was written
// from; the ones that do not are reported so the client can highlight them.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace banxway::compose {

struct Claim {
  std::string kind;   // container awb bl booking date amount
  std::string value;  // canonical: MSKU9070323, 176-12345675, 2026-12-05 (or --12-05 without
                      // a year), 1200.5 USD (currency when stated)
};

/// Dates ("2026-12-05", "05/12/2026", "5 Dec 2026", "Dec 5", "5th December") and amounts
/// ("USD 1,200", "$1,200.50", "INR 45000", "1200 EUR") in text, canonical. Day-first for
/// numeric dates.
std::vector<Claim> find_dates_and_amounts(std::string_view text);

/// Everything checkable a text states: references (validated ids only) plus dates and amounts.
std::vector<Claim> find_claims(std::string_view text);

/// The set of canonical values a context vouches for (its text's claims plus extra values such
/// as the linked shipments' references and dates). A year-less date matches any year.
class FactSet {
 public:
  void add_text(std::string_view text);
  void add(std::string value) { values_.insert(std::move(value)); }
  bool contains(const Claim& c) const;

 private:
  std::set<std::string, std::less<>> values_;
};

/// The claims of `draft` the facts do not vouch for (each once).
std::vector<Claim> unverified(std::string_view draft, const FactSet& facts);

}  // namespace banxway::compose
