/**
 * One side of a discovery test, run as its own process (in a network
 * namespace or not):
 *
 *     serve TAG UDP_PORT ANNOUNCE_MS [INTERFACE]
 *         listens on TCP (greeting each connection with "tag TAG"), runs a
 *         responder for it that announces every ANNOUNCE_MS and prints
 *         {"port": P, "id": ID} when ready; runs until killed
 *     find TAG UDP_PORT TIMEOUT_MS GRACE_MS [INTERFACE]
 *         runs discover() and prints {"found": [...], "ms": M,
 *         "greetings": [...]}, the greeting of each server found, read
 *         over a TCP connection to its host and port
 *
 *     announce TAG UDP_PORT INTERFACE ID TCP_PORT
 *         sends an announcement for server ID at TCP_PORT to ff02::1 on
 *         INTERFACE every 100 ms, answering nothing; prints "ready" once
 *         it sent the first
 *     hear UDP_PORT INTERFACE
 *         listens for announcements on ff02::1%INTERFACE, prints "ready",
 *         then {"host": H, "tag": T, "id": ID, "port": P} for the first
 *         one that decodes, and ends
 *
 * INTERFACE limits serve and find to that interface (loopback, in tests
 * outside a namespace). Serve, announce and hear end when their standard
 * input does, so that they do not outlive a test that dies.
 *
 * @module
 */

import dgram from "node:dgram";
import { discover, DiscoveryResponder } from "../lib/net/discovery.ts";
import { decodeAnswer, encodeAnswer } from "../lib/net/discovery_packet.ts";

const [mode, tagText, portText, ...rest] = Deno.args;
const tag = Number(tagText);
const udpPort = Number(portText);

if (mode !== "find") {
  (async () => {
    for await (const _ of Deno.stdin.readable) {
      // Nothing is sent: only the end matters.
    }
    Deno.exit(0);
  })();
}

if (mode === "serve") {
  const [announceMs, only] = rest;
  const interfaces = only === undefined ? undefined : [only];
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({ hostname: "::", port: 0 });
  } catch {
    listener = Deno.listen({ hostname: "0.0.0.0", port: 0 }); // No IPv6.
  }
  const responder = new DiscoveryResponder();
  const running = await responder.start({
    tag,
    tcpPort: listener.addr.port,
    flags: 0,
    udpPort,
    interfaces,
    announceMs: Number(announceMs),
    onWarning: (line) => console.error(line),
  });
  if (!running) Deno.exit(1);
  console.log(JSON.stringify({ port: listener.addr.port, id: responder.id }));
  for await (const connection of listener) {
    connection.write(new TextEncoder().encode(`tag ${tag}\n`))
      .finally(() => connection.close());
  }
} else if (mode === "find") {
  const [timeoutMs, graceMs, only] = rest;
  const started = performance.now();
  const found = await discover(tag, {
    timeoutMs: Number(timeoutMs),
    graceMs: Number(graceMs),
    udpPort,
    interfaces: only === undefined ? undefined : [only],
  });
  const ms = Math.round(performance.now() - started);
  const greetings = [];
  for (const server of found) {
    greetings.push(await greeting(server.host, server.port));
  }
  console.log(JSON.stringify({ found, ms, greetings }));
} else if (mode === "announce") {
  const [name, id, tcpPort] = rest;
  const socket = dgram.createSocket({ type: "udp6", ipv6Only: true });
  await new Promise<void>((resolve) => socket.bind(0, "::", () => resolve()));
  const bytes = encodeAnswer({
    tag,
    nonce: 0,
    id: Number(id),
    port: Number(tcpPort),
    flags: 0,
  });
  const announce = () => socket.send(bytes, udpPort, `ff02::1%${name}`);
  announce();
  console.log("ready");
  setInterval(announce, 100);
} else if (mode === "hear") {
  const port = Number(tagText);
  const name = portText;
  const socket = dgram.createSocket({
    type: "udp6",
    ipv6Only: true,
    reuseAddr: true,
  });
  await new Promise<void>((resolve) =>
    socket.bind(port, `ff02::1%${name}`, () => resolve())
  );
  socket.on("message", (bytes: Uint8Array, from: dgram.RemoteInfo) => {
    const answer = decodeAnswer(bytes);
    if (answer === null || answer.nonce !== 0) return;
    const { tag, id, port } = answer;
    console.log(JSON.stringify({ host: from.address, tag, id, port }));
    socket.close();
  });
  console.log("ready");
} else {
  console.error("usage: discovery_peer.ts serve|find|announce|hear ARGS...");
  Deno.exit(2);
}

/** The first line a server sends, or the error connecting to it. */
async function greeting(hostname: string, port: number): Promise<string> {
  try {
    using connection = await Deno.connect({ hostname, port });
    const buffer = new Uint8Array(64);
    const n = await connection.read(buffer);
    return new TextDecoder().decode(buffer.subarray(0, n ?? 0)).trim();
  } catch (error) {
    return `error: ${(error as Error).message}`;
  }
}
