/**
 * Untrusted text made safe to show: escaped control and format characters,
 * quoting, and free text cut to the length a peer accepts.
 *
 * @module
 */

import { MAX_MESSAGE_CHARS } from "./constants.ts";

// What is never shown raw: the controls (C0, DEL, C1), the line and
// paragraph separators, and every format character (\p{Cf}): bidi controls
// such as U+202E, which show "invoice\u202Efdp.exe" as "invoiceexe.pdf",
// and zero-width ones such as U+200B, which make two names look alike. Names may hold them (they are legitimate in Arabic,
// Hebrew, Indic and emoji names), so only their display is escaped.
const DISPLAY_ESCAPED = /[\p{Cc}\p{Cf}\u2028\u2029]/gu;

/**
 * The number of bytes `TextEncoder` would make of `value` (a lone
 * surrogate counts as the three bytes of U+FFFD), without making them: the
 * paths of a manifest are measured by the hundred thousand, and each
 * encoded copy was a native allocation held until a collection.
 */
export function utf8ByteLength(value: string): number {
  let bytes = value.length;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) {
      bytes += 1;
    } else if (
      unit >= 0xd800 && unit <= 0xdbff && i + 1 < value.length &&
      (value.charCodeAt(i + 1) & 0xfc00) === 0xdc00
    ) {
      // A surrogate pair: two units, four bytes.
      bytes += 2;
      i++;
    } else {
      bytes += 2;
    }
  }
  return bytes;
}

/**
 * Makes untrusted text safe to print on one line: every control character,
 * line or paragraph separator and format character (bidi controls,
 * zero-width characters) becomes a `\uXXXX` escape, one per UTF-16 unit as
 * in JSON, so that a peer or a file name cannot drive the terminal, forge
 * log lines or disguise a name.
 */
export function sanitize(value: string): string {
  return value.replace(DISPLAY_ESCAPED, (c) => {
    let escaped = "";
    for (let i = 0; i < c.length; i++) {
      escaped += `\\u${c.charCodeAt(i).toString(16).padStart(4, "0")}`;
    }
    return escaped;
  });
}

/**
 * Cuts free text to {@link MAX_MESSAGE_CHARS}, which the peer enforces;
 * operating-system errors can quote paths of up to 4 KiB.
 */
export function clipMessage(message: string): string {
  if (message.length <= MAX_MESSAGE_CHARS) return message;
  let end = MAX_MESSAGE_CHARS - 1;
  const last = message.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--; // keep surrogate pairs whole
  return message.slice(0, end) + "…";
}

/** Shows an untrusted name safely in a one-line message, in quotes. */
export function quote(value: string): string {
  const shown = value.length > 80 ? value.slice(0, 80) + "…" : value;
  return `"${sanitize(shown).replaceAll('"', '\\"')}"`;
}
