/**
 * The choices of `--compress auto`, record by record, on a clock and a
 * stall count the test drives: it compresses when the network holds the
 * sender up and compressed records go faster, never when nothing waits,
 * gives up on a trial that does not pay and waits longer each time, and
 * tries data that does not shrink only now and then. The records are
 * really compressed; only the time is the test's.
 *
 * @module
 */

import assert from "node:assert/strict";
import { FrameType } from "../protocol.ts";
import {
  Compressor,
  MIN_COMPRESS_BYTES,
  WINDOW_BYTES,
} from "../lib/transfer/compression.ts";

const MiB = 1024 * 1024;
const encoder = new TextEncoder();

/** A record of text, which compresses well. */
const TEXT = (() => {
  const bytes = new Uint8Array(MiB);
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const line = encoder.encode(`${i} GET /items/${i * 7919 % 10007} 200\n`);
    bytes.set(line.subarray(0, bytes.length - at), at);
    at += line.length;
  }
  return bytes;
})();

/** A record of noise, which does not. */
const NOISE = (() => {
  const bytes = new Uint8Array(MiB);
  for (let at = 0; at < MiB; at += 65536) {
    crypto.getRandomValues(bytes.subarray(at, at + 65536));
  }
  return bytes;
})();

/**
 * How long a record takes to go, in ms, and how much of that the writes
 * wait for the network, by whether it went compressed.
 */
interface Link {
  raw: { ms: number; stall: number };
  compressed: { ms: number; stall: number };
}

/** Packs `count` records through a compressor on `link`; counts them. */
function run(
  mode: "auto" | "on" | "off",
  link: Link,
  count: number,
  record: (index: number) => Uint8Array = () => TEXT,
) {
  let now = 0;
  let stalled = 0;
  const compressor = new Compressor(mode, () => stalled, () => now);
  const kinds: ("raw" | "compressed")[] = [];
  for (let i = 0; i < count; i++) {
    const packed = compressor.pack(record(i));
    const kind = packed.type === FrameType.Compressed ? "compressed" : "raw";
    kinds.push(kind);
    now += link[kind].ms;
    stalled += link[kind].stall;
  }
  const compressed = kinds.filter((kind) => kind === "compressed").length;
  return { kinds, compressed, tried: compressor.tried };
}

/** Records in a window. */
const WINDOW = WINDOW_BYTES / MiB;

/** 1 Gbit/s: a raw MiB takes 9 ms, most of it waiting; compressed, 3 ms. */
const SLOW_LINK: Link = {
  raw: { ms: 9, stall: 7 },
  compressed: { ms: 3, stall: 0 },
};

Deno.test("auto compresses when the network holds the sender up and compression pays", () => {
  const { kinds, compressed } = run("auto", SLOW_LINK, 20 * WINDOW);
  // One window to measure, one to try, then compressed for good.
  assert.ok(kinds.slice(0, WINDOW).every((kind) => kind === "raw"));
  assert.ok(kinds.slice(2 * WINDOW).every((kind) => kind === "compressed"));
  assert.ok(compressed >= 18 * WINDOW, `${compressed}`);
});

Deno.test("auto never compresses when the writes never wait", () => {
  const fast: Link = {
    raw: { ms: 4, stall: 0 },
    compressed: { ms: 2, stall: 0 },
  };
  const { compressed, tried } = run("auto", fast, 40 * WINDOW);
  assert.equal(tried, 0);
  assert.equal(compressed, 0);
});

Deno.test("auto gives up a trial that does not pay, and waits longer each time", () => {
  // The receiver, not the network, holds the sender up: compressing only
  // adds work.
  const receiverBound: Link = {
    raw: { ms: 5, stall: 3 },
    compressed: { ms: 6, stall: 1 },
  };
  const windows = 128;
  const { kinds } = run("auto", receiverBound, windows * WINDOW);
  const trials: number[] = [];
  for (let w = 0; w < windows; w++) {
    if (kinds[w * WINDOW] === "compressed") trials.push(w);
  }
  // Windows 1, 3, 7, 15, 31, 63, 127 at most: the waits double.
  assert.ok(trials.length >= 2 && trials.length <= 7, `${trials}`);
  const gaps = trials.slice(1).map((w, i) => w - trials[i]);
  for (let i = 1; i < gaps.length; i++) assert.ok(gaps[i] > gaps[i - 1]);
});

Deno.test("auto tries data that does not shrink only now and then", () => {
  const records = 600;
  const { compressed, tried } = run("auto", SLOW_LINK, records, () => NOISE);
  assert.equal(compressed, 0);
  // Skips of 1, 2, 4 ... 64 MiB between tries, and a window to measure.
  assert.ok(tried >= 3 && tried <= 14, `${tried} tries in ${records} MiB`);
});

Deno.test("auto compresses the text of mixed data and skips its noise", () => {
  // 48 MiB of text, 48 of noise, in turn.
  const { kinds, tried } = run(
    "auto",
    SLOW_LINK,
    384,
    (i) => Math.floor(i / 48) % 2 === 0 ? TEXT : NOISE,
  );
  const textCompressed =
    kinds.filter((kind, i) =>
      kind === "compressed" && Math.floor(i / 48) % 2 === 0
    ).length;
  assert.ok(textCompressed > 96, `${textCompressed} of 192 text records`);
  assert.ok(tried < 300, `${tried}`);
});

Deno.test("on compresses every record that shrinks, off none, and small records never", () => {
  const on = run("on", SLOW_LINK, 40, (i) => i % 2 ? TEXT : NOISE);
  assert.equal(on.tried, 40);
  assert.equal(on.compressed, 20);
  assert.equal(run("off", SLOW_LINK, 40).tried, 0);
  const small = run(
    "on",
    SLOW_LINK,
    40,
    () => TEXT.subarray(0, MIN_COMPRESS_BYTES - 1),
  );
  assert.equal(small.tried, 0);
  assert.equal(run("on", SLOW_LINK, 1, () => TEXT.subarray(0, 4096)).tried, 1);
});
