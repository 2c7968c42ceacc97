#include "compose/phrases.hpp"

#include <map>
#include <vector>

namespace banxway::compose {
namespace {

using Table = std::map<std::string, std::string, std::less<>>;

// clang-format off
const Table kEnglish = {
    {"and", "and"},
    {"your_shipment", "your shipment"},
    {"container", "container"}, {"bl", "B/L"}, {"awb", "AWB"}, {"booking", "booking"},
    {"dear", "Dear {N},"}, {"dear_anon", "Dear Sir or Madam,"},
    {"hi", "Hi {N},"}, {"hi_anon", "Hi there,"},
    {"chat_hi", "Hi {N}, "}, {"chat_hi_anon", "Hi, "},
    {"closing_professional", "Best regards,"}, {"closing_friendly", "Thanks,"},
    {"closing_formal", "Kind regards,"},
    {"thanks", "Thank you for your message."},
    {"checking", "We are checking the latest status and will update you shortly."},
    {"m.booked", "{S} was booked"}, {"m.picked_up", "{S} was picked up"},
    {"m.gate_in", "{S} was gated in"}, {"m.loaded", "{S} was loaded"},
    {"m.departed", "{S} departed"}, {"m.transshipped", "{S} was transshipped"},
    {"m.arrived", "{S} arrived"}, {"m.customs_cleared", "{S} cleared customs"},
    {"m.delivered", "{S} was delivered"},
    {"at_place", " at {L}"}, {"on_date", " on {D}"},
    {"s.planned", "{S} is planned"}, {"s.booked", "{S} is booked"}, {"s.other", "{S} is in progress"},
    {"departure_scheduled", ", with departure scheduled for {D}"},
    {"expected", " and is expected to arrive"}, {"expected_at", " at {T}"},
    {"delay_moved", "Please note that the expected arrival of {S} has moved to {D} (previously {P})."},
    {"delay", "Please note that {S} is delayed. We are working with the carrier and will confirm the revised schedule as soon as we have it."},
    {"ask_docs", "Could you please send us the {X}{F}?"},
    {"for", " for {S}"},
    {"shipping_documents", "shipping documents"}, {"requested_documents", "requested documents"},
    {"send_docs", "We will share the {X}{F} shortly."},
    {"docs_received", "Thank you for sending the documents{F}. We have received them and will review them shortly."},
    {"lane", " from {O} to {T}"},
    {"rate", "Thank you for your rate request{X}. We are checking with our carriers and will share our best rates shortly."},
    {"booking_confirmed", "Your booking {B} is confirmed."},
    {"booking_thanks", "Thank you for your booking request. We will confirm the booking details shortly."},
    {"complaint", "We are sorry for the trouble with {S}. We are looking into it as a priority and will update you shortly."},
    {"invoice", "Thank you for your question about the invoice{F}. Our accounts team is reviewing it and we will get back to you shortly."},
    {"customs_done", "{S} cleared customs on {D}."},
    {"customs_pending", "We are following up on customs clearance for {S} and will update you as soon as it is cleared."},
    {"pickup_done", "{S} was picked up on {D}."},
    {"pickup_planned", "The pickup of {S} is planned for {D}."},
    {"pickup_pending", "We are arranging the pickup of {S} and will confirm the time shortly."},
    {"delivery_done", "{S} was delivered on {D}."},
    {"delivery_planned", "The delivery of {S} is planned for {D}."},
    {"delivery_eta", "{S} is expected to arrive on {D}; we will confirm the delivery time."},
    {"delivery_pending", "We are arranging the delivery of {S} and will confirm the time shortly."},
    {"awaiting", "For your information, we are still awaiting the {X} for {S}."},
    {"working_on", "We are also working on: {X}."},
    {"d.invoice", "commercial invoice"}, {"d.packing_list", "packing list"},
    {"d.bill_of_lading", "bill of lading"}, {"d.certificate_of_origin", "certificate of origin"},
    {"d.customs_declaration", "customs declaration"}, {"d.delivery_order", "delivery order"},
    {"d.shipping_instructions", "shipping instructions"}, {"d.arrival_notice", "arrival notice"},
    {"d.insurance_certificate", "insurance certificate"}, {"d.msds", "MSDS"},
};

const Table kSpanish = {
    {"and", "y"},
    {"your_shipment", "su envío"},
    {"container", "el contenedor"}, {"bl", "el B/L"}, {"awb", "la guía aérea"}, {"booking", "la reserva"},
    {"dear", "Estimado/a {N}:"}, {"dear_anon", "Estimado/a cliente:"},
    {"hi", "Hola {N}:"}, {"hi_anon", "Hola:"},
    {"chat_hi", "Hola {N}, "}, {"chat_hi_anon", "Hola, "},
    {"closing_professional", "Saludos cordiales,"}, {"closing_friendly", "Gracias,"},
    {"closing_formal", "Atentamente,"},
    {"thanks", "Gracias por su mensaje."},
    {"checking", "Estamos revisando el estado actual y le informaremos en breve."},
    {"m.booked", "{S} fue reservado"}, {"m.picked_up", "{S} fue recogido"},
    {"m.gate_in", "{S} entró en la terminal"}, {"m.loaded", "{S} fue cargado"},
    {"m.departed", "{S} salió"}, {"m.transshipped", "{S} fue transbordado"},
    {"m.arrived", "{S} llegó"}, {"m.customs_cleared", "{S} fue despachado de aduanas"},
    {"m.delivered", "{S} fue entregado"},
    {"at_place", " en {L}"}, {"on_date", " el {D}"},
    {"s.planned", "{S} está planificado"}, {"s.booked", "{S} está reservado"}, {"s.other", "{S} está en curso"},
    {"departure_scheduled", ", con salida prevista el {D}"},
    {"expected", " y tiene llegada prevista"}, {"expected_at", " a {T}"},
    {"delay_moved", "Le informamos que la llegada prevista de {S} ha cambiado al {D} (antes {P})."},
    {"delay", "Le informamos que {S} tiene un retraso. Estamos en contacto con la naviera y le confirmaremos el nuevo itinerario en cuanto lo tengamos."},
    {"ask_docs", "¿Podría enviarnos {X}{F}?"},
    {"for", " de {S}"},
    {"shipping_documents", "los documentos de embarque"}, {"requested_documents", "los documentos solicitados"},
    {"send_docs", "Le enviaremos {X}{F} en breve."},
    {"docs_received", "Gracias por enviarnos los documentos{F}. Los hemos recibido y los revisaremos en breve."},
    {"lane", " de {O} a {T}"},
    {"rate", "Gracias por su solicitud de tarifa{X}. Estamos consultando con nuestros transportistas y le enviaremos nuestras mejores tarifas en breve."},
    {"booking_confirmed", "Su reserva {B} está confirmada."},
    {"booking_thanks", "Gracias por su solicitud de reserva. Le confirmaremos los detalles en breve."},
    {"complaint", "Lamentamos los inconvenientes con {S}. Lo estamos revisando con prioridad y le informaremos en breve."},
    {"invoice", "Gracias por su consulta sobre la factura{F}. Nuestro departamento de contabilidad la está revisando y le responderemos en breve."},
    {"customs_done", "{S} fue despachado de aduanas el {D}."},
    {"customs_pending", "Estamos haciendo seguimiento del despacho de aduanas de {S} y le avisaremos en cuanto se complete."},
    {"pickup_done", "{S} fue recogido el {D}."},
    {"pickup_planned", "La recogida de {S} está prevista para el {D}."},
    {"pickup_pending", "Estamos organizando la recogida de {S} y le confirmaremos la hora en breve."},
    {"delivery_done", "{S} fue entregado el {D}."},
    {"delivery_planned", "La entrega de {S} está prevista para el {D}."},
    {"delivery_eta", "{S} tiene llegada prevista el {D}; le confirmaremos la hora de entrega."},
    {"delivery_pending", "Estamos organizando la entrega de {S} y le confirmaremos la hora en breve."},
    {"awaiting", "Para su información, aún estamos esperando {X} de {S}."},
    {"working_on", "También estamos trabajando en: {X}."},
    {"d.invoice", "la factura comercial"}, {"d.packing_list", "la lista de empaque"},
    {"d.bill_of_lading", "el conocimiento de embarque"}, {"d.certificate_of_origin", "el certificado de origen"},
    {"d.customs_declaration", "la declaración de aduanas"}, {"d.delivery_order", "la orden de entrega"},
    {"d.shipping_instructions", "las instrucciones de embarque"}, {"d.arrival_notice", "el aviso de llegada"},
    {"d.insurance_certificate", "el certificado de seguro"}, {"d.msds", "la hoja de seguridad (MSDS)"},
};

const Table kGerman = {
    {"and", "und"},
    {"your_shipment", "Ihre Sendung"},
    {"container", "Container"}, {"bl", "B/L"}, {"awb", "Luftfrachtbrief"}, {"booking", "Buchung"},
    {"dear", "Guten Tag {N},"}, {"dear_anon", "Sehr geehrte Damen und Herren,"},
    {"hi", "Hallo {N},"}, {"hi_anon", "Hallo,"},
    {"chat_hi", "Hallo {N}, "}, {"chat_hi_anon", "Hallo, "},
    {"closing_professional", "Mit freundlichen Grüßen"}, {"closing_friendly", "Viele Grüße"},
    {"closing_formal", "Mit freundlichen Grüßen"},
    {"thanks", "Vielen Dank für Ihre Nachricht."},
    {"checking", "Wir prüfen den aktuellen Stand und melden uns in Kürze."},
    {"m.booked", "{S}: gebucht"}, {"m.picked_up", "{S}: abgeholt"},
    {"m.gate_in", "{S}: im Terminal angeliefert"}, {"m.loaded", "{S}: verladen"},
    {"m.departed", "{S}: abgefahren"}, {"m.transshipped", "{S}: umgeladen"},
    {"m.arrived", "{S}: angekommen"}, {"m.customs_cleared", "{S}: verzollt"},
    {"m.delivered", "{S}: zugestellt"},
    {"at_place", " in {L}"}, {"on_date", " am {D}"},
    {"s.planned", "{S}: geplant"}, {"s.booked", "{S}: gebucht"}, {"s.other", "{S}: in Bearbeitung"},
    {"departure_scheduled", ", Abfahrt geplant am {D}"},
    {"expected", "; voraussichtliche Ankunft"}, {"expected_at", " in {T}"},
    {"delay_moved", "Bitte beachten Sie, dass sich die voraussichtliche Ankunft von {S} auf den {D} verschoben hat (bisher {P})."},
    {"delay", "Bitte beachten Sie, dass sich {S} verspätet. Wir stehen mit der Reederei in Kontakt und bestätigen den neuen Fahrplan, sobald er vorliegt."},
    {"ask_docs", "Könnten Sie uns bitte {X}{F} senden?"},
    {"for", " für {S}"},
    {"shipping_documents", "die Versanddokumente"}, {"requested_documents", "die angefragten Dokumente"},
    {"send_docs", "Wir senden Ihnen {X}{F} in Kürze."},
    {"docs_received", "Vielen Dank für die Dokumente{F}. Wir haben sie erhalten und prüfen sie in Kürze."},
    {"lane", " von {O} nach {T}"},
    {"rate", "Vielen Dank für Ihre Ratenanfrage{X}. Wir prüfen die Angebote unserer Reedereien und senden Ihnen in Kürze unsere besten Raten."},
    {"booking_confirmed", "Ihre Buchung {B} ist bestätigt."},
    {"booking_thanks", "Vielen Dank für Ihre Buchungsanfrage. Wir bestätigen die Details in Kürze."},
    {"complaint", "Wir bedauern die Unannehmlichkeiten mit {S}. Wir kümmern uns vorrangig darum und melden uns in Kürze."},
    {"invoice", "Vielen Dank für Ihre Frage zur Rechnung{F}. Unsere Buchhaltung prüft sie und meldet sich in Kürze."},
    {"customs_done", "{S} wurde am {D} verzollt."},
    {"customs_pending", "Wir verfolgen die Verzollung von {S} und informieren Sie, sobald sie abgeschlossen ist."},
    {"pickup_done", "{S} wurde am {D} abgeholt."},
    {"pickup_planned", "Die Abholung von {S} ist für den {D} geplant."},
    {"pickup_pending", "Wir organisieren die Abholung von {S} und bestätigen die Uhrzeit in Kürze."},
    {"delivery_done", "{S} wurde am {D} zugestellt."},
    {"delivery_planned", "Die Zustellung von {S} ist für den {D} geplant."},
    {"delivery_eta", "{S} kommt voraussichtlich am {D} an; die Zustellzeit bestätigen wir noch."},
    {"delivery_pending", "Wir organisieren die Zustellung von {S} und bestätigen die Uhrzeit in Kürze."},
    {"awaiting", "Zur Information: Für {S} fehlen uns noch {X}."},
    {"working_on", "Außerdem arbeiten wir an: {X}."},
    {"d.invoice", "die Handelsrechnung"}, {"d.packing_list", "die Packliste"},
    {"d.bill_of_lading", "das Konnossement"}, {"d.certificate_of_origin", "das Ursprungszeugnis"},
    {"d.customs_declaration", "die Zollanmeldung"}, {"d.delivery_order", "den Auslieferungsauftrag"},
    {"d.shipping_instructions", "die Verschiffungsanweisungen"}, {"d.arrival_notice", "die Ankunftsmeldung"},
    {"d.insurance_certificate", "das Versicherungszertifikat"}, {"d.msds", "das Sicherheitsdatenblatt (MSDS)"},
};

const Table kFrench = {
    {"and", "et"},
    {"your_shipment", "votre envoi"},
    {"container", "le conteneur"}, {"bl", "le B/L"}, {"awb", "la LTA"}, {"booking", "la réservation"},
    {"dear", "Bonjour {N},"}, {"dear_anon", "Madame, Monsieur,"},
    {"hi", "Bonjour {N},"}, {"hi_anon", "Bonjour,"},
    {"chat_hi", "Bonjour {N}, "}, {"chat_hi_anon", "Bonjour, "},
    {"closing_professional", "Cordialement,"}, {"closing_friendly", "Merci,"},
    {"closing_formal", "Veuillez agréer nos salutations distinguées,"},
    {"thanks", "Merci pour votre message."},
    {"checking", "Nous vérifions la situation et revenons vers vous rapidement."},
    {"m.booked", "{S} a été réservé"}, {"m.picked_up", "{S} a été enlevé"},
    {"m.gate_in", "{S} est entré au terminal"}, {"m.loaded", "{S} a été chargé"},
    {"m.departed", "{S} est parti"}, {"m.transshipped", "{S} a été transbordé"},
    {"m.arrived", "{S} est arrivé"}, {"m.customs_cleared", "{S} a été dédouané"},
    {"m.delivered", "{S} a été livré"},
    {"at_place", " à {L}"}, {"on_date", " le {D}"},
    {"s.planned", "{S} est planifié"}, {"s.booked", "{S} est réservé"}, {"s.other", "{S} est en cours"},
    {"departure_scheduled", ", départ prévu le {D}"},
    {"expected", " et son arrivée est prévue"}, {"expected_at", " à {T}"},
    {"delay_moved", "Veuillez noter que l'arrivée prévue de {S} est décalée au {D} (auparavant {P})."},
    {"delay", "Veuillez noter que {S} est retardé. Nous sommes en contact avec le transporteur et vous confirmerons le nouveau planning dès que possible."},
    {"ask_docs", "Pourriez-vous nous envoyer {X}{F} ?"},
    {"for", " pour {S}"},
    {"shipping_documents", "les documents d'expédition"}, {"requested_documents", "les documents demandés"},
    {"send_docs", "Nous vous enverrons {X}{F} rapidement."},
    {"docs_received", "Merci pour l'envoi des documents{F}. Nous les avons reçus et allons les vérifier."},
    {"lane", " de {O} à {T}"},
    {"rate", "Merci pour votre demande de tarif{X}. Nous consultons nos transporteurs et vous enverrons nos meilleurs tarifs rapidement."},
    {"booking_confirmed", "Votre réservation {B} est confirmée."},
    {"booking_thanks", "Merci pour votre demande de réservation. Nous vous confirmerons les détails rapidement."},
    {"complaint", "Nous sommes désolés pour le désagrément concernant {S}. Nous traitons le sujet en priorité et revenons vers vous rapidement."},
    {"invoice", "Merci pour votre question sur la facture{F}. Notre service comptable l'examine et reviendra vers vous rapidement."},
    {"customs_done", "{S} a été dédouané le {D}."},
    {"customs_pending", "Nous suivons le dédouanement de {S} et vous informerons dès qu'il sera terminé."},
    {"pickup_done", "{S} a été enlevé le {D}."},
    {"pickup_planned", "L'enlèvement de {S} est prévu le {D}."},
    {"pickup_pending", "Nous organisons l'enlèvement de {S} et vous confirmerons l'horaire rapidement."},
    {"delivery_done", "{S} a été livré le {D}."},
    {"delivery_planned", "La livraison de {S} est prévue le {D}."},
    {"delivery_eta", "L'arrivée de {S} est prévue le {D} ; nous vous confirmerons l'heure de livraison."},
    {"delivery_pending", "Nous organisons la livraison de {S} et vous confirmerons l'horaire rapidement."},
    {"awaiting", "Pour information, nous attendons encore {X} pour {S}."},
    {"working_on", "Nous travaillons également sur : {X}."},
    {"d.invoice", "la facture commerciale"}, {"d.packing_list", "la liste de colisage"},
    {"d.bill_of_lading", "le connaissement"}, {"d.certificate_of_origin", "le certificat d'origine"},
    {"d.customs_declaration", "la déclaration en douane"}, {"d.delivery_order", "le bon de livraison"},
    {"d.shipping_instructions", "les instructions d'expédition"}, {"d.arrival_notice", "l'avis d'arrivée"},
    {"d.insurance_certificate", "le certificat d'assurance"}, {"d.msds", "la fiche de données de sécurité (MSDS)"},
};
// clang-format on

const Table* table(std::string_view code) {
  if (code == "es") return &kSpanish;
  if (code == "de") return &kGerman;
  if (code == "fr") return &kFrench;
  if (code == "en") return &kEnglish;
  return nullptr;
}

}  // namespace

bool Phrases::has(std::string_view code) { return table(code) != nullptr; }

const Phrases& Phrases::for_language(std::string_view code) {
  static const Phrases en("en"), es("es"), de("de"), fr("fr");
  if (code == "es") return es;
  if (code == "de") return de;
  if (code == "fr") return fr;
  return en;
}

std::string Phrases::t(std::string_view key,
                       std::initializer_list<std::pair<char, std::string>> args) const {
  const Table& tab = *table(code_);
  auto it = tab.find(key);
  if (it == tab.end()) it = kEnglish.find(key);
  if (it == kEnglish.end()) return std::string(key);
  const std::string& fmt = it->second;
  std::string out;
  out.reserve(fmt.size() + 32);
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] == '{' && i + 2 < fmt.size() && fmt[i + 2] == '}') {
      bool done = false;
      for (const auto& [k, v] : args)
        if (k == fmt[i + 1]) {
          out += v;
          done = true;
          break;
        }
      if (done) {
        i += 2;
        continue;
      }
    }
    out += fmt[i];
  }
  return out;
}

std::string Phrases::join(const std::vector<std::string>& v) const {
  std::string out;
  std::string and_word = " " + t("and") + " ";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += i + 1 == v.size() ? and_word : ", ";
    out += v[i];
  }
  return out;
}

std::string Phrases::document(std::string_view kind) const {
  std::string key = "d." + std::string(kind == "commercial_invoice" ? "invoice" : kind);
  std::string s = t(key);
  if (s == key) {  // a kind without a name: its words
    s = std::string(kind);
    for (auto& c : s)
      if (c == '_') c = ' ';
  }
  return s;
}

}  // namespace banxway::compose
