import assert from "node:assert/strict";
import { join } from "node:path";
import { writeAll, writeAllSync } from "../lib/common/write_all.ts";
import { socketPair, tempDir } from "./helpers.ts";

Deno.test("writeAll gets a buffer larger than the socket's through whole", async () => {
  using pair = await socketPair();
  const [a, b] = pair;
  const data = crypto.getRandomValues(new Uint8Array(65536));
  const big = new Uint8Array(8 * 1024 * 1024);
  for (let at = 0; at < big.length; at += data.length) big.set(data, at);
  const writing = writeAll(a, big).then(() => a.close());
  const received = await new Response(b.readable).bytes();
  await writing;
  assert.deepEqual(received, big);
});

Deno.test("writeAllSync writes every byte to a file", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "out.bin");
  const data = new Uint8Array(3 * 65536 + 5).map((_, i) => i * 7 % 251);
  {
    using file = await Deno.open(path, { write: true, create: true });
    writeAllSync(file, data);
  }
  assert.deepEqual(await Deno.readFile(path), data);
});
