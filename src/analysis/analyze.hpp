// Message analysis in one call: extraction (analysis/extract.hpp) and classification
// (analysis/classify.hpp) over one tokenization, and the JSON stored with a message.
#pragma once

#include <string>
#include <string_view>

#include "analysis/classify.hpp"
#include "analysis/extract.hpp"

namespace banxway::analysis {

struct Analysis {
  Extraction extraction;  // entities are taken from the subject and the text
  Classification cls;
};

Analysis analyze(std::string_view subject, std::string_view text, const ExtractOptions& opt = {});

/// {"intent","intent_confidence","sentiment","sentiment_score","urgency","language",
///  "requested_documents":[...],"submitted_documents":[...],
///  "entities":{"containers","awbs","bls","bookings","ports","incoterms","hs_codes","imos",
///              "dates":[{"kind","date","raw"}]},
///  "rejected":[{"kind","raw","reason"}],
///  "sources":{"intent":"rules","sentiment":"rules","urgency":"rules","language":"rules",
///             "entities":"rules"},
///  "source":"rules"}
std::string to_json(const Analysis& a);

}  // namespace banxway::analysis
