/**
 * The discovery packets: their bytes, the tag of a code, broadcast
 * addresses, and what a responder and a search do with malformed ones.
 *
 * @module
 */

import assert from "node:assert/strict";
import { discover, FLAG_SHARES, FLAG_TLS } from "../lib/net/discovery.ts";
import {
  type Answer,
  decodeAnswer,
  decodeQuery,
  encodeAnswer,
  encodeQuery,
} from "../lib/net/discovery_packet.ts";
import { directedBroadcast } from "../lib/net/discovery_sockets.ts";
import {
  discoveryTag,
  generateCode,
  normalizeCode,
} from "../lib/secure/code.ts";
import { within } from "./discovery_peers.ts";
import { freeUdpPort } from "./udp_port.ts";
import {
  altered,
  close,
  fakeServer,
  onLoopback,
  responder,
  send,
  udpSocket,
} from "./discovery_fixtures.ts";

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
