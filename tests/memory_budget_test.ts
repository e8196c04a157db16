import assert from "node:assert/strict";
import {
  MemoryBudget,
  SMALL_SESSION_BYTES,
  TINY_SESSION_BYTES,
} from "../lib/transfer/memory_budget.ts";
import { SetupClock, SetupTimeoutError } from "../lib/transfer/setup_clock.ts";

const MiB = 1024 * 1024;

Deno.test("a tiny session is granted even when the budget is taken", async () => {
  const budget = new MemoryBudget(64 * MiB);
  const big = budget.reserve();
  assert.ok(await big.grow(60 * MiB, 10));
  const tiny = budget.reserve();
  assert.ok(await tiny.grow(TINY_SESSION_BYTES, 10));
  assert.equal(
    budget.mainFree,
    64 * MiB - 8 * MiB - (60 * MiB - SMALL_SESSION_BYTES - TINY_SESSION_BYTES),
  );
  big.release();
  tiny.release();
  assert.equal(budget.mainFree, 56 * MiB);
});

Deno.test("one session grows in the main pool at a time, the next when it settles", async () => {
  const budget = new MemoryBudget(64 * MiB);
  const first = budget.reserve();
  const second = budget.reserve();
  assert.ok(await first.grow(10 * MiB, 10));
  let secondGrown = false;
  const growing = second.grow(10 * MiB, 1000).then((granted) => {
    secondGrown = granted;
    return granted;
  });
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(secondGrown, false, "waits for the first to settle");
  first.settle();
  assert.equal(await growing, true);
  first.release();
  second.release();
});

Deno.test("a session that finds no room in time is refused, and its share is unchanged", async () => {
  const budget = new MemoryBudget(64 * MiB);
  const holder = budget.reserve();
  assert.ok(await holder.grow(50 * MiB, 10));
  holder.settle();
  const late = budget.reserve();
  assert.equal(await late.grow(20 * MiB, 30), false);
  assert.equal(late.bytes, 0);
  // Too large for the whole pool: refused without waiting.
  assert.equal(await late.grow(200 * MiB, 60_000), false);
  holder.release();
  assert.ok(await late.grow(20 * MiB, 10));
  late.release();
  assert.equal(budget.mainFree, 56 * MiB);
});

Deno.test("room freed by a release lets the waiting session go on", async () => {
  const budget = new MemoryBudget(64 * MiB);
  const holder = budget.reserve();
  assert.ok(await holder.grow(50 * MiB, 10));
  holder.settle();
  const waiting = budget.reserve();
  const grown = waiting.grow(30 * MiB, 5000);
  setTimeout(() => holder.release(), 20);
  assert.equal(await grown, true);
  waiting.release();
});

Deno.test("the setup deadline counts waiting on the client, and what it exchanged", async () => {
  let closed = false;
  const meter = { waitedMs: 0, bytes: 0 };
  const clock = new SetupClock(meter, () => closed = true, {
    baseMs: 50,
    bytesPerMs: 1024,
    checkEveryMs: 5,
  });
  const work = Promise.withResolvers<void>();
  const watched = clock.watch(() => work.promise);
  // Within the allowance: 50 ms, plus 1 ms per KiB exchanged.
  meter.bytes = 100 * 1024;
  meter.waitedMs = 120;
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(closed, false);
  meter.waitedMs = 200;
  while (!closed) await new Promise((resolve) => setTimeout(resolve, 5));
  work.reject(new Error("the connection closed"));
  await assert.rejects(watched, SetupTimeoutError);
});
