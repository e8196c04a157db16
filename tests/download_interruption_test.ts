/**
 * Interrupted downloads, with real processes on loopback, as
 * `interruption_test.ts` has them for uploads: a client killed and run
 * again. A server killed and restarted and connections cut or dropped by
 * a proxy run in both directions in `interruption_test.ts`. Stalls are in
 * `download_stall_test.ts`, files that change on the sharing side in
 * `download_change_test.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { waitForPause, waitForSize } from "./conditions.ts";
import { FaultProxy } from "./fault_proxy.ts";
import {
  finish,
  listTree,
  randomFile,
  runClient,
  spawnClient,
  stagedFiles,
  stagedPath,
  startServer,
  tempDir,
} from "./helpers.ts";

const MiB = 1024 * 1024;

/** The client's JSON events of one run. */
function events(stdout: string): Record<string, unknown>[] {
  return stdout.split("\n").filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line));
}

/** The offset the run started `path` from, by its events. */
function startedFrom(stdout: string, path: string): number | undefined {
  return events(stdout).find((event) =>
    event.type === "file-start" && event.path === path
  )?.offset as number | undefined;
}

Deno.test("a client killed at several points resumes from all it kept, with the same command", async () => {
  await using source = await tempDir();
  await using dest = await tempDir();
  const size = 200 * MiB;
  const small = await randomFile(join(source.path, "small.bin"), 3 * MiB);
  const data = await randomFile(join(source.path, "big.bin"), size);
  await using server = await startServer([
    "--share",
    "--keep-sharing",
    join(source.path, "small.bin"),
    join(source.path, "big.bin"),
  ]);
  // The proxy holds each run a few MiB past its kill point, so that the
  // client is killed there however fast the download goes.
  await using proxy = new FaultProxy(server.port, () => ({ kind: "none" }));
  const args = [
    "--get",
    "--json",
    `127.0.0.1:${proxy.port}`,
    "--dir",
    dest.path,
  ];
  const partial = stagedPath(dest.path, "big.bin");
  const kills = [20, 80, 150].map((n) => n * MiB);
  let kept = 0;
  const outputs: string[] = [];
  for (const [i, at] of kills.entries()) {
    // The small file comes first, in the first run only.
    const ahead = i === 0 ? small.length : 0;
    proxy.pauseAfterDown(proxy.bytesDownstream + ahead + at - kept + 4 * MiB);
    const client = spawnClient(args);
    await waitForPause(proxy);
    await waitForSize(partial, at);
    client.kill("SIGKILL");
    const killed = await finish(client);
    outputs.push(killed.stdout);
    proxy.resume();
    // Whatever reached the disk is what the next run must resume from.
    assert.equal(startedFrom(killed.stdout, "big.bin"), kept);
    kept = (await Deno.stat(partial)).size;
    assert.ok(kept > at, `${kept} kept after the kill at ${at}`);
  }
  const before = proxy.bytesDownstream;
  const last = await runClient(args);
  assert.equal(last.code, 0, last.stderr);
  assert.equal(startedFrom(last.stdout, "big.bin"), kept);
  // The small file was verified in the first run: it is already there in
  // the next, or, when the kill came before the client put it in place,
  // resumed from its whole length.
  for (const stdout of [...outputs.slice(1), last.stdout]) {
    const offset = startedFrom(stdout, "small.bin");
    assert.ok(offset === undefined || offset === small.length, `${offset}`);
  }
  // Nothing of what was kept came again: the rest, and the few records
  // and messages around it.
  const again = proxy.bytesDownstream - before;
  assert.ok(again < size - kept + MiB, `${again} bytes for ${size - kept}`);
  assert.deepEqual(await Deno.readFile(join(dest.path, "big.bin")), data);
  assert.deepEqual(await Deno.readFile(join(dest.path, "small.bin")), small);
  assert.deepEqual(await listTree(dest.path), ["big.bin", "small.bin"]);
  assert.deepEqual(await stagedFiles(dest.path), []);
});
