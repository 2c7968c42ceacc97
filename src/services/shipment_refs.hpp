// Shipping identifiers: normalizing and validating the references a shipment is known by
// (container numbers, air waybills, bookings, bills of lading) and UN/LOCODEs, and finding
// container numbers and AWBs in free text. Pure functions (no database, no context).
//
// Check digits follow docs (PROTOCOLS §7): ISO 6346 for containers, IATA mod 7 for AWBs.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace banxway::services {

enum class RefKind { booking, bl, container, awb };

std::string_view ref_kind_name(RefKind k);
std::optional<RefKind> ref_kind_from(std::string_view name);

/// Upper-cases ASCII letters and drops spaces, tabs and dashes: "msku 907032-3" -> "MSKU9070323".
std::string normalize_reference(std::string_view s);

/// The ISO 6346 check digit of a container number's first 10 characters (owner code 3 letters,
/// category letter, 6 digits; upper case), or nullopt when they are not of that shape.
/// Letters count 10, 12, 13, …, 38 (skipping multiples of 11); position i weighs 2^i;
/// check = (sum mod 11) mod 10.
std::optional<int> container_check_digit(std::string_view first10);
/// The normalized container number when s is one (category U, J or Z) with a correct check
/// digit.
std::optional<std::string> valid_container(std::string_view s);

/// The AWB check digit for 10 digits (3-digit airline prefix + 7-digit serial): serial mod 7.
std::optional<int> awb_check_digit(std::string_view first10);
/// The normalized 11-digit AWB when s is one with a correct check digit.
std::optional<std::string> valid_awb(std::string_view s);

/// A booking number: 4–35 letters and digits once normalized.
std::optional<std::string> valid_booking(std::string_view s);
/// A bill of lading number: 4–35 letters and digits once normalized (no global format).
std::optional<std::string> valid_bl(std::string_view s);

/// A UN/LOCODE: 2 letters (the country) + 3 of A–Z and 2–9, with an optional space between
/// ("IN NSA"); case-insensitive. Returns the 5 characters upper case, without the space.
std::optional<std::string> valid_unlocode(std::string_view s);

/// Checks a reference of `kind`: the normalized value, or a sentence saying what is wrong
/// (for a bad check digit, which digit was expected).
struct RefCheck {
  std::optional<std::string> value;
  std::string problem;
};
RefCheck check_reference(RefKind kind, std::string_view raw);

/// A container number or AWB written at text[i], by shape only (the check digit is NOT
/// verified): where it ends, its normalized characters, and whether a space or dash sat inside.
/// Containers: [A-Za-z]{3}[UJZ][ -]?\d{6}[ -]?\d; AWBs: \d{3}[ -]?\d{4}[ ]?\d{4}; both must end
/// at a word end (no letter or digit follows). Callers check the start boundary themselves.
struct ScannedRef {
  size_t end = 0;
  std::string value;
  bool separated = false;
};
std::optional<ScannedRef> scan_container_at(std::string_view text, size_t i);
std::optional<ScannedRef> scan_awb_at(std::string_view text, size_t i);

/// A reference found in free text: kind (container or awb), normalized value, and where the
/// matched characters are in the text (bytes).
struct Found {
  RefKind kind;
  std::string value;
  size_t offset = 0;
  size_t length = 0;
};
/// Container numbers ("MSKU9070323", "MSKU 907032 3", "msku-907032-3") and AWBs
/// ("176-12345675", "176-1234 5675", "17612345675") standing as words in text, whose check
/// digit is right. Each value once, in order of first appearance.
std::vector<Found> find_references(std::string_view text);

}  // namespace banxway::services
