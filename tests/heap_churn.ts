/**
 * A process that makes garbage the way a long session of small files does
 * (objects that outlive the young generation and then die), in 1 MiB
 * steps, with the heap bound of lib/common/heap_bound.ts running:
 *
 *     deno run tests/heap_churn.ts check STEPS
 *     deno run tests/heap_churn.ts timer
 *
 * `check`: asks a bound of 2 MiB of headroom after every step, without
 * its time share, and prints the most the old generation held before a
 * check, what it held at the start and the collections. `timer`: a bound
 * with 2 MiB of headroom, steps with a pause between them until its own
 * watch has collected once (30 s at most); prints the collections. Used by
 * tests/heap_bound_test.ts.
 *
 * @module
 */

import { boundHeap } from "../lib/common/heap_bound.ts";

const MiB = 1024 * 1024;

/** Held for the whole run: what a session keeps live. */
const live: number[][] = [];
for (let i = 0; i < 2; i++) live.push(new Array(2 * MiB / 8).fill(0.5));

// A 1 MiB array goes straight to the old generation's large objects, so
// each step's garbage reaches the old generation without timing.
let slot: number[] = [];
function step(): void {
  slot = new Array(MiB / 8).fill(Math.random());
}

const [mode, steps] = Deno.args;
if (mode === "check") {
  const bound = await boundHeap({ oldHeadroomBytes: 2 * MiB, maxTimeShare: 1 });
  if (bound === null) throw new Error("No heap bound in this runtime");
  bound.stop();
  const startBytes = bound.figures().oldBytes;
  let maxOldBytes = 0;
  for (let i = 0; i < Number(steps); i++) {
    step();
    maxOldBytes = Math.max(maxOldBytes, bound.figures().oldBytes);
    bound.check();
  }
  console.log(JSON.stringify({
    startBytes,
    maxOldBytes,
    collections: bound.collections,
    held: live.length + slot.length,
  }));
} else {
  const bound = await boundHeap({ oldHeadroomBytes: 2 * MiB });
  if (bound === null) throw new Error("No heap bound in this runtime");
  const deadline = performance.now() + 30_000;
  while (bound.collections === 0 && performance.now() < deadline) {
    step();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  console.log(JSON.stringify({ collections: bound.collections }));
}
