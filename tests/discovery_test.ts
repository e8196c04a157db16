/**
 * LAN discovery with real UDP sockets: on loopback (responders, fake
 * servers and `discover()` in this process or in another one, each test
 * on its own free UDP port), and across network namespaces the tests
 * make (root only): found by IPv4 broadcast and by IPv6 link-local
 * multicast, the right one of two servers, and none.
 *
 * @module
 */

import assert from "node:assert/strict";
import dgram from "node:dgram";
import {
  discover,
  DiscoveryResponder,
  FLAG_SHARES,
  FLAG_TLS,
  type FoundServer,
} from "../lib/net/discovery.ts";
import {
  type Answer,
  decodeAnswer,
  decodeQuery,
  encodeAnswer,
  encodeQuery,
  type Query,
} from "../lib/net/discovery_packet.ts";
import { directedBroadcast } from "../lib/net/discovery_sockets.ts";
import {
  discoveryTag,
  generateCode,
  normalizeCode,
} from "../lib/secure/code.ts";
import { PATIENCE_MS } from "./conditions.ts";
import { ROOT } from "./helpers.ts";
import { Lab, netnsUnavailable } from "./netns.ts";
import { freeUdpPort } from "./udp_port.ts";

const PEER = `${ROOT}tests/discovery_peer.ts`;

/**
 * The announcement interval of responders in tests of answers: they
 * announce at start, before the search, and then not for an hour, so
 * that what a search finds was an answer to its queries.
 */
const ONLY_AT_START = 3_600_000;

/** The loopback interface: the loopback tests send nowhere else. */
const LOOPBACK =
  Deno.networkInterfaces().find((info) => info.address === "127.0.0.1")!.name;

/** A search that stays on loopback and waits long for a first answer. */
function onLoopback(udpPort: number, timeoutMs = PATIENCE_MS) {
  return { udpPort, timeoutMs, interfaces: [LOOPBACK] };
}

/**
 * A UDP port that no socket holds now on 0.0.0.0 or [::], below the
 * range the kernel hands out for port 0, so that no other test's
 * ephemeral socket takes it meanwhile.
 */
function udpSocket(
  type: "udp4" | "udp6",
  port: number,
  address: string,
  reuseAddr: boolean,
): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type, reuseAddr, ipv6Only: true });
  return new Promise((resolve, reject) => {
    socket.once("error", (error) => {
      socket.close();
      reject(error);
    });
    socket.bind(port, address, () => resolve(socket));
  });
}

async function close(socket: dgram.Socket): Promise<void> {
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  assert.deepEqual(failures.splice(0), []);
}

function send(
  socket: dgram.Socket,
  bytes: Uint8Array,
  port: number,
  host: string,
): void {
  socket.send(bytes, port, host);
}

async function responder(
  tag: number,
  udpPort: number,
  tcpPort = 4000 + tag % 1000,
  flags = 0,
): Promise<DiscoveryResponder> {
  const started = new DiscoveryResponder();
  const warnings: string[] = [];
  const running = await started.start({
    tag,
    tcpPort,
    flags,
    udpPort,
    interfaces: [LOOPBACK],
    announceMs: ONLY_AT_START,
    onWarning: (line) => warnings.push(line),
  });
  assert.ok(running, warnings.join("\n"));
  assert.deepEqual(warnings, []);
  return started;
}

/** What the handlers of fake servers threw; a test checks it is empty. */
const failures: unknown[] = [];

/**
 * A fake server on `udpPort`: a plain socket that gives each query it
 * gets to `reply`, with a function that sends to the asker.
 */
async function fakeServer(
  udpPort: number,
  reply: (query: Query, answer: (bytes: Uint8Array) => void) => void,
): Promise<dgram.Socket> {
  const socket = await udpSocket("udp4", udpPort, "0.0.0.0", true);
  socket.setBroadcast(true);
  socket.on("message", (bytes: Uint8Array, from: dgram.RemoteInfo) => {
    const query = decodeQuery(bytes);
    try {
      if (query !== null) {
        reply(query, (out) => send(socket, out, from.port, from.address));
      }
    } catch (error) {
      // The socket's event handlers swallow what they throw.
      failures.push(error);
    }
  });
  return socket;
}

/** The bytes of `answer` with `change` applied to them. */
function altered(answer: Answer, change: (bytes: Uint8Array) => void) {
  const bytes = encodeAnswer(answer);
  change(bytes);
  return bytes;
}

Deno.test("discovery packets have the documented bytes", () => {
  const query = encodeQuery({ tag: 4071, nonce: 0x01020304 });
  assert.equal(
    Array.from(query, (b) => b.toString(16).padStart(2, "0")).join(""),
    "44465444" + "0001" + "01" + "0fe7" + "01020304",
  );
  const answer: Answer = {
    tag: 4071,
    nonce: 0x01020304,
    id: 0xa1b2c3d4,
    port: 65432,
    flags: FLAG_TLS | FLAG_SHARES,
  };
  const bytes = encodeAnswer(answer);
  assert.equal(
    Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""),
    "44465444" + "0001" + "02" + "0fe7" + "01020304" + "a1b2c3d4" + "ff98" +
      "03",
  );
  assert.deepEqual(decodeQuery(query), { tag: 4071, nonce: 0x01020304 });
  assert.deepEqual(decodeAnswer(bytes), answer);
  assert.equal(decodeAnswer(query), null);
  assert.equal(decodeQuery(bytes), null);
  assert.throws(() => encodeQuery({ tag: 10_000, nonce: 1 }), RangeError);
  assert.throws(() => encodeAnswer({ ...answer, flags: 4 }), RangeError);
});

Deno.test("the tag of a code is its number part, and custom codes have none", () => {
  for (let i = 0; i < 50; i++) {
    const code = generateCode();
    assert.equal(discoveryTag(code), Number(code.split("-")[0]));
  }
  const code = generateCode().replace(/^\d+/, "0");
  assert.equal(discoveryTag(code), 0);
  const words = code.split("-").slice(1);
  assert.equal(discoveryTag(`9999-${words.join("-")}`), 9999);
  for (
    const other of [
      `10000-${words.join("-")}`,
      `007-${words.join("-")}`,
      `12 ${words.join(" ")}`,
      `12-${words.join("-").toUpperCase()}`,
      `12-${words.slice(0, 2).join("-")}`,
      `12-${words.join("-")}-${words[0]}`,
      `12-${words[0]}-${words[1]}-notaword`,
      normalizeCode("correct horse battery staple x9!Q"),
      "test-code-for-the-suite",
    ]
  ) {
    assert.equal(discoveryTag(other), null, other);
  }
  assert.equal(discoveryTag(normalizeCode(`12 ${words.join(" ")}`)), 12);
});

Deno.test("directed broadcast addresses", () => {
  assert.equal(directedBroadcast("10.99.1.2", "255.255.255.0"), "10.99.1.255");
  assert.equal(directedBroadcast("127.0.0.1", "255.0.0.0"), "127.255.255.255");
  assert.equal(
    directedBroadcast("192.168.5.9", "255.255.252.0"),
    "192.168.7.255",
  );
  assert.equal(directedBroadcast("10.0.0.1", "255.255.255.254"), null);
  assert.equal(directedBroadcast("10.0.0.1", "255.255.255.255"), null);
});

Deno.test("a responder is found by its tag, and not by another", async () => {
  const udpPort = await freeUdpPort();
  await using server = await responder(4071, udpPort, 5001, FLAG_TLS);
  const found = await discover(4071, onLoopback(udpPort));
  assert.equal(found.length, 1, JSON.stringify(found));
  assert.ok(["127.0.0.1", "::1"].includes(found[0].host), found[0].host);
  assert.deepEqual(
    { port: found[0].port, flags: found[0].flags, id: found[0].id },
    { port: 5001, flags: FLAG_TLS, id: server.id },
  );
  assert.deepEqual(await discover(4072, onLoopback(udpPort, 800)), []);
});

Deno.test("two responders with the same tag are both found", async () => {
  const udpPort = await freeUdpPort();
  await using first = await responder(17, udpPort, 5001);
  await using second = await responder(17, udpPort, 5002, FLAG_SHARES);
  await using _other = await responder(18, udpPort, 5003);
  // A long grace: on a loaded machine the second answer may lag.
  const found = await discover(17, { ...onLoopback(udpPort), graceMs: 2000 });
  assert.deepEqual(
    found.map((server) => [server.id, server.port, server.flags]).sort(),
    [[first.id, 5001, 0], [second.id, 5002, FLAG_SHARES]].sort(),
  );
});

Deno.test("a responder announces itself at start and then again", async () => {
  const udpPort = await freeUdpPort();
  const listener = await udpSocket("udp4", udpPort, "127.255.255.255", true);
  const heard: (Answer | null)[] = [];
  const twice = new Promise<void>((resolve) => {
    listener.on("message", (bytes: Uint8Array) => {
      heard.push(decodeAnswer(bytes));
      if (heard.length === 2) resolve();
    });
  });
  const server = new DiscoveryResponder();
  try {
    assert.ok(
      await server.start({
        tag: 12,
        tcpPort: 6012,
        flags: FLAG_SHARES,
        udpPort,
        interfaces: [LOOPBACK],
        announceMs: 50,
      }),
    );
    await within(twice, "two announcements");
    const announcement = {
      tag: 12,
      nonce: 0,
      id: server.id,
      port: 6012,
      flags: FLAG_SHARES,
    };
    assert.deepEqual(heard, [announcement, announcement]);
  } finally {
    await server.close();
    await close(listener);
  }
});

Deno.test("a responder in another process is found and can be connected to", async () => {
  const udpPort = await freeUdpPort();
  const peer = watch(
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        PEER,
        "serve",
        "321",
        String(udpPort),
        String(ONLY_AT_START),
        LOOPBACK,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn(),
  );
  try {
    const ready = JSON.parse(await peer.next());
    const [found] = await discover(321, onLoopback(udpPort));
    assert.equal(found.id, ready.id);
    assert.equal(found.port, ready.port);
    using connection = await Deno.connect({
      hostname: found.host,
      port: found.port,
    });
    const buffer = new Uint8Array(32);
    const n = await connection.read(buffer);
    assert.equal(new TextDecoder().decode(buffer.subarray(0, n!)), "tag 321\n");
  } finally {
    await peer.stop();
  }
});

Deno.test("malformed queries get no answer", async () => {
  const udpPort = await freeUdpPort();
  await using server = await responder(4071, udpPort, 5001);
  const asker = await udpSocket("udp4", 0, "127.0.0.1", false);
  try {
    const answers: (Answer | null)[] = [];
    let waiting: { nonce: number; resolve: () => void } | null = null;
    asker.on("message", (bytes: Uint8Array) => {
      const answer = decodeAnswer(bytes);
      answers.push(answer);
      if (answer?.nonce === waiting?.nonce) waiting?.resolve();
    });
    const query = (nonce: number, change?: (bytes: Uint8Array) => void) => {
      const bytes = encodeQuery({ tag: 4071, nonce });
      change?.(bytes);
      return bytes;
    };
    const bad = (round: number) => [
      query(round + 1).subarray(0, 12),
      new Uint8Array([...query(round + 2), 0]),
      query(round + 3, (b) => (b[3] = 0x45)), // magic "DFTE"
      query(round + 4, (b) => (b[5] = 2)), // version 2
      query(round + 5, (b) => (b[5] = 0)), // version 0
      query(round + 6, (b) => (b[6] = 2)), // type 2
      query(round + 7, (b) => (b[6] = 0)), // type 0
      query(round + 8, (b) => b.set([0x0f, 0xe8], 7)), // tag 4072
      query(round + 9, (b) => b.set([0xff, 0xff], 7)), // tag 65535
      query(round + 10, (b) => b.fill(0, 9)), // nonce 0
      new Uint8Array(0),
      new Uint8Array(1400).fill(0x44),
      encodeAnswer({ tag: 4071, nonce: round + 11, id: 1, port: 1, flags: 0 }),
    ];
    // Sends go out in no set order, so an answer to a bad query could
    // come after the answer to the good one of its round: each round's
    // good answer is awaited, and the last round has no bad queries.
    const rounds = 8;
    const valid = (round: number) => 0x10000 + round;
    for (let round = 0; round <= rounds; round++) {
      const answered = new Promise<void>((resolve) => {
        waiting = { nonce: valid(round), resolve };
      });
      if (round < rounds) {
        for (const bytes of bad(round * 100)) {
          send(asker, bytes, udpPort, "127.0.0.1");
        }
      }
      send(asker, query(valid(round)), udpPort, "127.0.0.1");
      await within(answered, `the answer of round ${round}`);
    }
    assert.deepEqual(
      answers,
      Array.from({ length: rounds + 1 }, (_, round) => ({
        tag: 4071,
        nonce: valid(round),
        id: server.id,
        port: 5001,
        flags: 0,
      })),
    );
  } finally {
    await close(asker);
  }
});

Deno.test("malformed answers and announcements are ignored", async () => {
  const udpPort = await freeUdpPort();
  const good = 0x600d;
  const fake = await fakeServer(udpPort, (query, answer) => {
    const right: Answer = {
      tag: query.tag,
      nonce: query.nonce,
      id: 1,
      port: 6001,
      flags: 0,
    };
    let id = 100;
    const wrong = (change: Partial<Answer>) => ({
      ...right,
      id: id++,
      ...change,
    });
    for (
      const bytes of [
        encodeAnswer(wrong({ tag: query.tag + 1 })),
        encodeAnswer(wrong({ nonce: (query.nonce ^ 1) >>> 0 })),
        encodeAnswer(wrong({ nonce: 0 })), // an announcement, to the asker
        altered(wrong({}), (b) => b.set([0, 0], 17)), // port 0
        altered(wrong({}), (b) => b.fill(0, 13, 17)), // id 0
        altered(wrong({}), (b) => (b[19] = 4)), // a reserved flag
        altered(wrong({}), (b) => (b[19] = 0x80)),
        altered(wrong({}), (b) => (b[5] = 2)), // version 2
        altered(wrong({}), (b) => (b[6] = 1)), // type 1
        altered(wrong({}), (b) => (b[0] = 0)), // magic
        encodeAnswer(wrong({})).subarray(0, 19),
        new Uint8Array([...encodeAnswer(wrong({})), 0]),
      ]
    ) answer(bytes);
    answer(encodeAnswer({ ...right, id: good }));
  });
  try {
    const found = await discover(900, onLoopback(udpPort));
    assert.deepEqual(found.map((server) => server.id), [good]);
    assert.equal(found[0].port, 6001);
  } finally {
    await close(fake);
  }
});

Deno.test("announcements are heard, and only well-formed ones", async () => {
  const udpPort = await freeUdpPort();
  const fake = await fakeServer(udpPort, (query) => {
    // No answers: announcements to the loopback broadcast address only.
    const announcement = (id: number, nonce: number, tag = query.tag) =>
      encodeAnswer({ tag, nonce, id, port: 7000 + id, flags: 0 });
    for (
      const bytes of [
        announcement(1, query.nonce), // an answer, to the announcement port
        announcement(2, 0, query.tag + 1),
        altered(
          { tag: query.tag, nonce: 0, id: 3, port: 1, flags: 0 },
          (b) => (b[19] = 0x10),
        ),
        announcement(4, 0),
      ]
    ) send(fake, bytes, udpPort, "127.255.255.255");
  });
  try {
    const found = await discover(55, onLoopback(udpPort));
    assert.deepEqual(found.map((server) => [server.id, server.port]), [[
      4,
      7004,
    ]]);
    assert.equal(found[0].host, "127.0.0.1");
  } finally {
    await close(fake);
  }
});

Deno.test("an answer to an earlier search is ignored", async () => {
  const udpPort = await freeUdpPort();
  let first: number | null = null;
  const fake = await fakeServer(udpPort, (query, answer) => {
    first ??= query.nonce;
    answer(
      encodeAnswer({
        tag: query.tag,
        nonce: first,
        id: 1,
        port: 6001,
        flags: 0,
      }),
    );
  });
  try {
    const earlier = await discover(31, onLoopback(udpPort));
    assert.deepEqual(earlier.map((server) => server.id), [1]);
    assert.deepEqual(await discover(31, onLoopback(udpPort, 800)), []);
  } finally {
    await close(fake);
  }
});

Deno.test("a responder whose port is taken says so in one line", async () => {
  const udpPort = await freeUdpPort();
  const v4 = await udpSocket("udp4", udpPort, "0.0.0.0", false);
  const warnings: string[] = [];
  const start = (into: DiscoveryResponder) =>
    into.start({
      tag: 1,
      tcpPort: 1,
      flags: 0,
      udpPort,
      interfaces: [LOOPBACK],
      onWarning: (line) => warnings.push(line),
    });
  try {
    await using half = new DiscoveryResponder();
    assert.equal(await start(half), true);
    assert.deepEqual(warnings, [
      `LAN discovery works over IPv6 only: UDP port ${udpPort} is taken by another program over IPv4`,
    ]);
    await half.close();
    const v6 = await udpSocket("udp6", udpPort, "::", false).catch(() => null);
    if (v6 !== null) {
      warnings.length = 0;
      await using off = new DiscoveryResponder();
      assert.equal(await start(off), false);
      assert.deepEqual(warnings, [
        `LAN discovery is off: UDP port ${udpPort} is taken by another program`,
      ]);
      await close(v6);
    }
  } finally {
    await close(v4);
  }
});

Deno.test("an aborted search rejects with the reason", async () => {
  const udpPort = await freeUdpPort();
  const controller = new AbortController();
  const search = discover(1, {
    ...onLoopback(udpPort),
    signal: controller.signal,
  });
  controller.abort(new Error("stopped"));
  await assert.rejects(search, /stopped/);
});

// In network namespaces.

const netnsProblem = await netnsUnavailable();
if (netnsProblem !== null) {
  console.log(`discovery_test: namespace tests skipped, ${netnsProblem}`);
}

/** What a `find` peer printed. */
interface FindResult {
  found: FoundServer[];
  ms: number;
  greetings: string[];
}

/** Runs a responder peer in `ns`; resolves when it is ready. */
async function servePeer(lab: Lab, ns: string, tag: number, udpPort: number) {
  const peer = startPeer(lab, ns, [
    "serve",
    String(tag),
    String(udpPort),
    String(ONLY_AT_START),
  ]);
  const ready = JSON.parse(await peer.next()) as { port: number; id: number };
  return { ...ready, stop: peer.stop };
}

/** Starts a peer in `ns`. */
function startPeer(lab: Lab, ns: string, args: string[]) {
  return watch(lab.spawn(ns, Deno.execPath(), ["run", "-A", PEER, ...args]));
}

/** A peer process: the lines it prints, one at a time, and its end. */
function watch(child: Deno.ChildProcess) {
  let stderr = "";
  const errors = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (text) => void (stderr += text) }),
  );
  const lines = new Lines(child.stdout);
  return {
    async next(): Promise<string> {
      const line = await within(lines.next(), "a line from the peer");
      if (line === null) throw new Error(`the peer ended early: ${stderr}`);
      return line;
    },
    async stop(): Promise<void> {
      await child.stdin.close().catch(() => {});
      try {
        child.kill();
      } catch {
        // It ended already.
      }
      await lines.cancel();
      await child.status;
      await errors;
    },
  };
}

/** Runs `discover()` in `ns` in a peer process. */
async function findPeer(
  lab: Lab,
  ns: string,
  tag: number,
  udpPort: number,
  timeoutMs = PATIENCE_MS,
): Promise<FindResult> {
  const child = lab.spawn(ns, Deno.execPath(), [
    "run",
    "-A",
    PEER,
    "find",
    String(tag),
    String(udpPort),
    String(timeoutMs),
    "150",
  ]);
  await child.stdin.close();
  const { success, stdout, stderr } = await child.output();
  const text = new TextDecoder();
  assert.ok(success, text.decode(stderr));
  return JSON.parse(text.decode(stdout));
}

/** Two namespaces joined by a veth pair: client `v0`, server `v1`. */
async function pair(
  lab: Lab,
  options: { ipv4: boolean; ipv6: boolean },
): Promise<{ client: string; server: string; serverLinkLocal: string | null }> {
  const client = await lab.add("c", { ipv6: options.ipv6 });
  const server = await lab.add("s", { ipv6: options.ipv6 });
  await lab.veth(client, "v0", server, "v1");
  if (options.ipv4) {
    await lab.address(client, "v0", "10.99.1.1/24");
    await lab.address(server, "v1", "10.99.1.2/24");
  }
  await lab.up(client, "v0");
  await lab.up(server, "v1");
  await lab.ready(client, "v0");
  const serverLinkLocal = await lab.ready(server, "v1");
  return { client, server, serverLinkLocal };
}

Deno.test({
  name: "a server in another namespace is found by IPv4 broadcast",
  ignore: netnsProblem !== null,
  async fn() {
    const lab = new Lab();
    try {
      const { client, server } = await pair(lab, { ipv4: true, ipv6: false });
      const serving = await servePeer(lab, server, 4071, 41000);
      try {
        const result = await findPeer(lab, client, 4071, 41000);
        assert.deepEqual(result.found, [{
          host: "10.99.1.2",
          port: serving.port,
          flags: 0,
          via: "ipv4",
          id: serving.id,
        }]);
        assert.deepEqual(result.greetings, ["tag 4071"]);
      } finally {
        await serving.stop();
      }
    } finally {
      await lab.remove();
    }
  },
});

Deno.test({
  name: "a server in another namespace is found by IPv6 link-local multicast",
  ignore: netnsProblem !== null,
  async fn() {
    const lab = new Lab();
    try {
      const { client, server, serverLinkLocal } = await pair(lab, {
        ipv4: false,
        ipv6: true,
      });
      // Something that hears the responder announce itself as it starts.
      const hearing = startPeer(lab, client, ["hear", "41000", "v0"]);
      assert.equal(await hearing.next(), "ready");
      const serving = await servePeer(lab, server, 4071, 41000);
      try {
        assert.deepEqual(JSON.parse(await hearing.next()), {
          host: serverLinkLocal,
          tag: 4071,
          id: serving.id,
          port: serving.port,
        });
        await hearing.stop();
        const result = await findPeer(lab, client, 4071, 41000);
        assert.deepEqual(result.found, [{
          host: `${serverLinkLocal}%v0`,
          port: serving.port,
          flags: 0,
          via: "ipv6",
          id: serving.id,
        }]);
        assert.deepEqual(result.greetings, ["tag 4071"]);
      } finally {
        await serving.stop();
      }
      // Announcements alone, from a peer that answers no query.
      const announcing = startPeer(lab, server, [
        "announce",
        "4071",
        "41000",
        "v1",
        "77",
        "7777",
      ]);
      try {
        assert.equal(await announcing.next(), "ready");
        const result = await findPeer(lab, client, 4071, 41000);
        assert.deepEqual(result.found, [{
          host: `${serverLinkLocal}%v0`,
          port: 7777,
          flags: 0,
          via: "ipv6",
          id: 77,
        }]);
      } finally {
        await announcing.stop();
      }
    } finally {
      await lab.remove();
    }
  },
});

Deno.test({
  name: "of two servers in two namespaces, the one with the tag is found",
  ignore: netnsProblem !== null,
  async fn() {
    const lab = new Lab();
    try {
      // The client's namespace holds a bridge with a port to each server.
      const client = await lab.add("c");
      const servers = [await lab.add("s1"), await lab.add("s2")];
      for (const [i, ns] of servers.entries()) {
        await lab.veth(client, `p${i}`, ns, "v0");
        await lab.address(ns, "v0", `10.99.2.${i + 2}/24`);
        await lab.up(ns, "v0");
      }
      await lab.bridge(client, "br0", ["p0", "p1"]);
      await lab.address(client, "br0", "10.99.2.1/24");
      await lab.up(client, "br0");
      await lab.ready(client, "br0");
      for (const ns of servers) await lab.ready(ns, "v0");
      const one = await servePeer(lab, servers[0], 1111, 41000);
      const two = await servePeer(lab, servers[1], 2222, 41000);
      try {
        for (const [tag, serving] of [[1111, one], [2222, two]] as const) {
          const result = await findPeer(lab, client, tag, 41000);
          // Found over IPv4 and IPv6, counted once.
          assert.deepEqual(
            result.found.map((found) => [found.id, found.port]),
            [[serving.id, serving.port]],
          );
          assert.deepEqual(result.greetings, [`tag ${tag}`]);
        }
      } finally {
        await one.stop();
        await two.stop();
      }
    } finally {
      await lab.remove();
    }
  },
});

Deno.test({
  name: "with no server in the other namespace, the search ends empty",
  ignore: netnsProblem !== null,
  async fn() {
    const lab = new Lab();
    try {
      const { client } = await pair(lab, { ipv4: true, ipv6: true });
      const result = await findPeer(lab, client, 4071, 41000, 1000);
      assert.deepEqual(result, { found: [], ms: result.ms, greetings: [] });
    } finally {
      await lab.remove();
    }
  },
});

/** `promise`, or an error naming `what` if it takes longer than patience. */
async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`waited ${PATIENCE_MS} ms for ${what}`)),
      PATIENCE_MS,
    );
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads a stream of text one line at a time. */
class Lines {
  readonly #reader: ReadableStreamDefaultReader<string>;
  #text = "";

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** The next line, without its newline; null at the end. */
  async next(): Promise<string | null> {
    while (!this.#text.includes("\n")) {
      const { value, done } = await this.#reader.read();
      if (done) return null;
      this.#text += value;
    }
    const end = this.#text.indexOf("\n");
    const line = this.#text.slice(0, end);
    this.#text = this.#text.slice(end + 1);
    return line;
  }

  /** Stops reading, and closes the stream. */
  async cancel(): Promise<void> {
    await this.#reader.cancel();
  }
}
