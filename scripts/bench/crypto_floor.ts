/**
 * The crypto floor of the bench: a bare pair of Deno processes that move
 * one file with only the work a verified, encrypted transfer cannot skip,
 * with deno-ft's primitives and record size, and nothing else (no key
 * exchange, no manifest, no decisions, no staging, no progress):
 *
 * - the sender reads the file in 1 MiB chunks (the next one read while the
 *   current one is worked on), hashes it with SHA-256, seals each chunk
 *   with the type byte as one ChaCha20-Poly1305 record of node:crypto
 *   (length field as additional data, counter nonce) and writes the
 *   records to loopback TCP, one write in flight while it seals the next;
 * - the receiver reads each record through one reused 2 MiB buffer (each
 *   read asking for at most 64 KiB more than the record needs, so that
 *   little is moved to the buffer's front), opens it, hashes it and writes
 *   it to the file behind the network, flushes to disk every 16 MiB in the
 *   background and at the end, then sends its SHA-256 back, which the
 *   sender checks. As deno-ft does, the file is written through a
 *   Deno.FsFile, whose writes run on another thread (node:fs's write
 *   copies on the main thread), and flushed through a node:fs descriptor
 *   of the same file: a Deno.FsFile holds its writes back while a flush
 *   of it runs.
 *
 *     deno run -A crypto_floor.ts receive OUT    (prints "Listening on HOST:PORT")
 *     deno run -A crypto_floor.ts send HOST:PORT FILE
 *
 * Each sealed or opened record's memory is freed once written, as deno-ft
 * does, so that neither side waits for the garbage collector. The key is
 * fixed: nothing here is secret, and the speed of ChaCha20 does not depend
 * on the key.
 *
 * @module
 */

import { createCipheriv, createDecipheriv, createHash } from "node:crypto";
import fs from "node:fs";

const RECORD = 1024 * 1024;
const TAG = 16;
const HEADER = 4;
const SYNC_INTERVAL = 16 * 1024 * 1024;
const KEY = createHash("sha256").update("crypto floor").digest();
const DATA_TYPE = 3;
const READ_AHEAD = 64 * 1024;

/** Writes all of `data` to `sink`. */
async function writeAll(
  sink: { write(data: Uint8Array): Promise<number> },
  data: Uint8Array,
): Promise<void> {
  for (let at = 0; at < data.length;) at += await sink.write(data.subarray(at));
}

/** Frees the memory of `bytes`, a record node:crypto made, once written. */
function release(bytes: Uint8Array): void {
  const buffer = bytes.buffer;
  // Not a pool: only a buffer that is this record's alone.
  if (
    buffer instanceof ArrayBuffer && buffer.byteLength <= bytes.byteLength + 16
  ) buffer.transfer(0);
}

/** The nonce of record `counter`: 4 zero bytes, then a big-endian u64. */
function nonce(counter: number): Uint8Array {
  const bytes = new Uint8Array(12);
  const view = new DataView(bytes.buffer);
  view.setUint32(4, Math.floor(counter / 2 ** 32));
  view.setUint32(8, counter >>> 0);
  return bytes;
}

/** Reads exact byte counts from `conn` through one reused buffer. */
function exactReader(conn: Deno.Conn) {
  const buffer = new Uint8Array(2 * (RECORD + 64));
  let start = 0;
  let end = 0;
  return async (length: number): Promise<Uint8Array> => {
    if (buffer.length - start < length) {
      buffer.copyWithin(0, start, end);
      end -= start;
      start = 0;
    }
    const limit = Math.min(buffer.length, start + length + READ_AHEAD);
    while (end - start < length) {
      const count = await conn.read(buffer.subarray(end, limit));
      if (count === null) throw new Error("connection closed early");
      end += count;
    }
    start += length;
    return buffer.subarray(start - length, start);
  };
}

/** Sends `path` to `address` (HOST:PORT); resolves to the exit status. */
async function send(address: string, path: string): Promise<number> {
  const colon = address.lastIndexOf(":");
  const conn = await Deno.connect({
    hostname: address.slice(0, colon),
    port: Number(address.slice(colon + 1)),
  });
  // As deno-ft: the small length fields and tags go out at once.
  conn.setNoDelay(true);
  using file = await Deno.open(path, { read: true });
  const size = (await file.stat()).size;
  const hash = createHash("sha256");
  const sizeField = new Uint8Array(8);
  new DataView(sizeField.buffer).setBigUint64(0, BigInt(size));
  await writeAll(conn, sizeField);
  const buffers = [new Uint8Array(RECORD), new Uint8Array(RECORD)];
  let turn = 0;
  let unread = size;
  let counter = 0;
  const readNext = () =>
    file.read(buffers[turn].subarray(0, Math.min(RECORD, unread)));
  let reading = unread > 0 ? readNext() : null;
  let writing = Promise.resolve();
  while (reading !== null) {
    const count = await reading;
    if (count === null) throw new Error("the file shrank");
    const chunk = buffers[turn].subarray(0, count);
    unread -= count;
    turn ^= 1;
    reading = unread > 0 ? readNext() : null;
    hash.update(chunk);
    const head = new Uint8Array(HEADER + 1);
    new DataView(head.buffer).setUint32(0, 1 + count + TAG);
    const cipher = createCipheriv("chacha20-poly1305", KEY, nonce(counter++), {
      authTagLength: TAG,
    });
    cipher.setAAD(head.subarray(0, HEADER), { plaintextLength: 1 + count });
    head.set(cipher.update(Uint8Array.of(DATA_TYPE)), HEADER);
    const body = cipher.update(chunk);
    cipher.final();
    const tag = cipher.getAuthTag();
    await writing;
    writing = (async () => {
      await writeAll(conn, head);
      await writeAll(conn, body);
      release(body);
      await writeAll(conn, tag);
    })();
  }
  await writing;
  const digest = hash.digest();
  const answer = await exactReader(conn)(32);
  conn.close();
  if (!digest.equals(answer)) {
    console.error("the receiver's SHA-256 differs");
    return 1;
  }
  return 0;
}

/** Flushes the data of descriptor `fd` to disk. */
function fdSync(fd: number): Promise<void> {
  return new Promise((resolve, reject) =>
    fs.fdatasync(fd, (error) => error ? reject(error) : resolve())
  );
}

/** Receives one file into `out`; resolves to the exit status. */
async function receive(out: string): Promise<number> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  console.log(`Listening on 127.0.0.1:${(listener.addr as Deno.NetAddr).port}`);
  const conn = await listener.accept();
  listener.close();
  conn.setNoDelay(true);
  const readExact = exactReader(conn);
  const size = Number(new DataView((await readExact(8)).slice().buffer)
    .getBigUint64(0));
  const fd = fs.openSync(out, "w");
  using file = await Deno.open(out, { write: true });
  const hash = createHash("sha256");
  let received = 0;
  let counter = 0;
  let unsynced = 0;
  let writing = Promise.resolve();
  let syncing: Promise<void> | null = null;
  while (received < size) {
    const header = (await readExact(HEADER)).slice();
    const length = new DataView(header.buffer).getUint32(0);
    const body = await readExact(length);
    const decipher = createDecipheriv(
      "chacha20-poly1305",
      KEY,
      nonce(counter++),
      { authTagLength: TAG },
    );
    decipher.setAAD(header, { plaintextLength: length - TAG });
    decipher.setAuthTag(body.subarray(length - TAG));
    const plain = decipher.update(body.subarray(0, length - TAG));
    decipher.final();
    const data = plain.subarray(1);
    hash.update(data);
    received += data.length;
    await writing;
    writing = writeAll(file, data).then(() => {
      release(plain);
      unsynced += data.length;
      if (unsynced >= SYNC_INTERVAL && syncing === null) {
        unsynced = 0;
        syncing = fdSync(fd).finally(() => syncing = null);
      }
    });
  }
  await writing;
  await syncing;
  await fdSync(fd);
  fs.closeSync(fd);
  await writeAll(conn, hash.digest());
  conn.close();
  return 0;
}

if (import.meta.main) {
  const [role, ...rest] = Deno.args;
  if (role === "send" && rest.length === 2) {
    Deno.exitCode = await send(rest[0], rest[1]);
  } else if (role === "receive" && rest.length === 1) {
    Deno.exitCode = await receive(rest[0]);
  } else {
    console.error(
      "usage: crypto_floor.ts receive OUT | crypto_floor.ts send HOST:PORT FILE",
    );
    Deno.exitCode = 2;
  }
}
