/**
 * Scenario `memory`: ours sends the large file and one four times as large
 * (1 GiB and 4 GiB by default), once each, to see whether the peak
 * resident memory of either side grows with the file. The larger file is
 * made in the scratch folder and deleted right after.
 *
 * @module
 */

import { join } from "node:path";
import { type Bench, sizeLabel } from "./context.ts";
import { checkTree, removeAll } from "./files.ts";
import { runOurs } from "./ours.ts";
import { type Row, type ScenarioResult, summarise } from "./stats.ts";

/** Runs the scenario. */
export async function memoryScenario(bench: Bench): Promise<ScenarioResult> {
  const small = bench.options.sizeMiB * 1024 * 1024;
  const sizes = [small, 4 * small];
  const base = {
    name: "memory",
    title: `Peak memory of ours: ${sizeLabel(sizes[0])} and ${
      sizeLabel(sizes[1])
    }`,
    description:
      `One transfer of each size over loopback, peak RSS of each side from \`/usr/bin/time -f %M\`. ` +
      `Output checked by size; ours verified it by SHA-256 itself (exit status 0).`,
    baseline: null,
  };
  if (!bench.useTime) {
    const reason = "/usr/bin/time is missing: sudo apt-get install time";
    console.log(`\n== memory: skipped: ${reason}`);
    return { ...base, rows: [], notes: [], skipped: reason };
  }
  console.log(
    `\n== memory: ours with ${sizeLabel(sizes[0])} and ${
      sizeLabel(sizes[1])
    }, once each`,
  );
  const rows: Row[] = [];
  const dest = join(bench.work, "dest-memory");
  for (const bytes of sizes) {
    const source = await bench.sourceFile(bytes);
    const row: Row = {
      tool: `deno-ft, ${sizeLabel(bytes)}`,
      bytes,
      samples: [],
    };
    rows.push(row);
    try {
      await removeAll(dest);
      const sample = await runOurs(bench, [source.path], dest, {
        host: "127.0.0.1",
      });
      await checkTree(
        row.tool,
        dest,
        new Map([[source.name, { size: bytes, sha256: null }]]),
        false,
      );
      row.samples.push(sample);
      console.log(
        `  ${row.tool}: ${sample.seconds.toFixed(2)} s, peak RSS ${
          sample.rss.map((kib) =>
            kib === null ? "?" : `${Math.round(kib / 1024)} MiB`
          )
            .join(" / ")
        } (send / receive)`,
      );
    } finally {
      await removeAll(dest);
      // The larger file goes at once; the smaller one may serve others.
      if (bytes !== small) await bench.dropSourceFile(bytes);
    }
  }
  const summary = summarise(rows, null);
  const notes: string[] = [];
  if (summary.length === 2) {
    const [a, b] = summary.map((row) => row.peakRssMiB);
    const side = (i: number, name: string) =>
      a[i] !== null && b[i] !== null
        ? `${name} ${a[i]} → ${b[i]} MiB (${(b[i]! / a[i]!).toFixed(2)} ×)`
        : `${name} not measured`;
    notes.push(
      `Peak RSS from ${sizeLabel(sizes[0])} to ${sizeLabel(sizes[1])}: ${
        side(0, "sending")
      }, ${side(1, "receiving")}.`,
    );
  }
  return { ...base, rows: summary, notes };
}
