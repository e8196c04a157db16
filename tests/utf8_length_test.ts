import assert from "node:assert/strict";
import { utf8ByteLength } from "../lib/protocol/text.ts";

const encoder = new TextEncoder();

Deno.test("utf8ByteLength counts what TextEncoder makes, lone surrogates as U+FFFD", () => {
  const samples = [
    "",
    "a",
    "plain/ascii/path.txt",
    "\u007f\u0080\u07ff\u0800\uffff",
    "caf\u00e9/\u00fcber/\u65e5\u672c\u8a9e",
    "\u{1f600}\u{10ffff}\u{10000}",
    "\ud800",
    "\udc00",
    "x\ud800y",
    "\ud800\ud800\udc00",
    "\udc00\ud800",
    "end\ud83d",
  ];
  // Every code unit on its own and in pairs, across the boundaries that
  // change the byte count.
  const units = [
    0,
    0x7f,
    0x80,
    0x7ff,
    0x800,
    0xd7ff,
    0xd800,
    0xdbff,
    0xdc00,
    0xdfff,
    0xe000,
    0xffff,
  ];
  for (const a of units) {
    for (const b of units) samples.push(String.fromCharCode(a, b));
  }
  for (const sample of samples) {
    assert.equal(
      utf8ByteLength(sample),
      encoder.encode(sample).length,
      JSON.stringify(sample),
    );
  }
});
