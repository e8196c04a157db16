/**
 * Scenarios `compress` and `compress-link`: what `--compress auto` costs
 * and gains. A compressible file of the large file's size (web server
 * access logs, see logs.ts, with its zstd ratio reported) and the random
 * file, each sent with `--compress auto` and with `off`, alternating, on
 * loopback (`compress`) and over the 1 Gbit/s link between two namespaces
 * of `link` (`compress-link`, root only), where `nc` sends the logs too.
 * The notes give the ratios the issue asks for, from the medians of the
 * same run: auto against nc and against off.
 *
 * @module
 */

import { join } from "node:path";
import { type Bench, sizeLabel } from "./context.ts";
import { checkTree, hashFile, type Manifest, removeAll } from "./files.ts";
import { writeLogFile, zstdRatio } from "./logs.ts";
import { runNc } from "./netcat.ts";
import { createLink, linkUnavailable } from "./netns.ts";
import { type Place, runOurs } from "./ours.ts";
import {
  alternate,
  type Row,
  type RowSummary,
  type ScenarioResult,
  summarise,
} from "./stats.ts";

/** A file the scenario sends, with what must arrive. */
interface Sent {
  path: string;
  name: string;
  manifest: Manifest;
}

/** The log file and its ratio, made once per bench run. */
let logs: Promise<{ file: Sent; ratio: number }> | null = null;

function logFile(bench: Bench, bytes: number) {
  logs ??= (async () => {
    const dir = join(bench.work, "source-logs");
    await Deno.mkdir(dir, { recursive: true });
    const name = `access-${sizeLabel(bytes).replace(" ", "")}.log`;
    const path = join(dir, name);
    console.log(`Writing a ${sizeLabel(bytes)} access log...`);
    await writeLogFile(path, bytes);
    const ratio = await zstdRatio(path);
    const manifest = new Map([[name, {
      size: bytes,
      sha256: await hashFile(path),
    }]]);
    return { file: { path, name, manifest }, ratio };
  })();
  return logs;
}

async function randomFile(bench: Bench, bytes: number): Promise<Sent> {
  const source = await bench.sourceFile(bytes);
  return {
    path: source.path,
    name: source.name,
    manifest: await source.manifest(),
  };
}

const AUTO_LOGS = "deno-ft --compress auto, logs";
const OFF_LOGS = "deno-ft --compress off, logs";
const NC_LOGS = "nc (clear, unverified), logs";
const AUTO_RANDOM = "deno-ft --compress auto, random";
const OFF_RANDOM = "deno-ft --compress off, random";

/** Median seconds of `a` over those of `b`, as text, or why not. */
function ratio(rows: RowSummary[], a: string, b: string): string {
  const first = rows.find((row) => row.tool === a);
  const second = rows.find((row) => row.tool === b);
  if (!first || !second) return "not measured";
  return `${(first.medianSeconds / second.medianSeconds).toFixed(3)}`;
}

/** Runs the rows over loopback or the link, and summarises them. */
async function measure(
  bench: Bench,
  where: "loopback" | "link",
): Promise<{ rows: RowSummary[]; ratio: number }> {
  const bytes = bench.options.sizeMiB * 1024 * 1024;
  const { file: text, ratio: zstd } = await logFile(bench, bytes);
  const random = await randomFile(bench, bytes);
  const rows: Row[] = [
    { tool: AUTO_LOGS, bytes, samples: [] },
    { tool: OFF_LOGS, bytes, samples: [] },
    { tool: AUTO_RANDOM, bytes, samples: [] },
    { tool: OFF_RANDOM, bytes, samples: [] },
  ];
  if (where === "link" && bench.peers.nc) {
    rows.splice(2, 0, { tool: NC_LOGS, bytes, samples: [] });
  }
  const dest = join(bench.work, `dest-compress-${where}`);
  const checked = new Set<string>();
  const link = where === "link" ? await createLink("1gbit") : null;
  try {
    const server: Place = link
      ? { host: link.serverHost, ns: link.serverNs }
      : { host: "127.0.0.1" };
    const clientNs = link ? { ns: link.clientNs } : {};
    await alternate(rows, bench.options.runs, async (row) => {
      await removeAll(dest);
      const file = row.tool.endsWith("logs") ? text : random;
      let sample;
      if (row.tool === NC_LOGS) {
        await Deno.mkdir(dest);
        sample = await runNc(
          bench,
          file.path,
          join(dest, file.name),
          server.host,
          { serverNs: link!.serverNs, clientNs: link!.clientNs },
        );
      } else {
        const mode = row.tool.includes("auto") ? "auto" : "off";
        sample = await runOurs(bench, [file.path], dest, server, {
          ...clientNs,
          args: ["--compress", mode],
        });
      }
      await checkTree(row.tool, dest, file.manifest, !checked.has(row.tool));
      checked.add(row.tool);
      await removeAll(dest);
      return sample;
    });
  } finally {
    await link?.remove();
  }
  return { rows: summarise(rows, null), ratio: zstd };
}

function describe(where: string): string {
  return `A ${where}: web server access logs in the combined format (64 MiB of distinct lines, repeated; ` +
    `each 1 MiB record is compressed on its own, so the repetition gives zstd nothing) and the random file, ` +
    `each sent by ours with \`--compress auto\` and \`--compress off\`, runs alternating. ` +
    `Seconds from a listening receiver until both sides exited; output checked by size every run and by SHA-256 on each row's first run.`;
}

/** Scenario `compress`: auto against off on loopback. */
export async function compressScenario(bench: Bench): Promise<ScenarioResult> {
  const bytes = bench.options.sizeMiB * 1024 * 1024;
  console.log(
    `\n== compress: ${
      sizeLabel(bytes)
    } of logs and of random data over loopback, auto and off, ${bench.options.runs} runs`,
  );
  const { rows, ratio: zstd } = await measure(bench, "loopback");
  return {
    name: "compress",
    title: `Compression on loopback: ${
      sizeLabel(bytes)
    } of logs, of random data`,
    description: describe(
      "loopback, where the CPU, not the network, is the limit",
    ),
    baseline: null,
    rows,
    notes: [
      `The logs: zstd level 1 makes them ${
        zstd.toFixed(2)
      } times smaller, record by record.`,
      `auto / off, logs: ${
        ratio(rows, AUTO_LOGS, OFF_LOGS)
      } (median over median; the aim: at most 1.05).`,
      `auto / off, random: ${
        ratio(rows, AUTO_RANDOM, OFF_RANDOM)
      } (the aim: at most 1.03).`,
    ],
  };
}

/** Scenario `compress-link`: auto against off and nc over the 1 Gbit/s link. */
export async function compressLinkScenario(
  bench: Bench,
): Promise<ScenarioResult> {
  const bytes = bench.options.sizeMiB * 1024 * 1024;
  const base = {
    name: "compress-link",
    title: `Compression over a 1 Gbit/s link: ${
      sizeLabel(bytes)
    } of logs, of random data`,
    description: describe(
      "1 Gbit/s link between two namespaces (tbf, as in `link`), where the network is the limit; nc sends the logs too",
    ),
    baseline: null,
  };
  const reason = linkUnavailable(bench.peers.ip);
  if (reason !== null) {
    console.log(`\n== compress-link: skipped: ${reason}`);
    return { ...base, rows: [], notes: [], skipped: reason };
  }
  console.log(
    `\n== compress-link: ${
      sizeLabel(bytes)
    } of logs and of random data over a 1gbit link, ${bench.options.runs} runs`,
  );
  const { rows, ratio: zstd } = await measure(bench, "link");
  return {
    ...base,
    rows,
    notes: [
      `The logs: zstd level 1 makes them ${
        zstd.toFixed(2)
      } times smaller, record by record.`,
      `nc / auto, logs: ${
        ratio(rows, NC_LOGS, AUTO_LOGS)
      } (how many times faster auto is than nc; the aim: at least 2.5).`,
      `off / auto, logs: ${
        ratio(rows, OFF_LOGS, AUTO_LOGS)
      } (what compression gains).`,
      `auto / off, random: ${
        ratio(rows, AUTO_RANDOM, OFF_RANDOM)
      } (the aim: at most 1.03).`,
    ],
  };
}
