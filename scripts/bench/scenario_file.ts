/**
 * Scenario `file`: one large file over loopback, ours against the crypto
 * floor, nc, scp, rsync, magic-wormhole and wormhole-william, with iperf3
 * memory to memory as the ceiling of the link.
 *
 * @module
 */

import { join } from "node:path";
import { type Bench, sizeLabel } from "./context.ts";
import { checkTree, removeAll } from "./files.ts";
import { FLOOR, runFloor } from "./floor.ts";
import { runIperf } from "./iperf.ts";
import { runNc } from "./netcat.ts";
import { runOurs } from "./ours.ts";
import { launchRsync, launchScp, runSshCopy } from "./ssh.ts";
import {
  alternate,
  median,
  type Row,
  type Sample,
  type ScenarioResult,
  summarise,
} from "./stats.ts";
import {
  MAGIC_WORMHOLE,
  runWormhole,
  startWormholeSite,
  WORMHOLE_WILLIAM,
  type WormholeSite,
  wormholeUnavailable,
} from "./wormhole.ts";

/** Row names shared with other scenarios. */
export const OURS = "deno-ft (encrypted, verified)";
/** The clear baseline. */
export const NC = "nc (clear, unverified)";
/** scp with OpenSSH's defaults. */
export const SCP = "scp over ssh (encrypted)";
/** rsync -a with OpenSSH's defaults. */
export const RSYNC = "rsync -a over ssh (encrypted)";
/** iperf3, memory to memory. */
export const IPERF = "iperf3 memory to memory (ceiling)";

/**
 * The CPU seconds of each side, median of the runs, for the rows that
 * measured them: less disturbed by other work on the machine than the
 * wall time, which waits for the cores.
 */
function cpuNotes(rows: Row[]): string[] {
  const lines: string[] = [];
  const cpu: Record<string, [number, number]> = {};
  for (const row of rows) {
    const sides = [0, 1].map((side) =>
      row.samples.flatMap((s) => s.cpu?.[side] ?? [])
    );
    if (sides.some((values) => values.length === 0)) continue;
    const [send, receive] = sides.map(median);
    cpu[row.tool] = [send, receive];
    lines.push(
      `CPU of ${row.tool}, median per run: ${send.toFixed(2)} s sending, ${
        receive.toFixed(2)
      } s receiving.`,
    );
  }
  const [ours, floor] = [cpu[OURS], cpu[FLOOR]];
  if (ours && floor) {
    lines.push(
      `Ours against the crypto floor in CPU: ${
        (ours[0] / floor[0]).toFixed(2)
      }× sending, ${(ours[1] / floor[1]).toFixed(2)}× receiving.`,
    );
  }
  return lines;
}

/** Runs the scenario. */
export async function fileScenario(bench: Bench): Promise<ScenarioResult> {
  const bytes = bench.options.sizeMiB * 1024 * 1024;
  const source = await bench.sourceFile(bytes);
  const expected = await source.manifest();
  const sshd = await bench.sshd();
  const notes: string[] = [];
  const rows: Row[] = [
    { tool: OURS, bytes, samples: [] },
    { tool: FLOOR, bytes, samples: [] },
  ];
  if (bench.peers.nc) rows.push({ tool: NC, bytes, samples: [] });
  if (typeof sshd === "string") notes.push(`scp, rsync not run: ${sshd}`);
  else {
    rows.push({ tool: SCP, bytes, samples: [] });
    if (bench.peers.rsync) rows.push({ tool: RSYNC, bytes, samples: [] });
  }
  let site: WormholeSite | null = null;
  const noWormhole = wormholeUnavailable(bench.peers);
  if (noWormhole !== null) {
    console.log(`magic-wormhole, wormhole-william not run: ${noWormhole}`);
    notes.push(`magic-wormhole, wormhole-william not run: ${noWormhole}.`);
  } else {
    site = await startWormholeSite(bench).catch((error) => {
      notes.push(`magic-wormhole, wormhole-william not run: ${error}`);
      return null;
    });
  }
  if (site !== null) {
    if (bench.peers.wormhole) {
      rows.push({ tool: MAGIC_WORMHOLE, bytes, samples: [] });
    }
    if (bench.peers.wormholeWilliam) {
      rows.push({ tool: WORMHOLE_WILLIAM, bytes, samples: [] });
    }
  }
  if (bench.peers.iperf3) {
    rows.push({
      tool: IPERF,
      bytes,
      note: "iperf3's own timing: no files, no process start",
      samples: [],
    });
  }
  const dest = join(bench.work, "dest-file");
  const rates: number[] = [];
  const checked = new Set<string>();
  console.log(
    `\n== file: one ${
      sizeLabel(bytes)
    } file over loopback, ${bench.options.runs} runs`,
  );
  await alternate(rows, bench.options.runs, async (row) => {
    await removeAll(dest);
    let sample: Sample;
    if (row.tool === IPERF) {
      const result = await runIperf(bench, bytes, "127.0.0.1");
      rates.push(result.gbps);
      return result.sample;
    } else if (row.tool === OURS) {
      sample = await runOurs(bench, [source.path], dest, {
        host: "127.0.0.1",
      });
    } else if (row.tool === FLOOR) {
      await Deno.mkdir(dest);
      sample = await runFloor(bench, source.path, join(dest, source.name));
    } else if (row.tool === NC) {
      await Deno.mkdir(dest);
      sample = await runNc(bench, source.path, join(dest, source.name));
    } else if (row.tool === MAGIC_WORMHOLE || row.tool === WORMHOLE_WILLIAM) {
      await Deno.mkdir(dest);
      sample = await runWormhole(
        bench,
        site!,
        row.tool,
        source.path,
        source.name,
        dest,
      );
    } else {
      if (typeof sshd === "string") throw new Error(sshd);
      sample = await runSshCopy(
        dest,
        () =>
          row.tool === SCP
            ? launchScp(bench, sshd, [source.path], dest, false)
            : launchRsync(bench, sshd, [source.path], dest),
      );
    }
    // Sizes every run; content once per tool, outside the timing.
    await checkTree(row.tool, dest, expected, !checked.has(row.tool));
    checked.add(row.tool);
    await removeAll(dest);
    return sample;
  }).finally(() => site?.close());
  const summary = summarise(rows, bench.peers.nc ? NC : null);
  notes.push(...cpuNotes(rows));
  const ours = summary.find((row) => row.tool === OURS);
  bench.fileMegabytesPerSecond = ours?.megabytesPerSecond ?? null;
  if (rates.length > 0) {
    const gbps = median(rates);
    notes.push(
      `iperf3 over loopback: ${gbps.toFixed(1)} Gbit/s, ${
        (2 ** 33 / (gbps * 1e9)).toFixed(2)
      } s per GiB.`,
    );
  }
  return {
    name: "file",
    title: `One ${sizeLabel(bytes)} file over loopback`,
    description:
      `Seconds from a listening receiver until both sides exited (scp, rsync: until the command exited, against a running sshd). ` +
      `Every run's output is checked for size, and each tool's first run also by SHA-256, outside the timing. ` +
      `Ours encrypts, verifies by SHA-256 and flushes the file to disk before it is done; nc neither encrypts nor verifies, and nc, scp and rsync do not flush. ` +
      `The crypto floor is a bare pair of Deno processes (scripts/bench/crypto_floor.ts) doing only what ours cannot skip, with the same primitives and 1 MiB records: read, SHA-256, ChaCha20-Poly1305 (node:crypto), loopback TCP; open, SHA-256, write, flush; no key exchange, manifest or staging. ` +
      `magic-wormhole and wormhole-william (from Debian) run in a network namespace that has only loopback, against a mailbox server and a transit relay the bench starts there; each run is timed from starting the receiver, once the sender is connected to the mailbox, until both exited, and fails if the namespace's kernel counted a packet with no route (an attempt to reach another machine). ` +
      `The memory of the sshd side of scp and rsync is not measured (one sshd serves every run).`,
    baseline: bench.peers.nc ? NC : null,
    rows: summary,
    notes,
  };
}
