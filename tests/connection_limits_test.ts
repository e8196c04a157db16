/**
 * The limits on connections per source: the rules of ConnectionLimiter on
 * address strings with a test clock, then a real server facing a second
 * loopback source (127.0.0.9) that holds idle sockets or reconnects in a
 * loop while a real client from 127.0.0.1 sends a file.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  ConnectionLimiter,
  LogThrottle,
  type Ticket,
} from "../lib/net/connection_limiter.ts";
import {
  randomFile,
  runClient,
  type ServerProcess,
  sleep,
  startServer,
  tempDir,
} from "./helpers.ts";
import { SourcedSocket } from "./loopback_source.ts";
import {
  encodeHello,
  HELLO_FLAG_BUSY,
  HELLO_LENGTH,
  Role,
} from "../protocol.ts";

function admitted(
  limiter: ConnectionLimiter<string>,
  address: string,
  name = address,
): Ticket {
  const admission = limiter.admit(address, name);
  assert.ok(admission.admitted, JSON.stringify(admission));
  return admission.ticket;
}

function refusal(limiter: ConnectionLimiter<string>, address: string) {
  const admission = limiter.admit(address, address);
  assert.ok(!admission.admitted, `${address} was admitted`);
  return admission;
}

Deno.test("new connections per source: a burst, then a steady rate, at each level", () => {
  let now = 0;
  const limiter = new ConnectionLimiter<string>({
    maxConnections: 1000,
    burst: [3, 5],
    perSecond: [2, 4],
    unauthenticated: [100, 100, 100],
    now: () => now,
  });
  for (let i = 0; i < 3; i++) admitted(limiter, "10.0.0.1").closed();
  const over = refusal(limiter, "10.0.0.1");
  assert.deepEqual(over, {
    admitted: false,
    busy: false,
    rule: "rate",
    key: "10.0.0.1",
    message: "turned away: more than 2 new connections a second from 10.0.0.1",
  });
  admitted(limiter, "10.0.0.2").closed();
  now += 499;
  refusal(limiter, "10.0.0.1");
  now += 1;
  admitted(limiter, "10.0.0.1").closed();
  refusal(limiter, "10.0.0.1");
  // Each /64 has a burst of 3, their /56 one of 5 for all of them.
  for (let i = 0; i < 3; i++) admitted(limiter, "2001:db8::1").closed();
  admitted(limiter, "2001:db8:0:1::1").closed();
  admitted(limiter, "2001:db8:0:2::1").closed();
  assert.equal(
    refusal(limiter, "2001:db8:0:3::1").message,
    "turned away: more than 4 new connections a second from 2001:db8:0:0::/56",
  );
});

Deno.test("unauthenticated connections per source are capped; authenticated ones do not count", () => {
  const limiter = new ConnectionLimiter<string>({
    maxConnections: 1000,
    unauthenticated: [2, 3, 4],
  });
  const first = admitted(limiter, "10.0.0.1");
  admitted(limiter, "10.0.0.1");
  assert.deepEqual(refusal(limiter, "10.0.0.1"), {
    admitted: false,
    busy: true,
    rule: "source",
    key: "10.0.0.1",
    message:
      "turned away: 2 unauthenticated connections from 10.0.0.1 are open",
  });
  first.authenticated();
  admitted(limiter, "10.0.0.1");
  assert.equal(limiter.unauthenticated("10.0.0.1"), 2);
  assert.equal(limiter.open, 3);
  // IPv6: 2 per /64, 3 per /56, 4 per /48.
  admitted(limiter, "2001:db8:0:1::1");
  admitted(limiter, "2001:db8:0:1::2");
  assert.equal(
    refusal(limiter, "2001:db8:0:1::3").key,
    "2001:db8:0:1::/64",
  );
  admitted(limiter, "2001:db8:0:2::1");
  assert.equal(
    refusal(limiter, "2001:db8:0:3::1").message,
    "turned away: 3 unauthenticated connections from 2001:db8:0:0::/56 are open",
  );
  admitted(limiter, "2001:db8:0:100::1");
  assert.equal(
    refusal(limiter, "2001:db8:0:200::1").message,
    "turned away: 4 unauthenticated connections from 2001:db8:0::/48 are open",
  );
  admitted(limiter, "2001:db8:1::1");
});

Deno.test("a full server makes room for a lighter source at the heaviest one's expense", () => {
  const limiter = new ConnectionLimiter<string>({ maxConnections: 4 });
  for (let i = 1; i <= 4; i++) admitted(limiter, "10.0.0.9", `attacker ${i}`);
  const first = limiter.admit("10.0.0.1", "client 1");
  assert.ok(first.admitted);
  assert.deepEqual(first.evicted, {
    item: "attacker 1",
    key: "10.0.0.9",
    message:
      "closed to make room for another address: the server is full and 10.0.0.9 holds 4 unauthenticated connections",
  });
  const second = limiter.admit("10.0.0.1", "client 2");
  assert.ok(second.admitted);
  assert.equal(second.evicted?.item, "attacker 2");
  // Two each: moving another place would not make them more even.
  assert.deepEqual(refusal(limiter, "10.0.0.1"), {
    admitted: false,
    busy: true,
    rule: "full",
    key: "10.0.0.1",
    message: "turned away: 4 connections are open (--max-connections)",
  });
  // Authenticated connections are never taken away.
  first.ticket.authenticated();
  second.ticket.authenticated();
  const third = limiter.admit("10.0.0.2", "client 3");
  assert.ok(third.admitted);
  assert.equal(third.evicted?.item, "attacker 3");
  assert.equal(refusal(limiter, "10.0.0.3").rule, "full");
  assert.equal(limiter.open, 4);
});

Deno.test("a busy refusal takes no token; admitted connections still use the bucket up", () => {
  let now = 0;
  const limiter = new ConnectionLimiter<string>({
    maxConnections: 1000,
    burst: [4],
    perSecond: [2],
    unauthenticated: [2],
    now: () => now,
  });
  const held = [admitted(limiter, "10.0.0.1"), admitted(limiter, "10.0.0.1")];
  // Told busy many times over: clients asked to come back later.
  for (let i = 0; i < 20; i++) {
    assert.equal(refusal(limiter, "10.0.0.1").rule, "source");
  }
  // Their return is not cut off: two tokens of the burst are left.
  for (const ticket of held) ticket.authenticated();
  admitted(limiter, "10.0.0.1").closed();
  admitted(limiter, "10.0.0.1").closed();
  assert.equal(refusal(limiter, "10.0.0.1").rule, "rate");
  now += 1000;
  const first = admitted(limiter, "10.0.0.1");
  admitted(limiter, "10.0.0.1");
  now += 500;
  assert.equal(refusal(limiter, "10.0.0.1").rule, "source");
  first.closed();
  // The token the busy refusal left is the one this connection takes.
  admitted(limiter, "10.0.0.1");
  // An empty bucket closes even a source at its cap at once, with no
  // busy hello.
  const flood = refusal(limiter, "10.0.0.1");
  assert.equal(flood.rule, "rate");
  assert.equal(flood.busy, false);
});

Deno.test("refusals are logged once per source and interval, with a count of the rest", () => {
  let now = 0;
  const throttle = new LogThrottle(10_000, () => now);
  assert.equal(throttle.line("rate 10.0.0.9", "turned away"), "turned away");
  assert.equal(throttle.line("rate 10.0.0.9", "turned away"), null);
  assert.equal(throttle.line("rate 10.0.0.8", "other"), "other");
  now += 9_999;
  assert.equal(throttle.line("rate 10.0.0.9", "turned away"), null);
  now += 1;
  assert.equal(
    throttle.line("rate 10.0.0.9", "turned away"),
    "turned away (and 2 more like it since the last such line)",
  );
});

/** Opens `count` idle sockets from 127.0.0.9 to `server`. */
async function idleSockets(
  server: ServerProcess,
  count: number,
): Promise<SourcedSocket[]> {
  const sockets = Array.from(
    { length: count },
    () => new SourcedSocket(server.port),
  );
  await Promise.all(sockets.map((socket) => socket.connected()));
  return sockets;
}

/** Sends a random file with the real client from 127.0.0.1. */
async function transfer(server: ServerProcess, dest: string): Promise<void> {
  await using source = await tempDir();
  const path = join(source.path, "sent.bin");
  const data = await randomFile(path, 300_000);
  const client = await runClient([`127.0.0.1:${server.port}`, path]);
  assert.equal(client.code, 0, client.stderr);
  assert.deepEqual(await Deno.readFile(join(dest, "sent.bin")), data);
}

/** Waits until the server's stdout has `count` lines matching `pattern`. */
async function waitForCount(
  server: ServerProcess,
  pattern: RegExp,
  count: number,
): Promise<void> {
  const deadline = Date.now() + 20_000;
  while ((server.stdout.match(pattern)?.length ?? 0) < count) {
    assert.ok(Date.now() < deadline, `no ${count} lines ${pattern}`);
    await sleep(20);
  }
}

const BUSY_HELLO = encodeHello(Role.Server, HELLO_FLAG_BUSY);

Deno.test("idle sockets from one address hold at most 16 places; a client from another gets in", async () => {
  await using dest = await tempDir();
  // The idle timeout must not free the places during the test.
  await using server = await startServer([
    "--dir",
    dest.path,
    "--idle-timeout",
    "10m",
  ]);
  const sockets = await idleSockets(server, 64);
  try {
    await Promise.all(sockets.map((socket) => socket.receive(HELLO_LENGTH)));
    const busy = sockets.filter((socket) =>
      socket.received.length === HELLO_LENGTH &&
      socket.received.every((byte, i) => byte === BUSY_HELLO[i])
    );
    // The busy ones are closed at once; the others got a normal hello.
    await Promise.all(busy.map((socket) => socket.closed()));
    assert.equal(busy.length, 48);
    await server.waitFor(
      /\[127\.0\.0\.9:\d+\] turned away: 16 unauthenticated connections from 127\.0\.0\.9 are open$/m,
    );
    await transfer(server, dest.path);
    const held = sockets.filter((socket) => !socket.ended);
    assert.equal(held.length, 16, "the idle sockets were still held");
    // Not one line for each of the 48 refusals.
    assert.ok(server.stderr.match(/turned away/g)!.length < 10);
  } finally {
    for (const socket of sockets) socket.destroy();
  }
});

Deno.test("on a full server, a client from another address takes an idle socket's place", async () => {
  await using dest = await tempDir();
  await using server = await startServer([
    "--dir",
    dest.path,
    "--idle-timeout",
    "10m",
    "--max-connections",
    "8",
  ]);
  const sockets = await idleSockets(server, 8);
  try {
    await Promise.all(sockets.map((socket) => socket.receive(HELLO_LENGTH)));
    await waitForCount(server, /^\[127\.0\.0\.9:\d+\] connected$/gm, 8);
    await transfer(server, dest.path);
    await Promise.race(sockets.map((socket) => socket.closed()));
    assert.match(
      server.stderr,
      /^\[127\.0\.0\.9:\d+\] closed to make room for another address: the server is full and 127\.0\.0\.9 holds 8 unauthenticated connections$/m,
    );
    assert.match(
      server.stderr,
      /^\[127\.0\.0\.9:\d+\] error: Closed to make room for another address$/m,
    );
    assert.equal(sockets.filter((socket) => socket.ended).length, 1);
  } finally {
    for (const socket of sockets) socket.destroy();
  }
});

Deno.test("an address that reconnects in a loop is cut off at once; another is not", async () => {
  await using dest = await tempDir();
  await using server = await startServer(["--dir", dest.path]);
  let refused = 0;
  let answered = 0;
  // 400 connections: more than the burst of 64 and 16 a second, unless
  // they took 21 seconds.
  const worker = async () => {
    for (let i = 0; i < 50; i++) {
      const socket = new SourcedSocket(server.port);
      try {
        await socket.connected();
        const received = await socket.receive(HELLO_LENGTH);
        if (received.length === 0) refused++;
        else answered++;
      } finally {
        socket.destroy();
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  assert.ok(refused > 0, `${answered} answered, none refused`);
  assert.ok(answered >= 64, `only ${answered} answered`);
  const lines = server.stderr.match(
    /^\[127\.0\.0\.9:\d+\] turned away: more than 16 new connections a second from 127\.0\.0\.9( \(and \d+ more like it since the last such line\))?$/gm,
  );
  assert.ok(lines !== null && lines.length < refused, String(lines));
  await transfer(server, dest.path);
  assert.doesNotMatch(server.stderr, /turned away[^\n]*127\.0\.0\.1/);
});
