import assert from "node:assert/strict";
import {
  BufferedReader,
  ConnectionClosedError,
} from "../lib/net/byte_stream.ts";
import { PlainChannel, SecureChannel } from "../lib/secure/channel.ts";
import { FrameWriter } from "../lib/secure/frame_writer.ts";
import { RecordOpener, RecordSealer } from "../lib/secure/record.ts";
import { socketPair } from "./helpers.ts";
import { FrameType, MAX_FRAME_PAYLOAD, ProtocolError } from "../protocol.ts";

function plain(conn: Deno.Conn): PlainChannel {
  return new PlainChannel(
    conn,
    new BufferedReader(conn),
    new FrameWriter(conn),
  );
}

Deno.test("frames of every size arrive intact and in order", async () => {
  using pair = await socketPair();
  const [a, b] = pair;
  const sender = plain(a);
  const receiver = plain(b);
  const sizes = [
    0,
    1,
    5,
    1000,
    65536,
    MAX_FRAME_PAYLOAD - 1,
    MAX_FRAME_PAYLOAD,
    3,
    MAX_FRAME_PAYLOAD,
  ];
  const payloads = sizes.map((size, i) => new Uint8Array(size).fill(i + 1));
  const sending = (async () => {
    for (const [i, payload] of payloads.entries()) {
      await sender.send(i % 2 ? FrameType.Control : FrameType.Data, payload);
    }
    await sender.flush();
    sender.close();
  })();
  for (const [i, payload] of payloads.entries()) {
    const frame = await receiver.receive();
    assert.ok(frame);
    assert.equal(frame.type, i % 2 ? FrameType.Control : FrameType.Data);
    assert.deepEqual(frame.payload, payload);
  }
  assert.equal(await receiver.receive(), null);
  await sending;
});

Deno.test("an oversized frame header is refused before reading its payload", async () => {
  using pair = await socketPair();
  const [a, b] = pair;
  await a.write(new Uint8Array([0x00, 0x10, 0x00, 0x02, 2]));
  await assert.rejects(() => plain(b).receive(), (error: Error) => {
    assert.ok(error instanceof ProtocolError);
    assert.match(error.message, /exceeds the limit of 1048576/);
    return true;
  });
});

Deno.test("a frame cut short is an error, not a short payload", async () => {
  using pair = await socketPair();
  const [a, b] = pair;
  await a.write(new Uint8Array([0, 0, 0, 101, 2, 1, 2, 3]));
  a.close();
  await assert.rejects(() => plain(b).receive(), ConnectionClosedError);
});

Deno.test("a writer with small frames queued still takes a full frame", async () => {
  using pair = await socketPair();
  const [a, b] = pair;
  const sender = plain(a);
  const receiver = plain(b);
  // The small frame fills the first 64 KiB exactly, so the full one fits
  // only after the queued bytes are written.
  const small = new Uint8Array(65_531).fill(1);
  const full = new Uint8Array(MAX_FRAME_PAYLOAD).fill(2);
  const sending = (async () => {
    await sender.send(FrameType.Data, small);
    await sender.send(FrameType.Data, full);
    await sender.send(FrameType.Data, small);
    await sender.flush();
  })();
  for (const payload of [small, full, small]) {
    assert.deepEqual((await receiver.receive())!.payload, payload);
  }
  await sending;
});

function sealed(conn: Deno.Conn, key: Uint8Array): SecureChannel {
  const writer = new FrameWriter(conn);
  writer.startSealing(new RecordSealer(key));
  return new SecureChannel(
    conn,
    new BufferedReader(conn),
    writer,
    new RecordOpener(key),
  );
}

Deno.test("sealed frames arrive in order while the sender refills its buffer", async () => {
  using pair = await socketPair();
  const [a, b] = pair;
  const key = new Uint8Array(32).fill(9);
  const sender = sealed(a, key);
  const receiver = sealed(b, key);
  // Large frames are sealed apart from the batch; small ones around them
  // share it, the first two packed in one batch frame, the lone one in a
  // record of its own. One buffer is refilled after each send, as the
  // sender does.
  const sizes = [0, 3, MAX_FRAME_PAYLOAD, 70_000, 1, MAX_FRAME_PAYLOAD, 65_536];
  const reused = new Uint8Array(MAX_FRAME_PAYLOAD);
  const sending = (async () => {
    for (const [i, size] of sizes.entries()) {
      reused.fill(i + 1, 0, size);
      await sender.send(FrameType.Data, reused.subarray(0, size));
      reused.fill(0xee);
    }
    await sender.flush();
    sender.close();
  })();
  for (const [i, size] of sizes.entries()) {
    const frame = await receiver.receive();
    assert.ok(frame);
    assert.equal(frame.detached, i >= 2, `frame ${i} in a record of its own`);
    assert.deepEqual(frame.payload, new Uint8Array(size).fill(i + 1));
  }
  assert.equal(await receiver.receive(), null);
  await sending;
});

Deno.test("hasBuffered tells whether the next frame has begun to arrive", async () => {
  using pair = await socketPair();
  const [a, b] = pair;
  const key = new Uint8Array(32).fill(3);
  const sender = sealed(a, key);
  const receiver = sealed(b, key);
  assert.equal(receiver.hasBuffered(), false);
  // Two frames in one write: after the first, the second is already here.
  await sender.send(FrameType.Control, Uint8Array.of(1));
  await sender.send(FrameType.Control, Uint8Array.of(2));
  await sender.flush();
  assert.deepEqual((await receiver.receive())?.payload, Uint8Array.of(1));
  assert.equal(receiver.hasBuffered(), true);
  assert.deepEqual((await receiver.receive())?.payload, Uint8Array.of(2));
  assert.equal(receiver.hasBuffered(), false);
  sender.close();
  assert.equal(await receiver.receive(), null);
});

/** `conn` as a byte stream that notes the largest read it was asked for. */
function noting(conn: Deno.Conn) {
  const stream = {
    largestRead: 0,
    read(buffer: Uint8Array) {
      stream.largestRead = Math.max(stream.largestRead, buffer.length);
      return conn.read(buffer);
    },
    write: (data: Uint8Array) => conn.write(data),
    close: () => conn.close(),
  };
  return stream;
}

Deno.test("large records are opened as they trickle in, through a small read buffer", async () => {
  using pair = await socketPair();
  const [a, b] = pair;
  const key = new Uint8Array(32).fill(5);
  const sealer = new RecordSealer(key);
  const payload = new Uint8Array(MAX_FRAME_PAYLOAD).map((_, i) => i % 253);
  const record = new Uint8Array(MAX_FRAME_PAYLOAD + 64);
  const length = sealer.seal(FrameType.Data, payload, record, 0);
  const tampered = record.slice(0, length);
  tampered[length - 100] ^= 1;
  const stream = noting(b);
  const receiver = new SecureChannel(
    stream,
    new BufferedReader(stream),
    new FrameWriter(stream),
    new RecordOpener(key),
  );
  const sending = (async () => {
    // In uneven pieces, so that reads end anywhere in the record.
    for (let at = 0; at < length;) {
      const size = Math.min(length - at, 1 + (at % 70_001));
      await a.write(record.subarray(at, at + size));
      at += size;
    }
    await a.write(tampered);
  })();
  const frame = await receiver.receive();
  assert.ok(frame?.detached);
  assert.deepEqual(frame.payload, payload);
  assert.ok(stream.largestRead <= 256 * 1024, `${stream.largestRead}`);
  // The second record, one byte of it changed, is never handed out.
  await assert.rejects(() => receiver.receive(), /failed authentication/);
  await sending;
});

// A read that took everything the socket had would leave most of the next
// large record at the buffer's end, to be moved to the front before it
// could be taken whole; the reader asks for little more than it needs.
Deno.test("the reader asks the stream for little more than it needs", async () => {
  using pair = await socketPair();
  const [a, b] = pair;
  const sizes = [MAX_FRAME_PAYLOAD, 7, MAX_FRAME_PAYLOAD, MAX_FRAME_PAYLOAD];
  const asked: { room: number; needed: number }[] = [];
  let needed = 0;
  const reader = new BufferedReader({
    read: (buffer) => {
      asked.push({ room: buffer.length, needed });
      return b.read(buffer);
    },
    write: (data) => b.write(data),
    close: () => b.close(),
  });
  const sending = (async () => {
    for (const [i, size] of sizes.entries()) {
      const bytes = new Uint8Array(size).fill(i + 1);
      for (let at = 0; at < size;) at += await a.write(bytes.subarray(at));
    }
  })();
  for (const [i, size] of sizes.entries()) {
    needed = size;
    const bytes = await reader.readExact(size, "a test block");
    assert.ok(bytes);
    assert.equal(bytes.length, size);
    assert.ok(bytes.every((byte) => byte === i + 1), `block ${i} intact`);
  }
  await sending;
  for (const { room, needed } of asked) {
    assert.ok(
      room <= needed + 64 * 1024,
      `asked for ${room} bytes to complete ${needed}`,
    );
  }
});
