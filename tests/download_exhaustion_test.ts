/**
 * Trees that cost the client folder work, as `exhaustion_test.ts` has them
 * cost the server: a shared tree 255 folders deep with thousands of files
 * at the bottom is got whole, the sharing server's idle timeout never
 * striking while the client decides on it, and another client downloads
 * from the same server meanwhile. (Paths deeper than the limit, and
 * manifests larger than a client holds, are in the hostile_download tests.)
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { runClient, startServer, tempDir } from "./helpers.ts";

/**
 * The idle timeout of every side: short enough that a side kept waiting
 * on the other's folder work would be dropped, long enough that a loaded
 * machine (a load of 17 on 2 cores dropped one at 5 s) does not drop
 * an honest one.
 */
const IDLE = "15";

Deno.test("a shared tree 255 folders deep with 5000 files at the bottom is got whole, and another client is served meanwhile", async () => {
  await using source = await tempDir();
  await using deepDest = await tempDir();
  await using otherDest = await tempDir();
  const bottom = join(source.path, "d", ...Array(254).fill("d"));
  await Deno.mkdir(bottom, { recursive: true });
  for (let i = 0; i < 5000; i++) {
    await Deno.writeFile(join(bottom, `f${i}`), new Uint8Array(0));
  }
  await Deno.writeTextFile(join(source.path, "main.txt"), "main\n");
  await using server = await startServer([
    "--share",
    "--keep-sharing",
    "--idle-timeout",
    IDLE,
    join(source.path, "d"),
    join(source.path, "main.txt"),
  ]);
  const [deep, other] = await Promise.all([
    runClient([
      "--get",
      "--idle-timeout",
      IDLE,
      "--retries",
      "0",
      `127.0.0.1:${server.port}`,
      "--dir",
      deepDest.path,
    ]),
    runClient([
      "--get",
      "--idle-timeout",
      IDLE,
      `127.0.0.1:${server.port}`,
      "--dir",
      otherDest.path,
    ]),
  ]);
  assert.equal(deep.code, 0, deep.stderr);
  assert.match(
    deep.stdout,
    /5001 of \d+ files received and verified, 0 already there, 0 failed/,
  );
  assert.equal(other.code, 0, other.stderr);
  const got = join(deepDest.path, "d", ...Array(254).fill("d"));
  assert.equal((await Array.fromAsync(Deno.readDir(got))).length, 5000);
  assert.equal(
    await Deno.readTextFile(join(otherDest.path, "main.txt")),
    "main\n",
  );
  assert.doesNotMatch(server.stderr, /error/);
});
