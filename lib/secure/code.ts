/**
 * Short, human-friendly secret codes such as "4071-apple-river-stone", which
 * the server shows and both sides feed to the PAKE.
 *
 * A generated code is a number from 0 to 9999 (written without leading zeros)
 * and three words from {@link WORDS}, joined by "-". Each part is drawn
 * uniformly with `crypto.getRandomValues`, which gives
 * {@link CODE_ENTROPY_BITS} bits.
 *
 * {@link normalizeCode} turns what a person typed into the exact text both
 * sides must use. Input that starts with digits and then a space or "-" (see
 * {@link isGeneratedForm}) is checked as a generated code and put in canonical
 * form. Any other input is a custom code chosen by the user (for example with
 * `--code`): it is only trimmed, and must be at least 6 characters long and
 * at least as strong as a generated code by {@link customCodeBits}.
 *
 * @module
 */

import { quote } from "../protocol/text.ts";
import { WORDS } from "./wordlist.ts";

/** How many numbers a code can start with: 0 to 9999. */
const NUMBER_COUNT = 10_000;

/** How many words follow the number. */
const WORD_COUNT = 3;

/** The fewest characters a custom code may have. */
const MIN_CUSTOM_LENGTH = 6;

/** The example shown when a code has the wrong shape. */
const FORMAT_MESSAGE = "Code must look like 4071-apple-river-stone";

const WORD_SET: ReadonlySet<string> = new Set(WORDS);

/**
 * The strength of a generated code in bits: log2 of the number of possible
 * codes, log2(10000) + 3 * log2(1024), about 43.3.
 */
export const CODE_ENTROPY_BITS: number = Math.log2(NUMBER_COUNT) +
  WORD_COUNT * Math.log2(WORDS.length);

/** Raised for a code that cannot be used, with a one-line message. */
export class CodeError extends Error {
  /** Creates the error with a one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "CodeError";
  }
}

/**
 * A new random code such as "4071-apple-river-stone": a number from 0 to 9999
 * without leading zeros and three words from {@link WORDS}, joined by "-".
 * Every part is drawn independently and uniformly.
 */
export function generateCode(): string {
  const parts = [String(randomBelow(NUMBER_COUNT))];
  for (let i = 0; i < WORD_COUNT; i++) {
    parts.push(WORDS[randomBelow(WORDS.length)]);
  }
  return parts.join("-");
}

/**
 * Whether `input` looks like a generated code and so is checked as one by
 * {@link normalizeCode}: after trimming, it starts with one or more digits
 * followed by a space or "-".
 */
export function isGeneratedForm(input: string): boolean {
  return /^[0-9]+[\s-]/.test(input.trim());
}

/**
 * The canonical form of a code typed by a person, to be used by both sides.
 *
 * Input that looks generated ({@link isGeneratedForm}) is trimmed and
 * lowercased, and its parts may be separated by spaces, "-" or runs of them:
 * "  4071 Apple  river-STONE " gives "4071-apple-river-stone". It must have a
 * number from 0 to 9999 (leading zeros are dropped) and three words from
 * {@link WORDS}. An unknown word is named in the error, with the list words
 * one typo away from it (one letter added, dropped or changed, or two
 * neighbouring letters swapped) as suggestions.
 *
 * Any other input is a custom code: it is returned trimmed but otherwise
 * unchanged, must be at least 6 characters long, and must be worth at least
 * {@link CODE_ENTROPY_BITS} by {@link customCodeBits}, since every guess of
 * a weaker one has better odds than a guess of a generated code.
 *
 * @throws {CodeError} if the code is too short or too weak, has the wrong
 * shape, has a number out of range or has a word not in the list.
 */
export function normalizeCode(input: string): string {
  const trimmed = input.trim();
  if (!isGeneratedForm(trimmed)) {
    if ([...trimmed].length < MIN_CUSTOM_LENGTH) {
      throw new CodeError(
        `Code is too short: use at least ${MIN_CUSTOM_LENGTH} characters`,
      );
    }
    const bits = customCodeBits(trimmed);
    if (bits < CODE_ENTROPY_BITS) {
      throw new CodeError(
        `Code is too weak (about ${
          Math.floor(bits)
        } bits; a generated code has ${
          Math.floor(CODE_ENTROPY_BITS)
        }): use a longer one, or leave it out and the server makes one up`,
      );
    }
    return trimmed;
  }
  const parts = trimmed.toLowerCase().split(/[\s-]+/).filter((part) =>
    part !== ""
  );
  if (parts.length !== 1 + WORD_COUNT) throw new CodeError(FORMAT_MESSAGE);
  const [digits, ...words] = parts;
  const number = Number(digits);
  if (number >= NUMBER_COUNT) {
    throw new CodeError(
      `Number ${quote(digits)} in code is out of range: use 0 to ${
        NUMBER_COUNT - 1
      }`,
    );
  }
  for (const word of words) {
    if (!WORD_SET.has(word)) throw unknownWord(word);
  }
  return [String(number), ...words].join("-");
}

/**
 * The LAN discovery tag of a code: its number part, for a code in the
 * canonical generated form that {@link normalizeCode} gives
 * ("4071-apple-river-stone" gives 4071), else null (a custom code, or
 * text not yet normalized). The tag is sent in the clear to everyone on
 * the LAN; the words, the secret part, never are.
 */
export function discoveryTag(code: string): number | null {
  const match = /^(0|[1-9][0-9]{0,3})-([a-z]+)-([a-z]+)-([a-z]+)$/.exec(code);
  if (match === null) return null;
  if (!match.slice(2).every((word) => WORD_SET.has(word))) return null;
  return Number(match[1]);
}

/**
 * Character classes and how many characters each is taken to hold (space
 * and punctuation make up the other printable ASCII): a custom code is
 * assumed drawn from all the classes it uses.
 */
const CHARACTER_CLASSES: readonly [RegExp, number][] = [
  [/[a-z]/, 26],
  [/[A-Z]/, 26],
  [/[0-9]/, 10],
  [/[ -/:-@[-`{-~]/, 33],
  [/[^\x20-\x7e]/, 100],
];

/**
 * A rough estimate, in bits, of how hard a custom code is to guess: its
 * counted length times log2 of the size of the character classes it uses
 * (a-z 26, A-Z 26, 0-9 10, other printable ASCII 33, anything else 100).
 * A code that is a shorter code repeated ("abcabc", "passpass") counts as
 * that shorter one, and a character that repeats the one before it or is
 * its neighbour in Unicode ("aa", "ab", "21") is not counted, so "123456",
 * "aaaaaaaa" and "abcdefgh" are worth next to nothing. It overrates codes
 * made of words or keyboard rows, which is why generated codes are better.
 */
export function customCodeBits(code: string): number {
  const chars = [...code];
  const period = chars.length - longestBorder(chars);
  let counted = 0;
  for (let i = 0; i < period; i++) {
    const step = i === 0
      ? Infinity
      : chars[i].codePointAt(0)! - chars[i - 1].codePointAt(0)!;
    if (Math.abs(step) > 1) counted++;
  }
  let pool = 0;
  for (const [pattern, size] of CHARACTER_CLASSES) {
    if (chars.some((char) => pattern.test(char))) pool += size;
  }
  return counted * Math.log2(Math.max(pool, 1));
}

/**
 * The length of the longest proper prefix of `chars` that is also its
 * suffix (Knuth-Morris-Pratt), in linear time: `chars` repeats its first
 * `chars.length` minus that many characters.
 */
function longestBorder(chars: string[]): number {
  const border = new Array<number>(chars.length).fill(0);
  for (let i = 1; i < chars.length; i++) {
    let k = border[i - 1];
    while (k > 0 && chars[i] !== chars[k]) k = border[k - 1];
    border[i] = chars[i] === chars[k] ? k + 1 : 0;
  }
  return border.at(-1) ?? 0;
}

/** A uniform random integer in [0, limit), for 1 <= limit <= 2 ** 32. */
function randomBelow(limit: number): number {
  // Rejection sampling: values at or above the largest multiple of `limit`
  // that fits in 32 bits are drawn again, so the remainder has no bias.
  const ceiling = Math.floor(2 ** 32 / limit) * limit;
  const buffer = new Uint32Array(1);
  while (true) {
    crypto.getRandomValues(buffer);
    if (buffer[0] < ceiling) return buffer[0] % limit;
  }
}

/** The error for a word that is not in the list, with suggestions if any. */
function unknownWord(word: string): CodeError {
  const message = `Unknown word ${quote(word)} in code`;
  const near = WORDS.filter((candidate) => isOneTypoAway(word, candidate));
  if (near.length === 0) return new CodeError(message);
  const shown = near.slice(0, 3).map((candidate) => `"${candidate}"`);
  const choices = shown.length === 1
    ? shown[0]
    : `${shown.slice(0, -1).join(", ")} or ${shown[shown.length - 1]}`;
  return new CodeError(`${message}: did you mean ${choices}?`);
}

/**
 * Whether `b` is `a` with one letter added, dropped or changed, or with two
 * neighbouring letters swapped.
 */
function isOneTypoAway(a: string, b: string): boolean {
  if (a === b) return false;
  if (a.length > b.length) [a, b] = [b, a];
  if (b.length - a.length > 1) return false;
  let start = 0;
  while (start < a.length && a[start] === b[start]) start++;
  if (a.length < b.length) return a.slice(start) === b.slice(start + 1);
  if (a.slice(start + 1) === b.slice(start + 1)) return true;
  return a[start] === b[start + 1] && a[start + 1] === b[start] &&
    a.slice(start + 2) === b.slice(start + 2);
}
