import assert from "node:assert/strict";
import {
  type Attempt,
  GuessLimiter,
  GuessLimitError,
} from "../lib/secure/guess_limiter.ts";
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

Deno.test("each failure makes the next attempt wait longer, and a success erases none", async () => {
  const limiter = new GuessLimiter({ baseDelayMs: 60 });
  assert.equal((await limiter.begin("a")).finish("failure"), 60);
  const second = await limiter.begin("a");
  assert.ok(second.waitedMs >= 50, `waited ${second.waitedMs}`);
  assert.equal(second.heldBy, "a");
  assert.equal(second.finish("failure"), 120);
  const third = await limiter.begin("a");
  assert.ok(third.waitedMs >= 110, `waited ${third.waitedMs}`);
  // A client with the right code behind the same address must not hand
  // a guesser there a fresh allowance.
  assert.equal(third.finish("success"), 120);
  const fourth = limiter.begin("a");
  const fifth = limiter.begin("a");
  const order: string[] = [];
  fifth.then(() => order.push("fifth"));
  (await fourth).finish("failure");
  assert.ok((await fifth).waitedMs >= 230, "still one at a time, 240 ms");
  assert.deepEqual(order, ["fifth"]);
  (await fifth).finish("abandoned");
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

/**
 * `count` failures, one each from `count` fresh /64s whose fourth group is
 * `prefix` followed by two hex digits.
 */
async function failEach(
  limiter: GuessLimiter,
  prefix: string,
  count: number,
): Promise<void> {
  for (let i = 0; i < count; i++) {
    const group = i.toString(16).padStart(2, "0");
    (await limiter.begin(`${prefix}${group}::1`)).finish("failure");
  }
}

Deno.test("failures from many /64s slow down their whole /56, then their /48", async () => {
  const limiter = new GuessLimiter({ baseDelayMs: 40 });
  // Eight /64s of 2001:db8:1:100::/56 fail: the /56's allowance.
  await failEach(limiter, "2001:db8:1:1", 8);
  const fresh = await limiter.begin("2001:db8:1:1ff::1");
  assert.equal(fresh.penaltyMs, 0, "the /56 does not owe yet");
  fresh.finish("failure");
  // The ninth failure is one too many: a /64 of that /56 that never
  // failed now waits, while a /64 of another /56 of the same /48 does not.
  const held = await limiter.begin("2001:db8:1:1fe::1");
  assert.equal(held.heldBy, "2001:db8:1:100::/56");
  assert.ok(held.waitedMs >= 30, `waited ${held.waitedMs}`);
  held.finish("success");
  const neighbour = await limiter.begin("2001:db8:1:2fe::1");
  assert.equal(neighbour.penaltyMs, 0);
  neighbour.finish("success");
  // 32 failures across the /48 are its allowance; the 33rd makes every
  // /64 of it wait, in any of its /56s.
  // Eight at most per /56, so that no /56 owes a delay on its own.
  await failEach(limiter, "2001:db8:1:3", 8);
  await failEach(limiter, "2001:db8:1:4", 8);
  await failEach(limiter, "2001:db8:1:5", 7);
  const last = await limiter.begin("2001:db8:1:6ff::1");
  assert.equal(last.penaltyMs, 0, "9 + 23 = 32 failures: still allowed");
  last.finish("failure");
  const after = await limiter.begin("2001:db8:1:7ff::1");
  assert.equal(after.heldBy, "2001:db8:1::/48");
  assert.ok(after.waitedMs >= 30, `waited ${after.waitedMs}`);
  after.finish("success");
  const elsewhere = await limiter.begin("2001:db8:2:1ff::1");
  assert.equal(elsewhere.penaltyMs, 0, "another /48 is not held back");
  elsewhere.finish("success");
});

Deno.test("past the server-wide ceiling, sources that failed take turns; others do not wait", async () => {
  const limiter = new GuessLimiter({
    baseDelayMs: 1,
    serverCeiling: 3,
    serverSpacingMs: 40,
  });
  for (const address of ["10.0.0.1", "10.0.0.2", "10.0.0.3"]) {
    (await limiter.begin(address)).finish("failure");
  }
  await sleep(5);
  const first = await limiter.begin("10.0.0.1");
  const order: string[] = [];
  const second = limiter.begin("10.0.0.2").then((attempt) => {
    order.push("second");
    return attempt;
  });
  const fresh = await limiter.begin("10.0.0.4");
  assert.equal(fresh.penaltyMs, 0, "a source that never failed goes at once");
  fresh.finish("failure");
  await sleep(60);
  assert.deepEqual(order, [], "one server-wide turn at a time");
  first.finish("failure");
  const turn = await second;
  assert.equal(turn.heldBy, null, "it waited for its server-wide turn");
  assert.ok(turn.waitedMs >= 90, `waited ${turn.waitedMs}`);
  turn.finish("success");
});

Deno.test("the line of waiting attempts is bounded in length and in time", async () => {
  const limiter = new GuessLimiter({
    baseDelayMs: 10_000,
    maxWaiting: 2,
    maxWaitMs: 80,
  });
  (await limiter.begin("a")).finish("failure");
  const waiting = [limiter.begin("a"), limiter.begin("a")];
  await assert.rejects(
    () => limiter.begin("a"),
    (error: unknown) => {
      assert.ok(error instanceof GuessLimitError);
      assert.equal(error.name, "GuessLimitError");
      assert.equal(
        error.message,
        "2 key exchanges from a already wait for their turn",
      );
      return true;
    },
  );
  for (const attempt of waiting) {
    await assert.rejects(() => attempt, {
      name: "GuessLimitError",
      message: "Waited 0 s for a turn to try the code",
    });
  }
});

Deno.test("a waiting attempt whose connection ends leaves the line", async () => {
  const limiter = new GuessLimiter({ baseDelayMs: 60 });
  (await limiter.begin("a")).finish("failure");
  const gone = new AbortController();
  const leaving = limiter.begin("a", gone.signal);
  const staying = limiter.begin("a");
  gone.abort(new Error("Connection closed"));
  await assert.rejects(() => leaving, { message: "Connection closed" });
  const attempt = await staying;
  assert.ok(attempt.penaltyMs >= 50, `held back ${attempt.penaltyMs}`);
  attempt.finish("success");
  await assert.rejects(() => limiter.begin("a", gone.signal), {
    message: "Connection closed",
  });
});
