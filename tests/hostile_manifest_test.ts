/**
 * Hostile clients against the manifest: entry fields out of range or of
 * the wrong type, and entries that contradict each other (duplicates,
 * entries below a file), with the server's memory bounded.
 *
 * The checks every case gets are in `hostile_harness.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { startServer, tempDir } from "./helpers.ts";
import { fileEntry, folderEntry } from "./hostile_client.ts";
import { type Entry, MAX_ENTRIES } from "../protocol.ts";
import { Harness, manifestWith } from "./hostile_harness.ts";
import { BAD_ENTRY_FIELDS } from "./manifest_cases.ts";

Deno.test("hostile: out-of-range entry fields are refused", async (t) => {
  await using tmp = await tempDir();
  const args = await Harness.layout(tmp.path);
  await using server = await startServer(args);
  const h = new Harness(tmp.path, server);
  for (const [name, changes, phrase] of BAD_ENTRY_FIELDS) {
    await h.step(t, name, () =>
      h.rejects({
        phrase,
        absent: ["fields.txt"],
        act: (c) => c.sendJson(manifestWith(changes)),
      }));
  }
  await h.step(t, "an entry that is not an object", () =>
    h.rejects({
      phrase: "manifest entry 0 is not an object",
      act: (c) => c.sendJson({ type: "manifest", entries: [[]], more: false }),
    }));
  await h.step(
    t,
    "the same server serves a normal client",
    () => h.normalTransfer("after-fields.txt"),
  );
});

Deno.test("hostile: inconsistent manifests", async (t) => {
  await using tmp = await tempDir();
  const args = await Harness.layout(tmp.path);
  await using server = await startServer(args);
  const h = new Harness(tmp.path, server);

  await h.step(t, "duplicate paths", () =>
    h.rejects({
      phrase: 'Manifest lists "dup.txt" more than once',
      absent: ["dup.txt"],
      act: (c) =>
        c.send({
          type: "manifest",
          entries: [fileEntry("dup.txt", 1), fileEntry("dup.txt", 2)],
          more: false,
        }),
    }));
  await h.step(t, "duplicate paths across manifest frames", () =>
    h.rejects({
      phrase: 'Manifest lists "dup2" more than once',
      absent: ["dup2"],
      act: async (c) => {
        await c.queue({
          type: "manifest",
          entries: [folderEntry("dup2")],
          more: true,
        });
        await c.send({
          type: "manifest",
          entries: [fileEntry("dup2", 1)],
          more: false,
        });
      },
    }));
  await h.step(t, "a file below a file", () =>
    h.rejects({
      phrase: 'Manifest puts "a/b" below a file',
      absent: ["a"],
      act: (c) =>
        c.send({
          type: "manifest",
          entries: [fileEntry("a", 1), fileEntry("a/b", 1)],
          more: false,
        }),
    }));
  await h.step(t, "a folder deep below a file", () =>
    h.rejects({
      phrase: 'Manifest puts "f/g/h" below a file',
      absent: ["f"],
      act: (c) =>
        c.send({
          type: "manifest",
          entries: [folderEntry("f/g/h"), fileEntry("f", 1)],
          more: false,
        }),
    }));
  await h.step(
    t,
    `more than MAX_ENTRIES (${MAX_ENTRIES}) entries`,
    () =>
      h.rejects({
        phrase: `Manifest has more than ${MAX_ENTRIES} entries`,
        act: async (c) => {
          // Every frame says more:true: the server must stop at the frame
          // that crosses the limit, not wait for the end of the manifest.
          const perFrame = 15_000;
          let sent = 0;
          while (sent <= MAX_ENTRIES) {
            const count = Math.min(perFrame, MAX_ENTRIES + 1 - sent);
            const entries: Entry[] = [];
            for (let i = 0; i < count; i++) {
              entries.push(folderEntry(`e${sent + i}`));
            }
            await c.queue({ type: "manifest", entries, more: true });
            sent += count;
          }
          await c.flush();
        },
      }),
    120_000,
  );
  await h.step(t, "the server's memory stayed bounded", async () => {
    const status = await Deno.readTextFile(`/proc/${server.child.pid}/status`);
    const peakKiB = Number(status.match(/VmHWM:\s+(\d+) kB/)?.[1]);
    console.log(`server peak RSS ${Math.round(peakKiB / 1024)} MiB`);
    assert.ok(peakKiB < 1024 * 1024, `peak RSS ${peakKiB} KiB under 1 GiB`);
  });
  await h.step(
    t,
    "the same server serves a normal client",
    () => h.normalTransfer("after-manifests.txt"),
  );
});
