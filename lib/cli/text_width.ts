/**
 * How many terminal columns text takes, and cutting it to a number of
 * columns: wide (East Asian) characters take two, combining marks none.
 * Lines redrawn in place must never wrap, or the line above them is left
 * behind as a stale copy.
 *
 * @module
 */

/** Code point ranges a terminal shows two columns wide. */
const WIDE: readonly [number, number][] = [
  [0x1100, 0x115f],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe30, 0xfe4f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x1f300, 0x1f64f],
  [0x1f900, 0x1f9ff],
  [0x20000, 0x3fffd],
];

/** Columns one character takes. */
function charWidth(char: string): number {
  const code = char.codePointAt(0)!;
  if (/\p{Mn}|\p{Me}/u.test(char)) return 0;
  for (const [low, high] of WIDE) {
    if (code < low) break;
    if (code <= high) return 2;
  }
  return 1;
}

/** Columns `text` takes on a terminal. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const char of text) width += charWidth(char);
  return width;
}

/** The longest start of `chars` that fits in `width` columns. */
function head(chars: readonly string[], width: number): string {
  let used = 0;
  let end = 0;
  while (end < chars.length && used + charWidth(chars[end]) <= width) {
    used += charWidth(chars[end]);
    end++;
  }
  return chars.slice(0, end).join("");
}

/** The longest end of `chars` that fits in `width` columns. */
function tail(chars: readonly string[], width: number): string {
  let used = 0;
  let start = chars.length;
  while (start > 0 && used + charWidth(chars[start - 1]) <= width) {
    used += charWidth(chars[start - 1]);
    start--;
  }
  return chars.slice(start).join("");
}

/** `text` cut at its end to at most `width` columns. */
export function cutEnd(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  return head([...text], Math.max(0, width));
}

/**
 * `text` at most `width` columns wide, with its middle replaced by `…`
 * when it is wider: the start and the end of a path usually tell two
 * files apart (the folder, the name and its extension), the middle less.
 */
export function cutMiddle(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  if (width <= 1) return cutEnd(text, width);
  const chars = [...text];
  // The end gets the larger half: it holds the name and its extension.
  const start = head(chars, Math.floor((width - 1) * 2 / 5));
  const end = tail(chars, width - 1 - displayWidth(start));
  return `${start}…${end}`;
}
