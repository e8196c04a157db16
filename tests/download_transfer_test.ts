/**
 * Downloads end to end where they differ from uploads: twenty clients
 * getting the same shared file at once, and a sharing server that goes on
 * until a client got everything. What both directions have is in
 * `transfer_test.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { randomFile, runClient, startServer, tempDir } from "./helpers.ts";

const MiB = 1024 * 1024;

/** `client.ts --get` from 127.0.0.1:`port` into `dir`, and `args`. */
function get(port: number, dir: string, ...args: string[]) {
  return runClient(["--get", ...args, `127.0.0.1:${port}`, "--dir", dir]);
}

Deno.test("20 clients at once all get the shared files verified", async () => {
  await using source = await tempDir();
  const data = await randomFile(join(source.path, "shared.bin"), MiB + 7);
  await using server = await startServer([
    "--share",
    "--keep-sharing",
    join(source.path, "shared.bin"),
  ]);
  const dests = await Promise.all(Array.from({ length: 20 }, () => tempDir()));
  try {
    const results = await Promise.all(
      dests.map((dest) => get(server.port, dest.path)),
    );
    for (const result of results) assert.equal(result.code, 0, result.stderr);
    for (const dest of dests) {
      assert.deepEqual(
        await Deno.readFile(join(dest.path, "shared.bin")),
        data,
      );
    }
    await server.waitFor(
      /(\] done: 1 of 1 files sent and verified, 0 already there, 0 failed[^]*){20}/,
    );
  } finally {
    for (const dest of dests) await dest[Symbol.asyncDispose]();
  }
});

Deno.test("a sharing server goes on after a client that did not get everything, and ends after one that did", async () => {
  await using source = await tempDir();
  await using refusing = await tempDir();
  await using dest = await tempDir();
  await Deno.writeTextFile(join(source.path, "x.txt"), "the server's\n");
  await Deno.writeTextFile(join(refusing.path, "x.txt"), "mine, kept\n");
  await using server = await startServer([
    "--share",
    join(source.path, "x.txt"),
  ]);
  const refused = await get(server.port, refusing.path);
  assert.equal(refused.code, 1);
  await server.waitFor(
    /done: 0 of 1 files sent and verified, 0 already there, 1 failed/,
  );
  const whole = await get(server.port, dest.path);
  assert.equal(whole.code, 0, whole.stderr);
  const exit = await server.exited();
  assert.equal(exit.code, 0, exit.stderr);
  assert.equal(
    await Deno.readTextFile(join(refusing.path, "x.txt")),
    "mine, kept\n",
  );
});
