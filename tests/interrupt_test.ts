/**
 * Ctrl-C on the client, with real processes: it says how to go on and
 * exits 130, the server logs in plain words that the client left and what
 * it kept, and the same command resumes. The server's own stop is in
 * `server_stop_test.ts`.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { waitForPause, waitForSize } from "./conditions.ts";
import { FaultProxy } from "./fault_proxy.ts";
import {
  finish,
  randomFile,
  runClient,
  spawnClient,
  stagedPath,
  startServer,
  tempDir,
} from "./helpers.ts";

const MiB = 1024 * 1024;

Deno.test("Ctrl-C on the client: one line on how to resume, status 130, a plain line on the server", async () => {
  await using source = await tempDir();
  await using dest = await tempDir();
  const data = await randomFile(join(source.path, "big.bin"), 64 * MiB);
  await using server = await startServer(["--dir", dest.path]);
  // Held half-way however fast it goes, so that Ctrl-C comes mid-file.
  await using proxy = new FaultProxy(server.port, () => ({ kind: "none" }));
  const args = [`127.0.0.1:${proxy.port}`, join(source.path, "big.bin")];
  for (const json of [false, true]) {
    const kept = (await Deno.stat(stagedPath(dest.path, "big.bin"))
      .catch(() => null))?.size ?? 0;
    proxy.pauseAfter(proxy.bytesUpstream + 16 * MiB);
    const client = spawnClient(json ? ["--json", ...args] : args);
    await waitForPause(proxy);
    await waitForSize(stagedPath(dest.path, "big.bin"), kept + 8 * MiB);
    client.kill("SIGINT");
    const result = await finish(client);
    proxy.resume();
    assert.equal(result.code, 130, result.stderr);
    assert.match(
      result.stderr,
      /(^|\n)interrupted: run the same command again to resume\n$/,
    );
    if (json) {
      const last = JSON.parse(result.stdout.trimEnd().split("\n").at(-1)!);
      assert.equal(last.type, "error");
      assert.equal(
        last.message,
        "interrupted: run the same command again to resume",
      );
      assert.equal(last.fatal, true);
    }
  }
  // Each left a plain line, the sizes in MiB; nothing that sounds like
  // tampering.
  await server.waitFor(
    /(\] error: Client left in the middle of a file; kept [\d.]+ MiB of 64\.0 MiB of "big\.bin" for a resume\n[^]*){2}/,
  );
  const log = server.stdout + server.stderr;
  assert.doesNotMatch(log, /middle of a record|\d{6,} bytes/);
  assert.match(log, /resuming big\.bin at [\d.]+ MiB of 64\.0 MiB/);
  const again = await runClient(args);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /resuming {2}big\.bin {2}from [\d.]+ MiB/);
  assert.deepEqual(await Deno.readFile(join(dest.path, "big.bin")), data);
});
