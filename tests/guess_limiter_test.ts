import assert from "node:assert/strict";
import { type Attempt, GuessLimiter, sourceKey } from "../lib/guess_limiter.ts";
import { sleep } from "./helpers.ts";

/**
 * The attempt `begun` resolves to, which must come before any timer can
 * fire: an attempt that goes ahead at once, whatever the machine's speed
 * (its `waitedMs` counts the time the test took to get there, too).
 */
async function atOnce(begun: Promise<Attempt>, why: string): Promise<Attempt> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), 0);
  });
  try {
    const attempt = await Promise.race([begun, late]);
    assert.ok(attempt !== null, why);
    assert.equal(attempt.penaltyMs, 0, why);
    return attempt;
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("delays double per failure up to the cap", () => {
  const limiter = new GuessLimiter({ baseDelayMs: 500 });
  assert.deepEqual(
    [0, 1, 2, 3, 6, 40].map((failures) => limiter.delayFor(failures)),
    [0, 500, 1000, 2000, 16_000, 20_000],
  );
});

Deno.test("a source without failures runs a few attempts at once, then queues", async () => {
  const limiter = new GuessLimiter({ baseDelayMs: 50, parallel: 2 });
  const order: string[] = [];
  const first = await limiter.begin("10.0.0.1");
  const second = await atOnce(
    limiter.begin("10.0.0.1"),
    "the second runs beside the first",
  );
  const third = limiter.begin("10.0.0.1").then((attempt) => {
    order.push("third");
    return attempt;
  });
  const other = await atOnce(
    limiter.begin("10.0.0.2"),
    "another source is not held back",
  );
  other.finish("success");
  await sleep(20);
  assert.deepEqual(order, [], "the third waits for a free place");
  first.finish("success");
  const attempt = await atOnce(third, "no failure, so no delay");
  assert.deepEqual(order, ["third"]);
  second.finish("success");
  attempt.finish("success");
});

Deno.test("after a failure, attempts from that source go one at a time", async () => {
  const limiter = new GuessLimiter({ baseDelayMs: 30, parallel: 4 });
  const guesses = await Promise.all(
    [1, 2, 3, 4].map(() => limiter.begin("10.0.0.3")),
  );
  guesses[0].finish("failure");
  const order: string[] = [];
  // The three still running are not stopped; new ones now queue.
  const next = [1, 2].map((n) =>
    limiter.begin("10.0.0.3").then((attempt) => {
      order.push(`next ${n}`);
      return attempt;
    })
  );
  await sleep(60);
  guesses[1].finish("failure");
  guesses[2].finish("failure");
  await sleep(60);
  assert.deepEqual(order, [], "three others still under way: no room");
  guesses[3].finish("failure");
  const first = await next[0];
  assert.ok(first.penaltyMs > 0, "it waited for the delay its failures owe");
  await sleep(20);
  assert.deepEqual(order, ["next 1"], "one at a time");
  first.finish("failure");
  (await next[1]).finish("success");
  assert.deepEqual(order, ["next 1", "next 2"]);
});

Deno.test("each failure makes the next attempt wait longer", async () => {
  const limiter = new GuessLimiter({ baseDelayMs: 60 });
  assert.equal((await limiter.begin("a")).finish("failure"), 60);
  const second = await limiter.begin("a");
  assert.ok(second.waitedMs >= 50, `waited ${second.waitedMs}`);
  assert.equal(second.finish("failure"), 120);
  const third = await limiter.begin("a");
  assert.ok(third.waitedMs >= 110, `waited ${third.waitedMs}`);
  assert.equal(third.finish("success"), 0);
  const fourth = await atOnce(
    limiter.begin("a"),
    "a success clears the record",
  );
  fourth.finish("success");
});

Deno.test("an abandoned attempt does not count as a failure", async () => {
  const limiter = new GuessLimiter({ baseDelayMs: 10_000 });
  assert.equal((await limiter.begin("a")).finish("abandoned"), 0);
  const next = await atOnce(limiter.begin("a"), "not held back");
  next.finish("success");
});

Deno.test("old failures are forgotten", async () => {
  const limiter = new GuessLimiter({ baseDelayMs: 10_000, forgetAfterMs: 20 });
  (await limiter.begin("a")).finish("failure");
  await sleep(40);
  const attempt = await atOnce(limiter.begin("a"), "not held back");
  attempt.finish("success");
});

Deno.test("IPv6 sources are grouped by /64", () => {
  assert.equal(sourceKey("192.0.2.7"), "192.0.2.7");
  assert.equal(sourceKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  assert.equal(
    sourceKey("2001:0db8:0001:0002:bbbb:cccc:dddd:eeee"),
    "2001:db8:1:2::/64",
  );
  assert.equal(sourceKey("2001:db8::1"), "2001:db8:0:0::/64");
  assert.equal(sourceKey("::1"), "0:0:0:0::/64");
  assert.equal(sourceKey("::ffff:192.0.2.7"), "192.0.2.7");
  assert.notEqual(sourceKey("::ffff:192.0.2.7"), sourceKey("::ffff:192.0.2.8"));
});
