// Shipment documents (docs/SHIPMENTS.md "Documents"): files such as bills of lading and invoices
// attached to a shipment. The bytes go to the blob store (content-addressed per organization);
// the shipment_documents row says what they are. Uploads are checked: size, a content type from
// an allow-list, and the bytes must look like what the client said they are (libmagic, the same
// sniffer the email pipeline uses for attachments).
#include <algorithm>
#include <string>
#include <vector>

#include "api/schema.hpp"
#include "channels/email/mime_internal.hpp"
#include "services/common.hpp"
#include "services/shipments.hpp"

namespace banxway::services {
namespace {

const ColSpec kDocument[] = {
    {"id", "id", Col::str},
    {"shipment_id", "shipment_id", Col::str},
    {"kind", "kind", Col::str},
    {"filename", "filename", Col::str},
    {"content_type", "content_type", Col::str},
    {"size", "size", Col::integer},
    {"sha256", "sha256", Col::str},
    {"uploaded_by", "uploaded_by", Col::str},
    {"created_at", "created_at", Col::str},
    {"deleted_at", "deleted_at", Col::str},
};
constexpr size_t kCreatedCol = 8;

constexpr const char* kUploadSchema = R"({"type":"object","required":["shipment_id"],
  "additionalProperties":false,"properties":{
    "shipment_id":{"type":"string","format":"uuid"},
    "kind":{"type":"string","enum":["bill_of_lading","invoice","packing_list",
      "certificate_of_origin","customs_declaration","delivery_order","other"]},
    "filename":{"type":"string","maxLength":1024},
    "content_type":{"type":"string","maxLength":200}}})";

// Media types a document may have. Office formats come in two container families (OOXML/ODF
// are zip files, the older Microsoft formats OLE compound files); libmagic may name either
// the specific format or only the container.
struct Allowed {
  std::string_view type;
  enum Family { exact, text, zip, ole } family;
};
constexpr Allowed kAllowed[] = {
    {"application/pdf", Allowed::exact},
    {"image/png", Allowed::exact},
    {"image/jpeg", Allowed::exact},
    {"image/gif", Allowed::exact},
    {"image/webp", Allowed::exact},
    {"image/tiff", Allowed::exact},
    {"text/plain", Allowed::text},
    {"text/csv", Allowed::text},
    {"application/xml", Allowed::text},
    {"text/xml", Allowed::text},
    {"application/msword", Allowed::ole},
    {"application/vnd.ms-excel", Allowed::ole},
    {"application/vnd.ms-powerpoint", Allowed::ole},
    {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", Allowed::zip},
    {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Allowed::zip},
    {"application/vnd.openxmlformats-officedocument.presentationml.presentation", Allowed::zip},
    {"application/vnd.oasis.opendocument.text", Allowed::zip},
    {"application/vnd.oasis.opendocument.spreadsheet", Allowed::zip},
};

const Allowed* find_allowed(std::string_view t) {
  for (const auto& a : kAllowed)
    if (a.type == t) return &a;
  return nullptr;
}

std::string allowed_list() {
  std::string s;
  for (const auto& a : kAllowed) {
    if (!s.empty()) s += ", ";
    s += a.type;
  }
  return s;
}

// "Application/PDF; charset=x" -> "application/pdf"; common aliases folded.
std::string bare_type(std::string_view ct) {
  ct = ct.substr(0, ct.find(';'));
  while (!ct.empty() && (ct.back() == ' ' || ct.back() == '\t')) ct.remove_suffix(1);
  while (!ct.empty() && (ct.front() == ' ' || ct.front() == '\t')) ct.remove_prefix(1);
  std::string t(ct);
  for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (t == "image/jpg" || t == "image/pjpeg") return "image/jpeg";
  if (t == "application/x-pdf") return "application/pdf";
  if (t == "application/csv" || t == "text/comma-separated-values") return "text/csv";
  return t;
}

bool generic(std::string_view t) {
  return t.empty() || t == "application/octet-stream" || t == "binary/octet-stream" ||
         t == "application/unknown" || t == "application/x-unknown";
}

bool executable(std::string_view sniffed) {
  for (std::string_view x :
       {"application/x-executable", "application/x-dosexec", "application/x-sharedlib",
        "application/x-mach-binary", "application/x-pie-executable", "application/x-elf",
        "application/vnd.microsoft.portable-executable", "application/x-msdownload"})
    if (sniffed == x) return true;
  return false;
}

// Whether bytes libmagic calls `sniffed` may be a file of the declared, allowed type.
bool content_matches(const Allowed& a, std::string_view sniffed) {
  if (sniffed == a.type) return true;
  switch (a.family) {
    case Allowed::exact:
      return false;
    case Allowed::text:
      return sniffed.starts_with("text/") || sniffed == "application/csv" ||
             sniffed == "application/xml" || sniffed == "application/json";
    case Allowed::zip:
      return sniffed == "application/zip" || sniffed == "application/octet-stream" ||
             sniffed.starts_with("application/vnd.openxmlformats-officedocument.") ||
             sniffed.starts_with("application/vnd.oasis.opendocument.");
    case Allowed::ole:
      return sniffed == "application/x-ole-storage" || sniffed == "application/cdfv2" ||
             sniffed == "application/msword" || sniffed == "application/vnd.ms-excel" ||
             sniffed == "application/vnd.ms-powerpoint" || sniffed == "application/vnd.ms-office" ||
             sniffed == "application/octet-stream";
  }
  return false;
}

// Decodes one UTF-8 sequence at s[i]; returns its length, or 0 when malformed.
size_t utf8_len(std::string_view s, size_t i) {
  auto b = static_cast<unsigned char>(s[i]);
  size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  if (n == 2 && b < 0xC2) return 0;  // overlong
  return n;
}

}  // namespace

std::string sanitize_document_filename(std::string_view name) {
  // Only the last path component: "C:\\x\\..\\inv.pdf" and "../../etc/passwd" lose their paths.
  auto cut = name.find_last_of("/\\");
  if (cut != std::string_view::npos) name = name.substr(cut + 1);
  std::string out;
  for (size_t i = 0; i < name.size();) {
    size_t n = utf8_len(name, i);
    if (n == 0) {  // invalid UTF-8 byte: replaced
      out += '_';
      ++i;
      continue;
    }
    auto c = static_cast<unsigned char>(name[i]);
    if (n == 1 &&
        (c < 0x20 || c == 0x7f ||
         std::string_view("\"<>:|?*;").find(static_cast<char>(c)) != std::string_view::npos))
      out += '_';
    else
      out.append(name.substr(i, n));
    i += n;
  }
  // No leading dots (hidden files, "..") and no trailing dots or spaces (Windows drops them).
  size_t b = out.find_first_not_of(". ");
  out = b == std::string::npos ? std::string() : out.substr(b);
  while (!out.empty() && (out.back() == '.' || out.back() == ' ')) out.pop_back();
  // At most 200 bytes, cut on a character boundary, keeping a short extension.
  constexpr size_t kMax = 200;
  if (out.size() > kMax) {
    std::string ext;
    auto dot = out.rfind('.');
    if (dot != std::string::npos && out.size() - dot <= 10) ext = out.substr(dot);
    size_t keep = kMax - ext.size();
    while (keep > 0 && (static_cast<unsigned char>(out[keep]) & 0xC0) == 0x80) --keep;
    out = out.substr(0, keep) + ext;
  }
  return out.empty() ? "document" : out;
}

Result<std::string> shipments_document_upload(api::Ctx& ctx, std::string_view params_json,
                                              std::string_view bytes) {
  static const api::Schema schema = *api::Schema::compile(kUploadSchema);
  json::Document p;
  std::string_view text = params_json.empty() ? std::string_view("{}") : params_json;
  BX_RETURN_IF_ERROR(json::parse(text, &p, {8, 64 * 1024}));
  if (!p.IsObject()) return InvalidArgument("params must be a JSON object");
  BX_RETURN_IF_ERROR(schema.validate(p, p.GetAllocator()));

  size_t max = ctx.core().opts.max_document_bytes;
  if (bytes.size() > max)
    return Status(Code::payload_too_large, "document is " + std::to_string(bytes.size()) +
                                               " bytes; the limit is " + std::to_string(max));
  if (bytes.empty()) return InvalidArgument("document is empty", "{\"field\":\"content\"}");

  std::string sniffed = email::detail::sniff_media_type(bytes);
  std::string declared = bare_type(api::param_str(p, "content_type").value_or(""));
  if (executable(sniffed))
    return InvalidArgument("content is an executable (" + sniffed + "); not accepted as a document",
                           "{\"field\":\"content\"}");
  std::string type = generic(declared) ? bare_type(sniffed) : declared;
  const Allowed* allowed = find_allowed(type);
  if (!allowed)
    return InvalidArgument("content_type: " + (type.empty() ? std::string("unknown") : type) +
                               " is not accepted for documents; accepted: " + allowed_list(),
                           "{\"field\":\"content_type\"}");
  if (!sniffed.empty() && !content_matches(*allowed, sniffed))
    return InvalidArgument("content_type: declared " + type + " but the content is " + sniffed,
                           "{\"field\":\"content_type\"}");

  std::string shipment = *api::param_str(p, "shipment_id");
  std::string filename = sanitize_document_filename(api::param_str(p, "filename").value_or(""));
  std::string kind = api::param_str(p, "kind").value_or("other");
  // A large blob's file is written before the transaction (idempotent, content-addressed); a
  // failed transaction leaves at most an unreferenced file, never a row without its bytes.
  BX_ASSIGN_OR_RETURN(store::StagedBlob blob, ctx.core().blobs->stage(ctx.org(), bytes));
  const std::string& sha = blob.sha;
  std::string id = ctx.new_id();
  std::optional<std::string> uploaded_by;
  if (!ctx.who().user_id.empty()) uploaded_by = ctx.who().user_id;
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_RETURN_IF_ERROR(require_ref(c, ctx, "shipments", shipment, "shipment_id"));
    BX_RETURN_IF_ERROR(ctx.core().blobs->record(c, ctx.org(), blob, type, ctx.now()));
    auto r = c.query(
        "INSERT INTO shipment_documents (id, org_id, shipment_id, kind, filename, content_type, "
        "size, sha256, blob_key, uploaded_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {id, ctx.org(), shipment, kind, filename, type, static_cast<int64_t>(bytes.size()), sha,
         sha, uploaded_by, ctx.now()});
    if (!r.ok()) return r.status();
    BX_ASSIGN_OR_RETURN(out, get_by_id(c, ctx, "shipment_documents", kDocument, id, "document"));
    BX_RETURN_IF_ERROR(
        ctx.event(c, "shipment.document_added", "shipment", shipment, std::nullopt, out));
    return ctx.audit(c, "shipment_document", id, "{\"shipment_id\":" + json::quote(shipment) + "}");
  }));
  return out;
}

Result<DocumentBytes> shipments_document_download(api::Ctx& ctx, std::string_view id) {
  if (!is_uuid(id)) return InvalidArgument("id: expected a UUID", "{\"field\":\"id\"}");
  std::string key(id);
  for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto r = ctx.db().query(
      "SELECT content_type, filename, blob_key FROM shipment_documents "
      "WHERE id = ? AND org_id = ? AND deleted_at IS NULL",
      {key, ctx.org()});
  if (!r.ok()) return r.status();
  if (r->empty()) return NotFound("document " + key + " not found");
  DocumentBytes d;
  d.content_type = r->rows[0].text(0);
  d.filename = r->rows[0].text(1);
  BX_ASSIGN_OR_RETURN(d.bytes, ctx.core().blobs->get(ctx.db(), ctx.org(), r->rows[0].text(2)));
  return d;
}

Result<std::string> shipments_documents_list(api::Ctx& ctx, json::Value& p) {
  std::string shipment = *api::param_str(p, "shipment_id");
  int limit = api::param_limit(p);
  DbReader c(ctx.db());
  BX_RETURN_IF_ERROR(require_ref(c, ctx, "shipments", shipment, "shipment_id"));
  std::string sql = "SELECT " + select_list(kDocument) +
                    " FROM shipment_documents WHERE org_id = ? AND shipment_id = ? AND "
                    "deleted_at IS NULL";
  std::vector<store::Value> args{ctx.org(), shipment};
  add_equal_filters(sql, args, p, {"kind"});
  BX_RETURN_IF_ERROR(add_created_keyset(sql, args, p, limit, /*descending=*/false));
  BX_ASSIGN_OR_RETURN(auto rows, c.query(sql, args));
  size_t n = std::min(rows.size(), static_cast<size_t>(limit));
  std::string items = "[";
  for (size_t i = 0; i < n; ++i) {
    if (i) items += ',';
    items += row_to_json(rows[i], kDocument);
  }
  items += ']';
  return api::list_result(items, next_created_cursor(rows, limit, kCreatedCol));
}

Result<std::string> shipments_document_delete(api::Ctx& ctx, json::Value& p) {
  std::string id = *api::param_str(p, "id");
  std::string out;
  BX_RETURN_IF_ERROR(ctx.db().transaction([&](store::Conn& c) -> Status {
    BX_ASSIGN_OR_RETURN(auto cur, c.query("SELECT shipment_id FROM shipment_documents WHERE id = ? "
                                          "AND org_id = ? AND deleted_at IS NULL",
                                          {id, ctx.org()}));
    if (cur.empty()) return NotFound("document " + id + " not found");
    std::string shipment(cur[0].text(0));
    auto r = c.query("UPDATE shipment_documents SET deleted_at = ? WHERE id = ? AND org_id = ?",
                     {ctx.now(), id, ctx.org()});
    if (!r.ok()) return r.status();
    BX_ASSIGN_OR_RETURN(out, get_by_id(c, ctx, "shipment_documents", kDocument, id, "document"));
    BX_RETURN_IF_ERROR(
        ctx.event(c, "shipment.document_removed", "shipment", shipment, std::nullopt, out));
    return ctx.audit(c, "shipment_document", id, "{\"shipment_id\":" + json::quote(shipment) + "}");
  }));
  return out;
}

}  // namespace banxway::services
