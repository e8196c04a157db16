/**
 * Hostile peers with compressed data frames: a record that declares more
 * than 1 MiB (a decompression bomb), one that does not decompress, one
 * that is not a zstd frame, one that decompresses to more than the file
 * announced, and one outside a file. The receiving server refuses each in
 * one clear line, puts nothing under a final name and keeps serving (the
 * checks of `hostile_harness.ts`); a client that gets files refuses them
 * too. A valid compressed record from a peer built on protocol.ts is
 * taken and verified.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { zstdCompressSync } from "node:zlib";
import { FrameType, MAX_DECOMPRESSED_PAYLOAD } from "../protocol.ts";
import { compressRecord } from "../lib/transfer/zstd_records.ts";
import { listTree, runClient, startServer, tempDir } from "./helpers.ts";
import { fileEntry, type HostileClient } from "./hostile_client.ts";
import { encoder, Harness, offer, sha256 } from "./hostile_harness.ts";
import { HostileSharer, type SharerSession } from "./hostile_sharer.ts";

/** Text that compresses well. */
function text(size: number): Uint8Array {
  const line = encoder.encode("GET /index.html 200 512 bytes in 3 ms\n");
  const bytes = new Uint8Array(size);
  for (let at = 0; at < size; at += line.length) {
    bytes.set(line.subarray(0, size - at), at);
  }
  return bytes;
}

/** 64 MiB of zeros as one zstd frame that says so: a few KiB. */
function bomb(): Uint8Array {
  const size = 64 * 1024 * 1024;
  return zstdCompressSync(
    new Uint8Array(size),
    {
      pledgedSrcSize: size,
    } as Parameters<typeof zstdCompressSync>[1],
  );
}

/** A valid frame of 200,000 bytes whose blocks are then damaged. */
function corrupt(): Uint8Array {
  const frame = compressRecord(text(200_000), 1)!.slice();
  // After the 9-byte header: a compressed block of 40 bytes of 0xff.
  const damaged = frame.slice(0, 9 + 3 + 40);
  damaged.set([0x05 | ((40 << 3) & 0xff), (40 << 3) >> 8, 0], 9);
  damaged.fill(0xff, 12);
  return damaged;
}

Deno.test("hostile: compressed data frames that are bombs, damaged or out of place", async (t) => {
  await using tmp = await tempDir();
  const args = await Harness.layout(tmp.path);
  await using server = await startServer(args);
  const h = new Harness(tmp.path, server);

  /** Offers one file of `size` and starts it. */
  async function start(c: HostileClient, name: string, size: number) {
    const decisions = await offer(c, [fileEntry(name, size)]);
    assert.equal(decisions.type, "decisions");
    await c.send({ type: "file", index: 0, offset: 0 });
  }

  await h.step(
    t,
    "a valid compressed record is taken and verified",
    async () => {
      const client = await h.connect();
      await client.handshake();
      const data = text(300_000);
      await start(client, "fine.log", data.length);
      await client.frame(FrameType.Compressed, compressRecord(data, 3)!);
      await client.send({ type: "end", index: 0, sha256: sha256(data) });
      await client.send({ type: "done" });
      const { messages } = await client.readToEnd();
      assert.deepEqual(messages, [
        { type: "verified", index: 0, sha256: sha256(data) },
        { type: "summary", verified: 1, failed: 0 },
      ]);
      assert.deepEqual(await Deno.readFile(join(h.dest, "fine.log")), data);
      await Deno.remove(join(h.dest, "fine.log"));
      await h.assertClean();
    },
  );
  await h.step(t, "a record that declares 64 MiB", () =>
    h.rejects({
      phrase:
        `Compressed frame from peer declares 67108864 bytes, more than the limit of ${MAX_DECOMPRESSED_PAYLOAD}`,
      absent: ["bomb.bin"],
      act: async (c) => {
        await start(c, "bomb.bin", 100 * 1024 * 1024);
        await c.frame(FrameType.Compressed, bomb());
      },
    }));
  await h.step(t, "a record that fails to decompress", () =>
    h.rejects({
      phrase: /Compressed frame from peer fails to decompress: \S/,
      absent: ["corrupt.log"],
      act: async (c) => {
        await start(c, "corrupt.log", 200_000);
        await c.frame(FrameType.Compressed, corrupt());
      },
    }));
  await h.step(t, "a record that is not a zstd frame", () =>
    h.rejects({
      phrase: "Compressed frame from peer is not a zstd frame",
      absent: ["plain.log"],
      act: async (c) => {
        await start(c, "plain.log", 1000);
        await c.frame(FrameType.Compressed, text(1000));
      },
    }));
  await h.step(
    t,
    "a record that decompresses to more than the file",
    () =>
      h.rejects({
        phrase: 'Client sent more bytes than announced for "over.log"',
        absent: ["over.log"],
        act: async (c) => {
          await start(c, "over.log", 1000);
          await c.frame(FrameType.Compressed, compressRecord(text(5000), 1)!);
        },
      }),
  );
  await h.step(t, "a compressed record outside a file", () =>
    h.rejects({
      phrase: "Client sent file data outside a file",
      act: async (c) => {
        await offer(c, [fileEntry("outside.log", 5000)]);
        await c.frame(FrameType.Compressed, compressRecord(text(5000), 1)!);
      },
    }));
  await h.step(
    t,
    "after a good record, a bad one keeps what arrived",
    () =>
      h.rejects({
        phrase: /Compressed frame from peer fails to decompress: \S/,
        absent: ["half.log"],
        act: async (c) => {
          const data = text(MAX_DECOMPRESSED_PAYLOAD);
          await start(c, "half.log", 2 * data.length);
          await c.frame(FrameType.Compressed, compressRecord(data, 1)!);
          await c.frame(FrameType.Compressed, corrupt());
        },
      }),
  );
  await h.normalTransfer("after.txt");
});

Deno.test("hostile sharer: a compressed bomb or a damaged one never gets a name", async () => {
  for (
    const [frame, phrase] of [
      [bomb(), /declares 67108864 bytes, more than the limit of 1048576/],
      [corrupt(), /Compressed frame from peer fails to decompress: \S/],
    ] as const
  ) {
    await using root = await tempDir();
    const dir = join(root.path, "dir");
    await Deno.mkdir(dir);
    await using sharer = new HostileSharer(async (s: SharerSession) => {
      await s.manifest([fileEntry("big.log", 100 * 1024 * 1024)]);
      await s.receive();
      await s.send({ type: "file", index: 0, offset: 0 });
      await s.channel.send(FrameType.Compressed, frame);
      await s.channel.flush();
      await s.readToEnd();
    });
    const client = await runClient([
      "--get",
      "--retries",
      "0",
      `127.0.0.1:${sharer.port}`,
      "--dir",
      dir,
    ]);
    assert.equal(client.code, 1, client.stdout + client.stderr);
    const lines = client.stderr.trim().split("\n");
    assert.equal(lines.length, 1, client.stderr);
    assert.match(lines[0], phrase);
    // Only the client's own staging folder, with nothing under a name.
    assert.deepEqual(
      (await listTree(dir)).filter((path) => !path.startsWith(".ft-staging")),
      [],
    );
  }
});
