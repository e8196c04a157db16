/**
 * Full disks on the side that receives, in both directions (see
 * `directions.ts`), on a small tmpfs this test mounts: a session that
 * cannot fit is refused before any data, and a disk that fills in the
 * middle of a file fails that file on both sides, keeps what arrived and
 * lets the same command resume once there is room. Skipped, with the
 * reason printed, where mounting is not permitted.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { waitForPause, waitForSize } from "./conditions.ts";
import { DIRECTIONS, pauseDataAfter, startTransfer } from "./directions.ts";
import { FaultProxy } from "./fault_proxy.ts";
import {
  listTree,
  randomFile,
  stagedFiles,
  stagedPath,
  tempDir,
} from "./helpers.ts";
import { smallDisk, smallDiskUnavailable } from "./small_disk.ts";

const MiB = 1024 * 1024;

const probe = await smallDiskUnavailable();
if (probe !== null) {
  console.log(`disk_full_test: skipped, cannot mount a tmpfs here: ${probe}`);
}

/** What the client says of a session that cannot fit. */
const NO_ROOM = {
  upload:
    /Not enough space on the server: the files need 40\.0 MiB and [\d.]+ MiB is free/,
  download:
    /^client: Not enough space on the client: the files need 40\.0 MiB and [\d.]+ MiB is free\n$/,
};

/** What the server logs of a session that cannot fit. */
const NO_ROOM_LOG = {
  upload: /error: Not enough space on the server/,
  download: /error: Client error: Not enough space on the client/,
};

/** What the client says of a file the receiving side could not save. */
const FULL = {
  upload: /failed {2}big\.bin: server: cannot save: No space left on device/,
  download: /^failed {2}big\.bin: cannot save: No space left on device/,
};

/** What the server logs of it. */
const FULL_LOG = {
  upload: /failed big\.bin: cannot save: No space left on device/,
  download: /failed big\.bin: client: cannot save: No space left on device/,
};

for (const direction of DIRECTIONS) {
  Deno.test({
    name: `a session that cannot fit is refused before any data (${direction})`,
    ignore: probe !== null,
    async fn() {
      await using disk = await smallDisk(32);
      await using source = await tempDir();
      const dest = join(disk.path, "dest");
      await Deno.mkdir(dest);
      await randomFile(join(source.path, "big.bin"), 40 * MiB);
      await using transfer = await startTransfer(direction, {
        sources: [join(source.path, "big.bin")],
        dest,
        keep: true,
      });
      const result = await transfer.run();
      assert.equal(result.code, 1);
      assert.match(result.stderr, NO_ROOM[direction]);
      await transfer.server.waitFor(NO_ROOM_LOG[direction]);
      assert.deepEqual(await listTree(dest), []);
      assert.deepEqual(await stagedFiles(dest), []);
    },
  });

  Deno.test({
    name:
      `a disk that fills in the middle of a file fails it on both sides and keeps what arrived (${direction})`,
    ignore: probe !== null,
    async fn() {
      await using disk = await smallDisk(48);
      await using source = await tempDir();
      const dest = join(disk.path, "dest");
      await Deno.mkdir(dest);
      const data = await randomFile(join(source.path, "big.bin"), 40 * MiB);
      await using transfer = await startTransfer(direction, {
        sources: [join(source.path, "big.bin")],
        dest,
        keep: true,
      });
      await using proxy = new FaultProxy(
        transfer.server.port,
        () => ({ kind: "none" }),
      );
      // Hold the data at 8 MiB, however fast it flows, and fill the disk
      // behind the receiving side's back once some reached it.
      pauseDataAfter(direction, proxy, 8 * MiB);
      const client = transfer.run([], { port: proxy.port });
      const partial = stagedPath(dest, "big.bin");
      await waitForPause(proxy);
      await waitForSize(partial, 0);
      const filler = join(disk.path, "filler.bin");
      await Deno.writeFile(filler, new Uint8Array(100 * MiB)).catch(() => {});
      proxy.resume();
      const result = await client;
      assert.equal(result.code, 1, result.stdout + result.stderr);
      assert.match(result.stderr, FULL[direction]);
      await transfer.server.waitFor(FULL_LOG[direction]);
      const kept = (await Deno.stat(partial)).size;
      assert.ok(kept > 0, "what arrived is kept");
      assert.equal(
        await Deno.stat(join(dest, "big.bin")).catch(() => null),
        null,
      );
      // With room again, the same command resumes and completes.
      await Deno.remove(filler);
      const again = await transfer.run([], { port: proxy.port });
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /resuming {2}big\.bin {2}from /);
      assert.deepEqual(await Deno.readFile(join(dest, "big.bin")), data);
      assert.deepEqual(await stagedFiles(dest), []);
    },
  });
}
