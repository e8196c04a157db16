/**
 * The line editor of the code prompt, apart from the terminal: it takes
 * typed characters one at a time and says what to echo. The code is shown
 * as typed (it is good for one transfer, not a password one reuses);
 * Backspace, Ctrl-U (the whole line) and Ctrl-W (the last word) erase,
 * Tab completes a word of the list, and escape sequences such as the
 * arrow keys are swallowed whole instead of landing in the code.
 *
 * @module
 */

import { WORDS } from "../secure/wordlist.ts";
import { sanitize } from "../protocol/text.ts";
import { displayWidth } from "./text_width.ts";

/** Words a generated code has after its number. */
const CODE_WORDS = 3;

/** Candidates shown at most when Tab finds several. */
const SHOWN_CANDIDATES = 12;

/** What a key did: what to echo, and whether the line ended. */
export interface Step {
  /** Text for the terminal (raw mode: `\r\n` for a new line). */
  echo: string;
  /** Enter, Ctrl-C, or Ctrl-D on an empty line. */
  done?: "enter" | "interrupt" | "end";
}

/** What Tab does to `text`. */
export interface Completion {
  /** The text after completion (the same when nothing could be done). */
  text: string;
  /** The words the last one could become, when it could be several. */
  candidates: string[];
}

/** The longest start that all of `words` share. */
function commonStart(words: readonly string[]): string {
  let start = words[0] ?? "";
  for (const word of words) {
    while (!word.startsWith(start)) start = start.slice(0, -1);
  }
  return start;
}

/**
 * Completes the last word of a generated code being typed ("4071-ap" has
 * "apple", "apricot" and "apron" as candidates; "4071-appl" becomes
 * "4071-apple-"), and puts a "-" after the number. No word of the list is
 * the start of another, so a unique completion is a whole word. A custom
 * code (not a number first) is left alone.
 */
export function complete(text: string): Completion {
  if (/^\s*\d+$/.test(text)) return { text: `${text}-`, candidates: [] };
  const match = /^(\s*\d+[\s-]+(?:[^\s-]+[\s-]+)*)([^\s-]*)$/.exec(text);
  if (match === null) return { text, candidates: [] };
  const [, before, partial] = match;
  const done = before.split(/[\s-]+/).filter((part) => part !== "").length -
    1;
  if (partial === "") return { text, candidates: [] };
  const prefix = partial.toLowerCase();
  const candidates = WORDS.filter((word) => word.startsWith(prefix));
  if (candidates.length === 0) return { text, candidates: [] };
  if (candidates.length === 1) {
    const more = done + 1 < CODE_WORDS ? "-" : "";
    return { text: `${before}${candidates[0]}${more}`, candidates: [] };
  }
  const start = commonStart(candidates);
  if (start.length > prefix.length) {
    return { text: `${before}${start}`, candidates: [] };
  }
  return { text, candidates };
}

/** The echo that erases `text`, which ends where the cursor is. */
function erase(text: string): string {
  const width = displayWidth(text);
  return "\b".repeat(width) + " ".repeat(width) + "\b".repeat(width);
}

/** The prompt's line: the characters typed so far, and what they echo. */
export class CodeEditor {
  /** Shown before the line, and again when it is drawn anew. */
  readonly prompt: string;
  #chars: string[] = [];
  /** Inside an escape sequence: after ESC, or after ESC [ or ESC O. */
  #escape: "" | "esc" | "sequence" = "";

  /** An empty line after `prompt`. */
  constructor(prompt: string) {
    this.prompt = prompt;
  }

  /** The line typed so far. */
  get text(): string {
    return this.#chars.join("");
  }

  /** The prompt and the line, as drawn on a fresh line. */
  draw(): string {
    return this.prompt + this.text;
  }

  /** Takes one typed character (a code point). */
  key(char: string): Step {
    if (this.#escape === "esc") {
      this.#escape = char === "[" || char === "O" ? "sequence" : "";
      return { echo: "" };
    }
    if (this.#escape === "sequence") {
      // Parameters and intermediates until the final byte, @ to ~.
      if (char >= "@" && char <= "~") this.#escape = "";
      return { echo: "" };
    }
    switch (char) {
      case "\r":
      case "\n":
        return { echo: "\r\n", done: "enter" };
      case "\x03":
        return { echo: "\r\n", done: "interrupt" };
      case "\x04":
        return this.#chars.length === 0
          ? { echo: "\r\n", done: "end" }
          : { echo: "" };
      case "\x1b":
        this.#escape = "esc";
        return { echo: "" };
      case "\x7f":
      case "\b":
        return { echo: erase(this.#chars.pop() ?? "") };
      case "\x15": {
        const echo = erase(this.text);
        this.#chars = [];
        return { echo };
      }
      case "\x17": {
        const before = this.text.replace(/[^\s-]*[\s-]*$/, "");
        return this.#replace(before);
      }
      case "\t":
        return this.#complete();
    }
    // Anything a terminal would act on, or that would hide in the code
    // (controls, bidi and zero-width characters), is dropped.
    if (char < " " || sanitize(char) !== char) return { echo: "" };
    this.#chars.push(char);
    return { echo: char };
  }

  #complete(): Step {
    const { text, candidates } = complete(this.text);
    if (candidates.length > 0) {
      const shown = candidates.slice(0, SHOWN_CANDIDATES).join("  ");
      const more = candidates.length > SHOWN_CANDIDATES ? "  ..." : "";
      return { echo: `\r\n${shown}${more}\r\n${this.draw()}` };
    }
    // The bell: nothing to complete.
    if (text === this.text) return { echo: "\x07" };
    return this.#replace(text);
  }

  /** Makes the line `text`, echoing only what changes at its end. */
  #replace(text: string): Step {
    const old = this.text;
    let same = 0;
    const oldChars = [...old];
    const newChars = [...text];
    while (
      same < oldChars.length && same < newChars.length &&
      oldChars[same] === newChars[same]
    ) same++;
    this.#chars = newChars;
    return {
      echo: erase(oldChars.slice(same).join("")) +
        newChars.slice(same).join(""),
    };
  }
}
