/**
 * Scenario `files100k`: 100,000 small files (512 B) in 100 folders of 10
 * folders each, ours against `tar c | nc` and `rsync -a` over ssh, with
 * the peak memory of both sides: the manifest, its decisions and the
 * confirmations must stay bounded.
 *
 * @module
 */

import { join } from "node:path";
import type { Bench } from "./context.ts";
import { checkTree, removeAll, writeNestedTree } from "./files.ts";
import { launchRsync, runSshCopy } from "./ssh.ts";
import { alternate, type ScenarioResult, summarise } from "./stats.ts";
import { OURS, RSYNC } from "./scenario_file.ts";
import { FLOOR_SYNC, localRows, runLocalRow, TAR_NC } from "./scenario_tree.ts";

/** Files in the tree. */
const FILES = 100_000;

/** Folders at the top, and folders in each of them. */
const TOP = 100;
const SUB = 10;

/** Bytes of each file. */
const FILE_BYTES = 512;

/** Runs at most: each moves, checks and keeps 100,000 files. */
const MAX_RUNS = 3;

/** Runs the scenario. */
export async function files100kScenario(
  bench: Bench,
): Promise<ScenarioResult> {
  const runs = Math.min(bench.options.runs, MAX_RUNS);
  const bytes = FILES * FILE_BYTES;
  const parent = join(bench.work, "files100k-source");
  const name = "files100k";
  console.log(
    `\n== files100k: ${FILES} files of ${FILE_BYTES} B in ${TOP} x ${SUB} folders, ${runs} runs`,
  );
  console.log("Writing the tree...");
  const source = join(parent, name);
  const files = await writeNestedTree(source, FILES, TOP, SUB, FILE_BYTES);
  const expected = new Map(
    [...files].map(([path, facts]) => [`${name}/${path}`, facts]),
  );
  const sshd = await bench.sshd();
  const notes: string[] = [];
  const haveTarNc = bench.peers.nc && bench.peers.tar;
  const rows = localRows(bench, bytes, false);
  if (typeof sshd === "string") notes.push(`rsync not run: ${sshd}`);
  else if (bench.peers.rsync) rows.push({ tool: RSYNC, bytes, samples: [] });
  // Every run gets a folder of its own, all deleted only after the last
  // run, as in the tree scenario.
  const dests = join(bench.work, "dest-files100k");
  try {
    await alternate(rows, runs, async (row, run) => {
      const dest = join(dests, `${rows.indexOf(row)}-${run}`);
      let sample = await runLocalRow(bench, row.tool, parent, name, dest);
      if (sample === null) {
        if (typeof sshd === "string") throw new Error(sshd);
        const remoteRss = bench.useTime
          ? join(bench.work, `rsync-${run}.rss`)
          : undefined;
        sample = await runSshCopy(
          dest,
          () => launchRsync(bench, sshd, [source], dest, [], remoteRss),
        );
        if (remoteRss !== undefined) {
          const kib = Number((await Deno.readTextFile(remoteRss)).trim());
          sample.rss[1] = Number.isFinite(kib) ? kib : null;
        }
      }
      // Every file, by size and SHA-256, outside the timing.
      await checkTree(row.tool, dest, expected, true);
      return sample;
    });
  } finally {
    await removeAll(dests);
    await removeAll(parent);
  }
  const summary = summarise(rows, haveTarNc ? TAR_NC : null);
  const ours = summary.find((row) => row.tool === OURS);
  const floor = summary.find((row) => row.tool === FLOOR_SYNC);
  if (ours && floor) {
    notes.push(
      `${OURS} / ${FLOOR_SYNC}: ${
        (ours.medianSeconds / floor.medianSeconds).toFixed(2)
      } (medians)`,
    );
  }
  return {
    name: "files100k",
    title: `${FILES} files of ${FILE_BYTES} B in ${TOP} x ${SUB} folders`,
    description:
      `Seconds from a listening receiver until both sides exited (rsync: until the command exited), at most ${MAX_RUNS} runs (--runs). ` +
      `Every run's output is checked file by file, by size and SHA-256, outside the timing, and kept in a folder of its own until the last run. ` +
      `MB/s counts file contents only. ` +
      `The disk work alone row is one Deno process doing only what the receiver does on disk for each file, fdatasync included (see the tree scenario). ` +
      `Peak RSS is that of each side: for rsync, the sending rsync and the receiving one that sshd starts (run under /usr/bin/time with --rsync-path), sshd itself left out.`,
    baseline: haveTarNc ? TAR_NC : null,
    rows: summary,
    notes,
  };
}
