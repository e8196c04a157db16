/**
 * A misbehaving server for client tests, run as its own process:
 *
 *     deno run -A tests/fake_server.ts MODE [--interval MS] [--forward PORT]
 *         [--share]
 *
 * It listens on a free loopback port, prints `listening PORT`, then
 * `connection N` for each connection it accepts, and treats each one as
 * MODE says:
 *
 * - `trickle`: sends a valid hello and a key share frame, one byte every
 *   `--interval` ms (an impostor keeping the client's idle timeout quiet);
 * - `wait`: completes the key exchange with {@link TEST_CODE}, reads the
 *   manifest and then sends `wait` every `--interval` ms forever;
 * - `drop`: the first connection gets a valid hello, and is closed once the
 *   client's key share has arrived (as when the server's handshake limit
 *   strikes in its guess limiter); later ones are forwarded to `--forward`;
 * - `mute`: reads the client's hello and closes without a hello of its
 *   own, like a program that is not a deno-ft server;
 * - `hold`: sends a valid hello, reads the client's key share and never
 *   answers it, as a server whose guess limiter holds the attempt back;
 * - `prove`: completes the key exchange, answers `compare` for every entry
 *   of the manifest (a folder: `accept`), reads the client's proofs and
 *   never answers them, as a server busy checking a large file;
 * - `overwrite`: a receiver that knows no `ifDifferent` (4.4) and runs
 *   with `--overwrite`: it answers `compare` with `replace: true` for every
 *   file, finds no proof matching, prints `file N` or `skip N` for what
 *   the client does with each, confirms what it gets and ends with a
 *   summary.
 *
 * With `--share`, its hellos say that the server sends the files, as a
 * sharing server's do, for clients that get files.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { BufferedReader } from "../lib/net/byte_stream.ts";
import { establishChannel } from "../lib/secure/handshake.ts";
import { SHARE_LENGTH } from "../lib/secure/pake.ts";
import {
  decodeSenderMessage,
  encodeHello,
  encodeMessage,
  FRAME_HEADER_LENGTH,
  FrameType,
  HELLO_FLAG_SERVER_SENDS,
  HELLO_LENGTH,
  Role,
} from "../protocol.ts";
import { testCodeScalar } from "./hostile_client.ts";

const { positionals, values } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    interval: { type: "string", default: "500" },
    forward: { type: "string" },
    share: { type: "boolean", default: false },
  },
});
const mode = positionals[0];
const intervalMs = Number(values.interval);
const hello = encodeHello(
  Role.Server,
  values.share ? HELLO_FLAG_SERVER_SENDS : 0,
);

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function tryClose(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

/** Reads the client's first `length` bytes, whatever they are. */
async function readClient(conn: Deno.Conn, length: number): Promise<void> {
  await new BufferedReader(conn).readExact(length, "the client's bytes");
}

async function trickle(conn: Deno.Conn): Promise<void> {
  const share = new Uint8Array(FRAME_HEADER_LENGTH + SHARE_LENGTH + 32);
  new DataView(share.buffer).setUint32(0, share.length - 4);
  share[4] = FrameType.Handshake;
  const bytes = [...hello, ...share];
  for (const byte of bytes) {
    await conn.write(Uint8Array.of(byte));
    await sleep(intervalMs);
  }
}

async function waitForever(conn: Deno.Conn): Promise<void> {
  const channel = await establishChannel(conn, {
    role: Role.Server,
    password: testCodeScalar(),
    flushBeforeBlocking: true,
  });
  for (;;) {
    const frame = await channel.receive();
    if (frame === null) return;
    const message = decodeSenderMessage(frame.payload);
    if (message.type === "manifest" && !message.more) break;
  }
  const wait = encodeMessage({ type: "wait" });
  for (;;) {
    await channel.send(FrameType.Control, wait);
    await channel.flush();
    await sleep(intervalMs);
  }
}

async function proveForever(conn: Deno.Conn): Promise<void> {
  const channel = await establishChannel(conn, {
    role: Role.Server,
    password: testCodeScalar(),
    flushBeforeBlocking: true,
  });
  const entries: { kind: string }[] = [];
  for (;;) {
    const frame = await channel.receive();
    if (frame === null) return;
    const message = decodeSenderMessage(frame.payload);
    if (message.type !== "manifest") continue;
    entries.push(...message.entries);
    if (!message.more) break;
  }
  const items = entries.map((entry) =>
    entry.kind === "folder"
      ? { action: "accept" as const }
      : { action: "compare" as const, replace: false }
  );
  await channel.send(
    FrameType.Control,
    encodeMessage({ type: "decisions", start: 0, items, more: false }),
  );
  await channel.flush();
  // The proofs arrive and are never answered.
  while (await channel.receive() !== null);
}

async function overwriteAll(conn: Deno.Conn): Promise<void> {
  const channel = await establishChannel(conn, {
    role: Role.Server,
    password: testCodeScalar(),
    flushBeforeBlocking: true,
  });
  const send = async (message: Parameters<typeof encodeMessage>[0]) => {
    await channel.send(FrameType.Control, encodeMessage(message));
    await channel.flush();
  };
  const entries: { kind: string }[] = [];
  const next = async () => {
    for (;;) {
      const frame = await channel.receive();
      if (frame === null) throw new Error("the client left");
      if (frame.type === FrameType.Control) {
        return decodeSenderMessage(frame.payload);
      }
    }
  };
  for (;;) {
    const message = await next();
    if (message.type !== "manifest") continue;
    entries.push(...message.entries);
    if (!message.more) break;
  }
  await send({
    type: "decisions",
    start: 0,
    items: entries.map((entry) =>
      entry.kind === "folder"
        ? { action: "accept" as const }
        : { action: "compare" as const, replace: true }
    ),
    more: false,
  });
  const proven: number[] = [];
  for (;;) {
    const message = await next();
    if (message.type !== "proofs") continue;
    proven.push(...message.items.map((item) => item.index));
    if (!message.more) break;
  }
  await send({
    type: "matches",
    items: proven.map((index) => ({ index, match: false })),
    more: false,
  });
  let verified = 0;
  for (;;) {
    const message = await next();
    if (message.type === "file" || message.type === "skip") {
      console.log(`${message.type} ${message.index}`);
    } else if (message.type === "end") {
      verified++;
      await send({
        type: "verified",
        index: message.index,
        sha256: message.sha256,
      });
    } else if (message.type === "done") {
      await send({
        type: "summary",
        verified,
        failed: entries.length - verified,
      });
      return;
    }
  }
}

async function pipe(from: Deno.Conn, to: Deno.Conn): Promise<void> {
  try {
    await from.readable.pipeTo(to.writable);
  } catch {
    // Either side went away.
  }
  tryClose(from);
  tryClose(to);
}

async function serve(conn: Deno.Conn, number: number): Promise<void> {
  if (mode === "trickle") return await trickle(conn);
  if (mode === "wait") return await waitForever(conn);
  if (mode === "mute") return await readClient(conn, HELLO_LENGTH);
  if (mode === "prove") return await proveForever(conn);
  if (mode === "overwrite") return await overwriteAll(conn);
  if (mode === "hold") {
    await conn.write(encodeHello(Role.Server));
    await readClient(conn, HELLO_LENGTH + FRAME_HEADER_LENGTH + SHARE_LENGTH);
    // Held until the client gives up.
    while (await conn.read(new Uint8Array(1024)) !== null);
    return;
  }
  if (mode === "drop" && number === 1) {
    await conn.write(hello);
    return await readClient(
      conn,
      HELLO_LENGTH + FRAME_HEADER_LENGTH + SHARE_LENGTH,
    );
  }
  if (mode === "drop") {
    const server = await Deno.connect({
      hostname: "127.0.0.1",
      port: Number(values.forward),
    });
    await Promise.all([pipe(conn, server), pipe(server, conn)]);
    return;
  }
  throw new Error(`Unknown mode ${mode}`);
}

const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
console.log(`listening ${listener.addr.port}`);
let connections = 0;
for await (const conn of listener) {
  connections++;
  console.log(`connection ${connections}`);
  serve(conn, connections).catch(() => {}).finally(() => tryClose(conn));
}
