import assert from "node:assert/strict";
import { GuessLimiter, sourceKey } from "../lib/guess_limiter.ts";
import { sleep } from "./helpers.ts";

Deno.test("delays double per failure up to the cap", () => {
  const limiter = new GuessLimiter({ baseDelayMs: 500 });
  assert.deepEqual(
    [0, 1, 2, 3, 6, 40].map((failures) => limiter.delayFor(failures)),
    [0, 500, 1000, 2000, 16_000, 20_000],
  );
});

Deno.test("attempts from one source go one at a time, even before any failure", async () => {
  const limiter = new GuessLimiter({ baseDelayMs: 50 });
  const order: string[] = [];
  const first = await limiter.begin("10.0.0.1");
  const second = limiter.begin("10.0.0.1").then((attempt) => {
    order.push("second");
    return attempt;
  });
  const other = await limiter.begin("10.0.0.2");
  assert.equal(other.waitedMs, 0, "another source is not held back");
  other.finish("success");
  await sleep(20);
  assert.deepEqual(order, [], "the second waits for the first to finish");
  first.finish("success");
  const attempt = await second;
  assert.deepEqual(order, ["second"]);
  assert.ok(attempt.waitedMs < 50, "no failure, so no delay");
  attempt.finish("success");
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
  const fourth = await limiter.begin("a");
  assert.ok(fourth.waitedMs < 50, "a success clears the record");
  fourth.finish("success");
});

Deno.test("an abandoned attempt does not count as a failure", async () => {
  const limiter = new GuessLimiter({ baseDelayMs: 10_000 });
  assert.equal((await limiter.begin("a")).finish("abandoned"), 0);
  const next = await limiter.begin("a");
  assert.ok(next.waitedMs < 100);
  next.finish("success");
});

Deno.test("old failures are forgotten", async () => {
  const limiter = new GuessLimiter({ baseDelayMs: 10_000, forgetAfterMs: 20 });
  (await limiter.begin("a")).finish("failure");
  await sleep(40);
  const attempt = await limiter.begin("a");
  assert.ok(attempt.waitedMs < 100);
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
