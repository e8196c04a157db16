/**
 * Scenario `tree`: many small files in folders (10,000 files of 4 KiB in
 * 100 folders by default), ours against `tar c | nc`, `rsync -a` (also
 * with `--fsync`) and `scp -r` over ssh.
 *
 * @module
 */

import { join } from "node:path";
import type { Bench } from "./context.ts";
import { checkTree, removeAll, writeRandomTree } from "./files.ts";
import { runDiskFloor } from "./disk_floor.ts";
import { runTarNc } from "./netcat.ts";
import { runOurs } from "./ours.ts";
import { launchRsync, launchScp, runSshCopy } from "./ssh.ts";
import {
  alternate,
  type Row,
  type Sample,
  type ScenarioResult,
  summarise,
} from "./stats.ts";
import { OURS, RSYNC, SCP } from "./scenario_file.ts";

/** The clear baseline for trees. */
export const TAR_NC = "tar c | nc (clear, unverified)";

/** The receiver's disk work alone, durable: the floor for verified copies. */
export const FLOOR_SYNC = "disk work alone, fsynced (no network, no crypto)";

/** The same without fdatasync, as tar x and rsync do by default. */
const FLOOR_NOSYNC = "disk work alone, not fsynced (no network, no crypto)";

/** rsync making each file durable, as ours and the fsynced floor do. */
const RSYNC_FSYNC = "rsync -a --fsync over ssh (encrypted, durable)";

/** Folders the files are spread over. */
const FOLDERS = 100;

/** Bytes of each file. */
const FILE_BYTES = 4096;

/**
 * One run of a row that needs no sshd, copying the folder `name` in
 * `parent` to `dest`: ours, `tar c | nc` or the disk work alone; null for
 * any other tool.
 */
export function runLocalRow(
  bench: Bench,
  tool: string,
  parent: string,
  name: string,
  dest: string,
): Promise<Sample> | null {
  const source = join(parent, name);
  if (tool === OURS) {
    return runOurs(bench, [source], dest, { host: "127.0.0.1" });
  }
  if (tool === TAR_NC) return runTarNc(bench, parent, name, dest);
  if (tool === FLOOR_SYNC || tool === FLOOR_NOSYNC) {
    return runDiskFloor(bench, source, dest, tool === FLOOR_SYNC);
  }
  return null;
}

/**
 * The rows that need no sshd, in the order both tree scenarios run them:
 * ours, `tar c | nc` where installed, and the disk work alone fsynced
 * (ours fsyncs every file before confirming it, tar and rsync do not),
 * with `noSync` also without the fdatasync.
 */
export function localRows(bench: Bench, bytes: number, noSync: boolean): Row[] {
  const rows: Row[] = [{ tool: OURS, bytes, samples: [] }];
  if (bench.peers.nc && bench.peers.tar) {
    rows.push({ tool: TAR_NC, bytes, samples: [] });
  }
  rows.push({ tool: FLOOR_SYNC, bytes, samples: [] });
  if (noSync) rows.push({ tool: FLOOR_NOSYNC, bytes, samples: [] });
  return rows;
}

/** Runs the scenario. */
export async function treeScenario(bench: Bench): Promise<ScenarioResult> {
  const { runs, scpRuns, treeFiles } = bench.options;
  const folders = Math.min(FOLDERS, treeFiles);
  const bytes = treeFiles * FILE_BYTES;
  const parent = join(bench.work, "tree-source");
  const name = "tree";
  console.log(
    `\n== tree: ${treeFiles} files of 4 KiB in ${folders} folders, ${runs} runs`,
  );
  console.log("Writing the tree...");
  const files = await writeRandomTree(
    join(parent, name),
    treeFiles,
    folders,
    FILE_BYTES,
  );
  const expected = new Map(
    [...files].map(([path, facts]) => [`${name}/${path}`, facts]),
  );
  const sshd = await bench.sshd();
  const notes: string[] = [];
  const haveTarNc = bench.peers.nc && bench.peers.tar;
  const rows = localRows(bench, bytes, true);
  if (typeof sshd === "string") notes.push(`scp, rsync not run: ${sshd}`);
  else {
    if (bench.peers.rsync) rows.push({ tool: RSYNC, bytes, samples: [] });
    if (bench.peers.rsyncFsync) {
      rows.push({ tool: RSYNC_FSYNC, bytes, samples: [] });
    }
    if (scpRuns > 0) {
      rows.push({
        tool: SCP,
        bytes,
        samples: [],
        note: scpRuns < runs
          ? `slow: only the first ${scpRuns} of ${runs} runs (--scp-runs)`
          : "",
      });
    }
  }
  // Every run gets a folder of its own, all deleted only after the last
  // run: ext4 makes file creation slower and slower while many inodes were
  // recently deleted (recently_deleted() in ext4_new_inode), which made
  // each run here slower than the one before when they deleted in between.
  const dests = join(bench.work, "dest-tree");
  const source = join(parent, name);
  try {
    await alternate(rows, runs, async (row, run) => {
      if (row.tool === SCP && run > scpRuns) return null;
      const dest = join(dests, `${rows.indexOf(row)}-${run}`);
      let sample = await runLocalRow(bench, row.tool, parent, name, dest);
      if (sample === null) {
        if (typeof sshd === "string") throw new Error(sshd);
        sample = await runSshCopy(
          dest,
          () =>
            row.tool === SCP
              ? launchScp(bench, sshd, [source], dest, true)
              : launchRsync(
                bench,
                sshd,
                [source],
                dest,
                row.tool === RSYNC_FSYNC ? ["--fsync"] : [],
              ),
        );
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
  for (const peer of [FLOOR_SYNC, RSYNC_FSYNC]) {
    const other = summary.find((row) => row.tool === peer);
    if (ours && other) {
      notes.push(
        `${OURS} / ${peer}: ${
          (ours.medianSeconds / other.medianSeconds).toFixed(2)
        } (medians)`,
      );
    }
  }
  return {
    name: "tree",
    title: `${treeFiles} files of 4 KiB in ${folders} folders`,
    description:
      `Seconds from a listening receiver until both sides exited (scp, rsync: until the command exited). ` +
      `Every run's output is checked file by file, by size and SHA-256, outside the timing, and kept in a folder of its own until the last run: ` +
      `ext4 creates files ever more slowly while many inodes were recently deleted. MB/s counts file contents only. ` +
      `The two "disk work alone" rows are one Deno process doing only what the receiver does on disk for each file (read it, write it under a temporary name, fdatasync 32 at a time, chmod, utime, rename, then sync each folder), with and without the fdatasync: the floor of any receiver that makes each file durable before confirming it. ` +
      `The memory of the sshd side of scp and rsync is not measured.`,
    baseline: haveTarNc ? TAR_NC : null,
    rows: summary,
    notes,
  };
}
