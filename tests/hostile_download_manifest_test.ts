/**
 * A hostile sharing server's manifests against `client.ts --get`, as
 * `hostile_manifest_test.ts` has a hostile client's against the server:
 * entry fields out of range or of the wrong type, entries that contradict
 * each other, more entries or bytes than a client takes, with the client's
 * memory bounded.
 *
 * The checks every case gets are in `hostile_download_harness.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileEntry, folderEntry } from "./hostile_client.ts";
import { type Entry, MAX_ENTRIES, MAX_MANIFEST_BYTES } from "../protocol.ts";
import {
  assertRefused,
  Downloads,
  getFrom,
} from "./hostile_download_harness.ts";
import { HostileSharer } from "./hostile_sharer.ts";
import { manifestWith } from "./hostile_harness.ts";
import { BAD_ENTRY_FIELDS } from "./manifest_cases.ts";
import { finish, listTree, sleep, spawnClient } from "./helpers.ts";

const MiB = 1024 * 1024;

Deno.test("hostile sharer: out-of-range entry fields are refused", async (t) => {
  for (const [name, changes, phrase] of BAD_ENTRY_FIELDS) {
    await t.step(name, async () => {
      const result = await getFrom(async (s) => {
        await s.send(manifestWith(changes));
        await s.readToEnd();
      });
      assertRefused(result, new RegExp(RegExp.escape(phrase)));
    });
  }
  await t.step("an entry that is not an object", async () => {
    const result = await getFrom(async (s) => {
      await s.send({ type: "manifest", entries: [[]], more: false });
      await s.readToEnd();
    });
    assertRefused(result, /manifest entry 0 is not an object/);
  });
});

Deno.test("hostile sharer: inconsistent manifests are refused", async (t) => {
  const cases: [string, Entry[][], RegExp][] = [
    [
      "duplicate paths",
      [[fileEntry("dup.txt", 1), fileEntry("dup.txt", 2)]],
      /Manifest lists "dup\.txt" more than once/,
    ],
    [
      "duplicate paths across manifest frames",
      [[folderEntry("dup2")], [fileEntry("dup2", 1)]],
      /Manifest lists "dup2" more than once/,
    ],
    [
      "a file below a file",
      [[fileEntry("a", 1), fileEntry("a/b", 1)]],
      /Manifest puts "a\/b" below a file/,
    ],
    [
      "a folder deep below a file",
      [[folderEntry("f/g/h"), fileEntry("f", 1)]],
      /Manifest puts "f\/g\/h" below a file/,
    ],
  ];
  for (const [name, parts, phrase] of cases) {
    await t.step(name, async () => {
      const result = await getFrom(async (s) => {
        for (const [i, entries] of parts.entries()) {
          await s.send({
            type: "manifest",
            entries,
            more: i < parts.length - 1,
          });
        }
        await s.readToEnd();
      });
      assertRefused(result, phrase);
    });
  }
});

/**
 * Sends `frames` manifest parts of `part(frame)` entries, each with more
 * to come, to a client that must stop at the part that crosses a limit
 * with the one line `message`, its memory bounded meanwhile.
 */
async function floods(
  part: (frame: number) => Entry[],
  frames: number,
  message: string,
): Promise<void> {
  await using downloads = await Downloads.make();
  let answer: unknown;
  await using sharer = new HostileSharer(async (s) => {
    for (let frame = 0; frame < frames; frame++) {
      await s.send({ type: "manifest", entries: part(frame), more: true });
    }
    answer = (await s.readToEnd()).at(-1);
  });
  const child = spawnClient([
    "--get",
    "--retries",
    "0",
    `127.0.0.1:${sharer.port}`,
    "--dir",
    downloads.dir,
  ]);
  // The peak so far, read until the client is gone: it holds the most
  // just before the part that crosses the limit.
  let peakKiB = 0;
  let running = true;
  const watching = (async () => {
    while (running) {
      const status = await Deno.readTextFile(`/proc/${child.pid}/status`)
        .catch(() => "");
      const kib = Number(status.match(/VmHWM:\s+(\d+) kB/)?.[1] ?? 0);
      peakKiB = Math.max(peakKiB, kib);
      await sleep(10);
    }
  })();
  const client = await finish(child);
  running = false;
  await watching;
  console.log(`client peak RSS ${Math.round(peakKiB / 1024)} MiB`);
  assert.equal(client.code, 1, client.stdout + client.stderr);
  assert.equal(client.stderr, `client: ${message}\n`);
  assert.deepEqual(answer, { type: "error", message });
  assert.ok(peakKiB > 0, "the client's memory was seen");
  assert.ok(peakKiB * 1024 < 1024 * MiB, `peak RSS ${peakKiB} KiB`);
  assert.deepEqual(await listTree(downloads.dir), []);
}

Deno.test("hostile sharer: more than a client takes in one download", async (t) => {
  await t.step(
    "files totalling more than 1 TiB, in the client's words",
    async () => {
      const result = await getFrom(async (s) => {
        await s.manifest([
          fileEntry("a.bin", 2 ** 49),
          fileEntry("b.bin", 2 ** 49),
        ]);
        await s.readToEnd();
      });
      assertRefused(
        result,
        /^client: The files total 1\.0 PiB, more than the 1\.0 TiB this client takes in one download$/,
      );
      assert.deepEqual(result.staged, []);
    },
  );
  await t.step(
    `more than MAX_ENTRIES (${MAX_ENTRIES}) entries, within a bounded memory`,
    async () => {
      const perFrame = 15_000;
      const frames = Math.ceil((MAX_ENTRIES + 1) / perFrame);
      await floods(
        (frame) =>
          Array.from(
            { length: Math.min(perFrame, MAX_ENTRIES + 1 - frame * perFrame) },
            (_, i) => folderEntry(`e${frame * perFrame + i}`),
          ),
        frames,
        `Manifest has more than ${MAX_ENTRIES} entries`,
      );
    },
  );
  await t.step(
    `more than MAX_MANIFEST_BYTES (${MAX_MANIFEST_BYTES}) of long paths, within a bounded memory`,
    async () => {
      // About 3.8 KB a path, 250 paths a frame of under 1 MiB.
      const long = ("p".repeat(250) + "/").repeat(15);
      const frames = Math.ceil(MAX_MANIFEST_BYTES / (250 * 3800)) + 2;
      await floods(
        (frame) =>
          Array.from(
            { length: 250 },
            (_, i) => fileEntry(`${long}${frame}-${i}`, 1),
          ),
        frames,
        `Manifest is larger than ${MAX_MANIFEST_BYTES} bytes`,
      );
    },
  );
});
