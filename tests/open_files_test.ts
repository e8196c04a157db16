/**
 * A server whose process may open few files still saves every file of
 * several sessions of small files at once: verified files go in place,
 * and are closed, before sessions open more (fd_file.ts's
 * descriptorsCrowded), instead of the later files failing with "too many
 * open files".
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { runClient, startServer, tempDir } from "./helpers.ts";

/** Files each client sends: more than the server may have open at all. */
const FILES = 600;

/** Descriptors the server may have open. */
const LIMIT = 200;

/** Whether `prlimit` (util-linux) is here to run the server with a limit. */
async function havePrlimit(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("prlimit", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

Deno.test("two sessions of 600 small files each all verify on a server that may open 200 files", async () => {
  if (Deno.build.os !== "linux" || !await havePrlimit()) {
    console.log("skipped: needs Linux and prlimit (util-linux)");
    return;
  }
  await using tmp = await tempDir();
  const sources = ["one", "two"].map((name) => join(tmp.path, name));
  for (const source of sources) {
    await Deno.mkdir(source);
    for (let i = 0; i < FILES; i++) {
      const data = crypto.getRandomValues(new Uint8Array(1024));
      await Deno.writeFile(join(source, `f${i}.bin`), data);
    }
  }
  const dest = join(tmp.path, "dest");
  await Deno.mkdir(dest);
  await using server = await startServer(["--dir", dest], {}, [
    "prlimit",
    `--nofile=${LIMIT}:${LIMIT}`,
  ]);
  const address = `127.0.0.1:${server.port}`;
  const results = await Promise.all(
    sources.map((source) => runClient([address, source])),
  );
  for (const result of results) {
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr + result.stdout,
      new RegExp(`${FILES} of ${FILES} files sent and verified`),
    );
  }
  assert.doesNotMatch(server.stderr, /Too many open files/);
  for (const name of ["one", "two"]) {
    assert.equal(
      Array.from(Deno.readDirSync(join(dest, name))).length,
      FILES,
    );
  }
});
