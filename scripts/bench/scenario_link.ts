/**
 * Scenario `link`: the large file over a 1 Gbit/s link between two network
 * namespaces (see netns.ts), server in one and client in the other; ours
 * against nc, with iperf3 as the ceiling. Needs root; skipped otherwise.
 *
 * @module
 */

import { join } from "node:path";
import { type Bench, sizeLabel } from "./context.ts";
import { checkTree, removeAll } from "./files.ts";
import { runIperf } from "./iperf.ts";
import { runNc } from "./netcat.ts";
import { createLink, linkUnavailable } from "./netns.ts";
import { runOurs } from "./ours.ts";
import {
  alternate,
  type Row,
  type ScenarioResult,
  summarise,
} from "./stats.ts";
import { IPERF, NC, OURS } from "./scenario_file.ts";

/** The shaping rate, in tc's notation and in bits per second. */
const RATE = "1gbit";
const RATE_BPS = 1e9;

/** Runs the scenario, or says why it cannot. */
export async function linkScenario(bench: Bench): Promise<ScenarioResult> {
  const bytes = bench.options.sizeMiB * 1024 * 1024;
  const base = {
    name: "link",
    title: `One ${sizeLabel(bytes)} file over a 1 Gbit/s link`,
    description:
      `Two network namespaces joined by a veth pair (10.77.0.1 receives, 10.77.0.2 sends), ` +
      `the sending end shaped with \`tc qdisc add dev VETH root tbf rate ${RATE} burst 256kb latency 50ms\`. ` +
      `Seconds from a listening receiver until both sides exited; goodput is file bytes over that time, against 1 Gbit/s. ` +
      `Output checked by size every run and by SHA-256 on each tool's first run.`,
  };
  const reason = linkUnavailable(bench.peers.ip);
  if (reason !== null) {
    console.log(`\n== link: skipped: ${reason}`);
    return { ...base, baseline: null, rows: [], notes: [], skipped: reason };
  }
  const source = await bench.sourceFile(bytes);
  const expected = await source.manifest();
  const { runs } = bench.options;
  console.log(
    `\n== link: one ${
      sizeLabel(bytes)
    } file over a ${RATE} link between namespaces, ${runs} runs`,
  );
  const rows: Row[] = [{ tool: OURS, bytes, samples: [] }];
  if (bench.peers.nc) rows.push({ tool: NC, bytes, samples: [] });
  if (bench.peers.iperf3) {
    rows.push({
      tool: IPERF,
      bytes,
      note: "iperf3's own timing",
      samples: [],
    });
  }
  const dest = join(bench.work, "dest-link");
  const checked = new Set<string>();
  const link = await createLink(RATE);
  try {
    const places = { serverNs: link.serverNs, clientNs: link.clientNs };
    await alternate(rows, runs, async (row) => {
      await removeAll(dest);
      if (row.tool === IPERF) {
        return (await runIperf(bench, bytes, link.serverHost, places)).sample;
      }
      let sample;
      if (row.tool === OURS) {
        sample = await runOurs(bench, [source.path], dest, {
          host: link.serverHost,
          ns: link.serverNs,
        }, { ns: link.clientNs });
      } else {
        await Deno.mkdir(dest);
        sample = await runNc(
          bench,
          source.path,
          join(dest, source.name),
          link.serverHost,
          places,
        );
      }
      await checkTree(row.tool, dest, expected, !checked.has(row.tool));
      checked.add(row.tool);
      await removeAll(dest);
      return sample;
    });
  } finally {
    await link.remove();
  }
  const summary = summarise(rows, bench.peers.nc ? NC : null);
  const notes = summary.map((row) =>
    `${row.tool}: ${(bytes * 8 / row.medianSeconds / 1e9).toFixed(3)} Gbit/s, ${
      (bytes * 8 / row.medianSeconds / RATE_BPS * 100).toFixed(1)
    }% of 1 Gbit/s (median).`
  );
  return {
    ...base,
    baseline: bench.peers.nc ? NC : null,
    rows: summary,
    notes,
  };
}
