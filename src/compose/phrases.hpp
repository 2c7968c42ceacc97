// The sentences of offline reply drafts, per language (English, Spanish, German, French). A draft
// follows the language of the customer's last message when there are sentences for it, else it
// is written in English (and says so: `language_fallback` in compose.suggest's result).
//
// Sentences are looked up by key and have one-letter placeholders: {S} the shipment phrase
// ("container MSKU9070323"), {D} a date, {P} a previous date, {L} a place, {X} a list, {N} a name,
// {B} a booking number, {O} an origin, {T} a destination. A key missing in a language falls
// back to English.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace banxway::compose {

class Phrases {
 public:
  /// The sentences for an ISO 639-1 code; English for codes without sentences.
  static const Phrases& for_language(std::string_view code);
  /// Whether there are sentences for this language.
  static bool has(std::string_view code);

  const std::string& code() const { return code_; }
  /// The sentence `key` with placeholders filled.
  std::string t(std::string_view key,
                std::initializer_list<std::pair<char, std::string>> args = {}) const;
  /// "a, b and c" with this language's "and".
  std::string join(const std::vector<std::string>& items) const;
  /// A document kind ("packing_list", "invoice", …) in this language.
  std::string document(std::string_view kind) const;

 private:
  explicit Phrases(std::string code) : code_(std::move(code)) {}
  std::string code_;
};

}  // namespace banxway::compose
