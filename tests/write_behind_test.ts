import assert from "node:assert/strict";
import { join } from "node:path";
import { WriteBehind } from "../lib/store/write_behind.ts";
import { tempDir } from "./helpers.ts";

function filled(size: number, value: number): Uint8Array {
  return new Uint8Array(size).fill(value);
}

Deno.test("chunks of every size reach the file in order", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "out.bin");
  const chunks = [
    filled(10, 1),
    filled(200_000, 2),
    filled(5, 3),
    filled(1024 * 1024, 4),
    filled(70_000, 5),
    filled(1024 * 1024 - 1, 6),
    filled(7, 7),
  ];
  const expected = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    expected.set(chunk, at);
    at += chunk.length;
  }
  {
    using file = await Deno.open(path, { write: true, create: true });
    const writer = new WriteBehind(file);
    for (const [i, chunk] of chunks.entries()) {
      await writer.write(chunk, i % 2 === 1);
    }
    await writer.finish();
  }
  assert.deepEqual(await Deno.readFile(path), expected);
  // Large chunks handed over are freed once written; the others are not
  // the writer's to touch.
  for (const [i, chunk] of chunks.entries()) {
    const large = chunk === chunks[1] || chunk === chunks[3] ||
      chunk === chunks[5];
    assert.equal(chunk.byteLength === 0, large, `chunk ${i}`);
  }
});

Deno.test("a failed write is reported, not lost", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "read-only.bin");
  await Deno.writeFile(path, new Uint8Array(0));
  using file = await Deno.open(path, { read: true });
  const writer = new WriteBehind(file);
  // Small chunks are only gathered; the failure shows when they are written.
  await writer.write(filled(100, 1), false);
  await assert.rejects(() => writer.finish());
  const direct = new WriteBehind(file);
  await direct.write(filled(100_000, 1), true);
  await direct.write(filled(10, 2), false).catch(() => {});
  await assert.rejects(() => direct.finish());
});

Deno.test("a small remainder is written at once, without a hand-off", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "small.bin");
  using file = await Deno.open(path, { write: true, create: true });
  const calls: string[] = [];
  // The real file, with each call noted.
  const noted = {
    write(data: Uint8Array) {
      calls.push("write");
      return file.write(data);
    },
    writeSync(data: Uint8Array) {
      calls.push("writeSync");
      return file.writeSync(data);
    },
    syncData: () => file.syncData(),
  };
  const writer = new WriteBehind(noted, 7);
  await writer.write(Uint8Array.of(1, 2, 3, 4), false);
  await writer.write(Uint8Array.of(5, 6, 7), false);
  await writer.finish();
  assert.deepEqual(
    await Deno.readFile(path),
    Uint8Array.of(1, 2, 3, 4, 5, 6, 7),
  );
  assert.deepEqual(calls, ["writeSync"]);
});
