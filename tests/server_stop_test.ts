/**
 * Stopping the server by signal, with real processes on loopback: the
 * first SIGINT or SIGTERM stops it gracefully, keeping what arrived; a
 * second one ends it at once.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { waitForHashing, waitForPause, waitForSize } from "./conditions.ts";
import { FaultProxy } from "./fault_proxy.ts";
import {
  finish,
  randomFile,
  spawnClient,
  stagedPath,
  startServer,
  tempDir,
} from "./helpers.ts";

const MiB = 1024 * 1024;

Deno.test("SIGTERM stops the server gracefully, keeping what arrived", async () => {
  await using source = await tempDir();
  await using dest = await tempDir();
  await randomFile(join(source.path, "big.bin"), 120 * MiB);
  // Were the server to wait for its held session, the client would give up
  // on it first, after two minutes: a server that exits while its client
  // still waits did not wait.
  await using server = await startServer([
    "--dir",
    dest.path,
    "--idle-timeout",
    "300",
  ]);
  await using proxy = new FaultProxy(server.port, () => ({ kind: "none" }));
  proxy.pauseAfter(16 * MiB);
  const client = spawnClient([
    "--retries",
    "0",
    "--idle-timeout",
    "120",
    `127.0.0.1:${proxy.port}`,
    join(source.path, "big.bin"),
  ]);
  let clientEnded = false;
  client.status.finally(() => clientEnded = true);
  await waitForPause(proxy);
  await waitForSize(stagedPath(dest.path, "big.bin"), 10 * MiB);
  server.child.kill("SIGTERM");
  const exit = await server.exited();
  assert.equal(exit.code, 0, exit.stderr);
  assert.ok(!clientEnded, "the server did not wait for its session to end");
  assert.match(exit.stderr, /stopping: no new connections/);
  assert.match(
    exit.stderr,
    /Server is stopping; kept [\d.]+ MiB of [\d.]+ MiB of "big\.bin" for a resume/,
  );
  assert.doesNotMatch(exit.stderr, /Bad resource|operation canceled/);
  assert.ok((await Deno.stat(stagedPath(dest.path, "big.bin"))).size > 0);
  proxy.resume();
  assert.equal((await finish(client)).code, 1);
});

Deno.test("a second signal ends the server at once, while the first waits", async () => {
  await using source = await tempDir();
  await using dest = await tempDir();
  // The server hashes its copy to check the client's proof (the client
  // hashes its own first): a session busy on its own disk, which closing
  // its connection does not interrupt.
  const copy = join(dest.path, "sparse.bin");
  for (const path of [join(source.path, "sparse.bin"), copy]) {
    using file = await Deno.open(path, { write: true, create: true });
    await file.truncate(4 * 1024 * MiB);
  }
  await using server = await startServer(["--dir", dest.path]);
  const client = spawnClient([
    "--retries",
    "0",
    `127.0.0.1:${server.port}`,
    join(source.path, "sparse.bin"),
  ]);
  try {
    await waitForHashing(server.child.pid, copy);
    server.child.kill("SIGINT");
    await server.waitFor(/stopping: no new connections/);
    server.child.kill("SIGINT");
    const exit = await server.exited();
    // Only the second signal's handler exits with 130, and at once; after
    // the first alone the server would exit 0 at the end of its grace.
    assert.equal(exit.code, 130, exit.stderr);
    assert.match(exit.stderr, /stopping now/);
  } finally {
    try {
      client.kill("SIGKILL");
    } catch {
      // It saw the server go.
    }
    await finish(client);
  }
});
