/**
 * The heap bound of lib/common/heap_bound.ts: its policy on figures given
 * to it, and in a process of its own (tests/heap_churn.ts) that the
 * collections it asks for keep the old generation within the headroom and
 * that its watch runs on its own without keeping the process alive.
 *
 * @module
 */

import assert from "node:assert/strict";
import { HeapPolicy } from "../lib/common/heap_bound.ts";
import { ROOT } from "./helpers.ts";

const MiB = 1024 * 1024;

/** Runs tests/heap_churn.ts with `args`; resolves to what it printed. */
async function churn(...args: string[]): Promise<Record<string, number>> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", `${ROOT}tests/heap_churn.ts`, ...args],
    stdin: "null",
    cwd: ROOT,
    // A watch that kept the process alive would hang the test otherwise.
    signal: AbortSignal.timeout(60_000),
  }).output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

Deno.test("the heap policy collects past the headroom or the young limit, and keeps to its time share", () => {
  const policy = new HeapPolicy(20 * MiB, {
    oldHeadroomBytes: 8 * MiB,
    youngLimitBytes: 16 * MiB,
    maxTimeShare: 0.05,
  });
  const young = 8 * MiB;
  assert.equal(policy.due(0, { youngBytes: young, oldBytes: 28 * MiB }), false);
  assert.equal(policy.due(0, { youngBytes: young, oldBytes: 29 * MiB }), true);
  assert.equal(
    policy.due(0, { youngBytes: 17 * MiB, oldBytes: 20 * MiB }),
    true,
  );
  // A collection of 30 ms ending at 1,000 ms buys 570 ms of quiet.
  policy.collected(1_000, 30, 40 * MiB);
  const over = { youngBytes: 32 * MiB, oldBytes: 90 * MiB };
  assert.equal(policy.due(1_569, over), false);
  assert.equal(policy.due(1_570, over), true);
  // A quarter of what is live, when more than the headroom: 40 + 10 MiB.
  assert.equal(
    policy.due(2_000, { youngBytes: young, oldBytes: 50 * MiB }),
    false,
  );
  assert.equal(
    policy.due(2_000, { youngBytes: young, oldBytes: 51 * MiB }),
    true,
  );
});

Deno.test("the heap policy's line follows what is live down, after V8's own collections", () => {
  const policy = new HeapPolicy(40 * MiB, {
    oldHeadroomBytes: 2 * MiB,
    maxTimeShare: 1,
  });
  const young = 1 * MiB;
  // 40 MiB let go and collected by V8 itself: 4 MiB left.
  assert.equal(policy.due(0, { youngBytes: young, oldBytes: 4 * MiB }), false);
  assert.equal(policy.due(1, { youngBytes: young, oldBytes: 6 * MiB }), false);
  assert.equal(policy.due(2, { youngBytes: young, oldBytes: 7 * MiB }), true);
});

Deno.test("the heap policy refuses a time share outside (0, 1]", () => {
  for (const maxTimeShare of [0, -0.1, 1.5, NaN]) {
    assert.throws(() => new HeapPolicy(0, { maxTimeShare }), RangeError);
  }
});

// Measured with Deno 2.9.6: 64 MiB of garbage in 1 MiB steps, 32
// collections, the old generation at most 3.0 MiB over its start; 12.0 MiB
// with the collection taken out, where V8 collected on its own.
Deno.test("collections keep the old generation within the headroom of what is live", async () => {
  const steps = 64;
  const { startBytes, maxOldBytes, collections } = await churn(
    "check",
    String(steps),
  );
  const headroom = Math.max(2 * MiB, startBytes / 4);
  console.log(
    `${collections} collections; at most ${
      ((maxOldBytes - startBytes) / MiB).toFixed(1)
    } MiB over the start`,
  );
  // One step may land past the line before the check that follows it.
  assert.ok(
    maxOldBytes <= startBytes + headroom + 2 * MiB,
    `old generation reached ${maxOldBytes} bytes from ${startBytes}`,
  );
  assert.ok(collections >= 1, `${collections}`);
});

Deno.test("the bound's own watch collects, and lets the process end", async () => {
  const { collections } = await churn("timer");
  assert.ok(collections >= 1, `${collections}`);
});
