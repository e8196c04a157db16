/**
 * Fixtures of the loopback discovery tests: sockets, responders and fake
 * servers that stay on the loopback interface.
 *
 * @module
 */

import assert from "node:assert/strict";
import dgram from "node:dgram";
import { DiscoveryResponder } from "../lib/net/discovery.ts";
import {
  type Answer,
  decodeQuery,
  encodeAnswer,
  type Query,
} from "../lib/net/discovery_packet.ts";
import { PATIENCE_MS } from "./conditions.ts";
import { ONLY_AT_START } from "./discovery_peers.ts";

/** The loopback interface: the loopback tests send nowhere else. */
export const LOOPBACK =
  Deno.networkInterfaces().find((info) => info.address === "127.0.0.1")!.name;

/** A search that stays on loopback and waits long for a first answer. */
export function onLoopback(udpPort: number, timeoutMs = PATIENCE_MS) {
  return { udpPort, timeoutMs, interfaces: [LOOPBACK] };
}

/** A UDP socket bound to `address`:`port`. */
export function udpSocket(
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

export async function close(socket: dgram.Socket): Promise<void> {
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  assert.deepEqual(failures.splice(0), []);
}

export function send(
  socket: dgram.Socket,
  bytes: Uint8Array,
  port: number,
  host: string,
): void {
  socket.send(bytes, port, host);
}

export async function responder(
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
export const failures: unknown[] = [];

/**
 * A fake server on `udpPort`: a plain socket that gives each query it
 * gets to `reply`, with a function that sends to the asker.
 */
export async function fakeServer(
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
export function altered(answer: Answer, change: (bytes: Uint8Array) => void) {
  const bytes = encodeAnswer(answer);
  change(bytes);
  return bytes;
}
