import assert from "node:assert/strict";
import { GuessLimiter } from "../lib/guess_limiter.ts";

Deno.test("delays double per failure up to the cap", () => {
  const limiter = new GuessLimiter({ baseDelayMs: 500, maxDelayMs: 60_000 });
  assert.deepEqual(
    [0, 1, 2, 3, 8, 40].map((failures) => limiter.delayFor(failures)),
    [0, 500, 1000, 2000, 60_000, 60_000],
  );
});

Deno.test("an address without failures is not held back", async () => {
  const limiter = new GuessLimiter({ baseDelayMs: 50 });
  const attempts = await Promise.all([limiter.begin("a"), limiter.begin("a")]);
  assert.deepEqual(attempts.map((attempt) => attempt.waitedMs), [0, 0]);
  for (const attempt of attempts) attempt.finish(true);
});

Deno.test("after a failure, attempts from that address queue behind the delay", async () => {
  const limiter = new GuessLimiter({ baseDelayMs: 60 });
  const first = await limiter.begin("a");
  assert.equal(first.finish(false), 60);
  const other = await limiter.begin("b");
  assert.equal(other.waitedMs, 0, "other addresses are not affected");
  other.finish(true);

  const order: string[] = [];
  const second = limiter.begin("a").then((attempt) => {
    order.push("second");
    return attempt;
  });
  const third = limiter.begin("a").then((attempt) => {
    order.push("third");
    return attempt;
  });
  const secondAttempt = await second;
  assert.ok(secondAttempt.waitedMs >= 50, `waited ${secondAttempt.waitedMs}`);
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.deepEqual(
    order,
    ["second"],
    "the third waits for the second to finish",
  );
  assert.equal(secondAttempt.finish(false), 120);
  const thirdAttempt = await third;
  assert.ok(thirdAttempt.waitedMs >= 150, `waited ${thirdAttempt.waitedMs}`);
  thirdAttempt.finish(true);
  assert.equal(limiter.delayFor(0), 0);
});

Deno.test("old failures are forgotten", async () => {
  const limiter = new GuessLimiter({ baseDelayMs: 10_000, forgetAfterMs: 20 });
  (await limiter.begin("a")).finish(false);
  await new Promise((resolve) => setTimeout(resolve, 40));
  const attempt = await limiter.begin("a");
  assert.equal(attempt.waitedMs, 0);
  attempt.finish(true);
});

Deno.test("a success clears the address's record: no more delay, no queue", async () => {
  const limiter = new GuessLimiter({ baseDelayMs: 30 });
  (await limiter.begin("a")).finish(false);
  const right = await limiter.begin("a");
  assert.ok(right.waitedMs >= 20, `waited ${right.waitedMs}`);
  right.finish(true);
  // Like an address that never failed: two at once, neither held back.
  const attempts = await Promise.all([limiter.begin("a"), limiter.begin("a")]);
  assert.deepEqual(attempts.map((attempt) => attempt.waitedMs), [0, 0]);
  for (const attempt of attempts) attempt.finish(true);
});
