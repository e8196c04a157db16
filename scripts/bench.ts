/**
 * `deno task bench`: real server and client processes against the peers
 * installed here, on the same files, in the same run, alternating, with
 * medians and ranges. Encryption and verification stay on, as always.
 *
 *     deno task bench [--runs N] [--size MIB] [--only NAME,...] ...
 *
 * Scenarios (all by default, in this order):
 *
 * - `file`: one large file (1 GiB) over loopback: ours, the crypto floor
 *   (a bare pair of Deno processes with our primitives, crypto_floor.ts),
 *   `nc` file to file, `scp` and `rsync -a` over ssh, magic-wormhole and
 *   wormhole-william against a mailbox server and transit relay in a
 *   loopback-only network namespace (root only), and `iperf3` memory to
 *   memory as the ceiling of the link.
 * - `tree`: 10,000 files of 4 KiB in 100 folders: ours, `tar c | nc`,
 *   `rsync -a` (also with `--fsync`) and `scp -r` over ssh (scp is slow:
 *   `--scp-runs`).
 * - `files100k`: 100,000 files of 512 B in 100 x 10 folders: ours,
 *   `tar c | nc` and `rsync -a` over ssh, with the peak memory of both
 *   sides (at most 3 runs).
 * - `many`: 50 clients at once, 20 MiB each, to one server, every file
 *   checked; aggregate throughput against one client alone measured in the
 *   same scenario, and against 50 `nc` pairs at once.
 * - `link`: the large file over a 1 Gbit/s `tbf`-shaped veth link between
 *   two network namespaces that the bench creates and removes; ours, nc
 *   and iperf3. Needs root and iproute2; skipped otherwise.
 * - `first-byte`: seconds from starting the sender until the first byte of
 *   the large file is on the receiving side's disk: ours, nc, scp, rsync.
 * - `start`: what starting a client costs, in wall and CPU seconds: Deno
 *   alone, `client.ts --version`, a client sending 1 byte; and the
 *   server's CPU per session.
 * - `memory`: ours with the large file and one four times as large (1 GiB
 *   and 4 GiB), once each, for the peak memory of both sides.
 * - `compress`: a compressible file as large as the large one (access
 *   logs, its zstd ratio reported) and the random file, each with
 *   `--compress auto` and `off`, over loopback.
 * - `compress-link`: the same over the 1 Gbit/s link of `link`, with nc
 *   sending the logs too. Needs root; skipped otherwise.
 *
 * Options:
 *
 * - `--runs N`: alternating runs per scenario (default 5).
 * - `--size MIB`: the large file, in MiB (default 1024); `memory` also
 *   sends four times that.
 * - `--only NAME,...`: run only these scenarios.
 * - `--scp-runs N`: runs of `scp -r` in `tree` (default 1; 0 skips it).
 * - `--tree-files N`: files in `tree` (default 10000).
 * - `--clients N`, `--client-size MIB`: for `many` (default 50 and 20).
 * - `-h`, `--help`.
 *
 * scp and rsync run against an sshd on 127.0.0.1 with fresh keys in a
 * temporary folder (it needs /run/sshd, created if missing). Peers that
 * are not installed are left out, with the Debian package to install.
 * Everything is written under the system's temporary folder and deleted at
 * the end, also when interrupted. Results go to bench-results/latest.md
 * and latest.json. The defaults take about 15 minutes on 2 cores.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import {
  installSignalCleanup,
  interrupted,
  onCleanup,
  runCleanups,
} from "./bench/cleanup.ts";
import { createBench, type Options } from "./bench/context.ts";
import { removeAll } from "./bench/files.ts";
import { ROOT } from "./bench/ours.ts";
import { findPeers, installHints } from "./bench/peers.ts";
import { describeMachine, writeReports } from "./bench/report.ts";
import { fileScenario } from "./bench/scenario_file.ts";
import { firstByteScenario } from "./bench/scenario_first_byte.ts";
import { linkScenario } from "./bench/scenario_link.ts";
import { manyScenario } from "./bench/scenario_many.ts";
import { memoryScenario } from "./bench/scenario_memory.ts";
import { startScenario } from "./bench/scenario_start.ts";
import { treeScenario } from "./bench/scenario_tree.ts";
import {
  compressLinkScenario,
  compressScenario,
} from "./bench/scenario_compress.ts";
import { evaluateTargets } from "./bench/targets.ts";
import { files100kScenario } from "./bench/scenario_files100k.ts";
import type { ScenarioResult } from "./bench/stats.ts";
import type { Bench } from "./bench/context.ts";

const SCENARIOS: Record<string, (bench: Bench) => Promise<ScenarioResult>> = {
  file: fileScenario,
  tree: treeScenario,
  files100k: files100kScenario,
  many: manyScenario,
  link: linkScenario,
  "first-byte": firstByteScenario,
  start: startScenario,
  memory: memoryScenario,
  compress: compressScenario,
  "compress-link": compressLinkScenario,
};

const HELP = `Benchmark deno-ft against the peers installed here.

Usage: deno task bench [options]

Scenarios (all by default):
  file        one large file over loopback: ours, crypto floor, nc, scp,
              rsync, magic-wormhole and wormhole-william (root only: in a
              loopback-only namespace with a local relay), iperf3
  tree        10,000 files of 4 KiB in 100 folders: ours, tar|nc, rsync
              (also --fsync), scp -r
  files100k   100,000 files of 512 B in 100 x 10 folders: ours, tar|nc, rsync,
              with both sides' peak memory (at most 3 runs)
  many        50 clients at once, 20 MiB each, to one server; vs one client, nc
  link        the large file over a 1 Gbit/s link between two network
              namespaces (root only): ours, nc, iperf3
  first-byte  seconds from starting the sender to data on the server's disk
  start       what starting a client costs: Deno alone, loading, 1 byte
  memory      ours with the large file and one 4 times as large, peak RSS
  compress    logs and random data, --compress auto and off, over loopback
  compress-link  the same over the 1 Gbit/s link (root only), and nc

Options:
      --runs N          alternating runs per scenario (default 5)
      --size MIB        the large file in MiB (default 1024)
      --only NAME,...   run only these scenarios
      --scp-runs N      runs of scp -r in tree, which is slow (default 1)
      --tree-files N    files in tree (default 10000)
      --clients N       clients at once in many (default 50)
      --client-size MIB each client's file in many (default 20)
  -h, --help            show this help

Results: bench-results/latest.md and latest.json. Missing peers are left
out, with the Debian package that provides them. The defaults take about
15 minutes on 2 cores.`;

/** Parses `text` as a whole number from `min` up, or throws about `flag`. */
function count(text: string, flag: string, min: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`${flag} wants a whole number from ${min} up, not ${text}`);
  }
  return value;
}

/** Runs the bench; resolves to the exit status. */
async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      runs: { type: "string", default: "5" },
      size: { type: "string", default: "1024" },
      only: { type: "string" },
      "scp-runs": { type: "string", default: "1" },
      "tree-files": { type: "string", default: "10000" },
      clients: { type: "string", default: "50" },
      "client-size": { type: "string", default: "20" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const options: Options = {
    runs: count(values.runs, "--runs", 1),
    sizeMiB: count(values.size, "--size", 1),
    scpRuns: count(values["scp-runs"], "--scp-runs", 0),
    treeFiles: count(values["tree-files"], "--tree-files", 1),
    clients: count(values.clients, "--clients", 1),
    clientMiB: count(values["client-size"], "--client-size", 1),
  };
  options.scpRuns = Math.min(options.scpRuns, options.runs);
  const names = values.only?.split(",").map((name) => name.trim()) ??
    Object.keys(SCENARIOS);
  const unknown = names.filter((name) => !(name in SCENARIOS));
  if (unknown.length > 0) {
    throw new Error(
      `unknown scenario ${unknown.join(", ")}; there are ${
        Object.keys(SCENARIOS).join(", ")
      }`,
    );
  }

  installSignalCleanup();
  const started = performance.now();
  const when = new Date().toISOString();
  const peers = await findPeers();
  const missing = installHints(peers);
  for (const hint of missing) console.log(hint);
  const work = await Deno.makeTempDir({ prefix: "ft-bench-" });
  const removeWork = onCleanup(() => removeAll(work));
  const bench = createBench(work, options, peers);
  const results: ScenarioResult[] = [];
  let status = 0;
  try {
    for (const name of names) {
      try {
        results.push(await SCENARIOS[name](bench));
      } catch (error) {
        // Interrupted: the signal handler cleans up and exits.
        if (interrupted()) await new Promise(() => {});
        status = 1;
        const message = error instanceof Error ? error.message : String(error);
        console.error(`\n== ${name}: FAILED: ${message}`);
        results.push({
          name,
          title: name,
          description: "",
          baseline: null,
          rows: [],
          notes: [],
          failed: message,
        });
      }
    }
  } finally {
    await bench.close();
    await removeWork.run();
  }
  if (interrupted()) await new Promise(() => {});
  const markdown = await writeReports(join(ROOT, "bench-results"), {
    when,
    machine: await describeMachine(),
    options,
    peers,
    missing,
    totalSeconds: (performance.now() - started) / 1000,
    scenarios: results,
    targets: evaluateTargets(results),
  });
  console.log("\n" + markdown);
  return status;
}

if (import.meta.main) {
  try {
    Deno.exitCode = await main(Deno.args);
  } catch (error) {
    console.error(
      `bench: ${error instanceof Error ? error.message : String(error)}`,
    );
    Deno.exitCode = 2;
  } finally {
    await runCleanups();
  }
}
