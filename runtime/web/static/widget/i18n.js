// Every string of the widget, in English and German. A missing German string shows
// in English.
import { translator } from "../lib/i18n.js";

const en = {
  "frame.close": "Close the chat", "compose.label": "Message", "compose.placeholder": "Type a message…", "compose.send": "Send",
  "compose.attach": "Attach a file", "compose.file": "File",
  "form.name": "Name", "form.email": "Email", "form.emailRequired": "Email (required)", "form.message": "Your message",
  "form.leave": "Leave a message", "form.needEmail": "Please give your email address, so that we can answer you.",
  "offline.default": "We are offline right now. Leave a message and we will get back to you.",
  "offline.sent": "Thank you! We got your message and will get back to you.",
  "status.waiting": "Waiting for an operator…", "status.position": "You are number {n} in the queue…",
  "status.with": "{name} is here to help", "status.closed": "This chat has ended. Write to start a new one.",
  "status.missed": "We are offline right now. Leave your message and we will get back to you.",
  "status.reconnecting": "Connection lost: reconnecting…",
  "typing": "{name} is typing…", "typing.someone": "Someone is typing…",
  "rate.question": "How was your chat?", "rate.up": "Good", "rate.down": "Bad", "rate.stars": "{n} of 5",
  "rate.feedback": "Anything you want to tell us?", "rate.send": "Send", "rate.thanks": "Thank you for your feedback!",
  "file.image": "picture", "file.failed": "The file could not be sent: {error}", "you": "You",
};

const de = {
  "frame.close": "Chat schließen", "compose.label": "Nachricht", "compose.placeholder": "Nachricht schreiben…", "compose.send": "Senden",
  "compose.attach": "Datei anhängen", "compose.file": "Datei",
  "form.name": "Name", "form.email": "E-Mail", "form.emailRequired": "E-Mail (erforderlich)", "form.message": "Ihre Nachricht",
  "form.leave": "Nachricht hinterlassen", "form.needEmail": "Bitte geben Sie Ihre E-Mail-Adresse an, damit wir antworten können.",
  "offline.default": "Wir sind gerade nicht erreichbar. Hinterlassen Sie eine Nachricht, wir melden uns.",
  "offline.sent": "Danke! Wir haben Ihre Nachricht erhalten und melden uns.",
  "status.waiting": "Warte auf einen Mitarbeiter…", "status.position": "Sie sind Nummer {n} in der Warteschlange…",
  "status.with": "{name} hilft Ihnen", "status.closed": "Dieser Chat ist beendet. Schreiben Sie, um einen neuen zu beginnen.",
  "status.missed": "Wir sind gerade nicht erreichbar. Hinterlassen Sie Ihre Nachricht, wir melden uns.",
  "status.reconnecting": "Verbindung unterbrochen: verbinde neu…",
  "typing": "{name} schreibt…", "typing.someone": "Jemand schreibt…",
  "rate.question": "Wie war Ihr Chat?", "rate.up": "Gut", "rate.down": "Schlecht", "rate.stars": "{n} von 5",
  "rate.feedback": "Möchten Sie uns noch etwas sagen?", "rate.send": "Senden", "rate.thanks": "Danke für Ihre Rückmeldung!",
  "file.image": "Bild", "file.failed": "Die Datei konnte nicht gesendet werden: {error}", "you": "Sie",
};

export const { t, lang, apply } = translator({ en, de });
