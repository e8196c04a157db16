/**
 * What each manifest entry costs to hold, on both sides, against bounds
 * that the compact lists meet with room to spare and that an object or a
 * map entry per entry would break. Measured after full collections in a
 * process of its own (tests/entry_memory.ts), not by timing or by RSS,
 * which a loaded machine's lagging collector would blur.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ROOT } from "./helpers.ts";

/** Entries in the manifest measured. */
const ENTRIES = 100_000;

/** Runs tests/entry_memory.ts for `side`; resolves to bytes per entry. */
async function bytesPerEntry(side: "receiver" | "sender"): Promise<number> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      `${ROOT}tests/entry_memory.ts`,
      side,
      String(ENTRIES),
    ],
    stdin: "null",
    cwd: ROOT,
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  const measured = JSON.parse(stdout).bytesPerEntry;
  console.log(`${side}: ${measured} bytes per entry of ${ENTRIES}`);
  return measured;
}

// Measured with Deno 2.9.6: 184 bytes per entry (94 bytes of JSON each);
// 278 while the receiver kept an object per entry.
Deno.test("a receiving session holds a manifest of 100,000 entries in under 240 bytes each", async () => {
  const measured = await bytesPerEntry("receiver");
  assert.ok(measured < 240, `${measured} bytes per entry`);
});

// Measured with Deno 2.9.6: 159 bytes per entry; 715 with objects, maps
// of paths and hex strings per entry.
Deno.test("a sender's 100,000 entries, decisions and confirmed run hold under 250 bytes each", async () => {
  const measured = await bytesPerEntry("sender");
  assert.ok(measured < 250, `${measured} bytes per entry`);
});
