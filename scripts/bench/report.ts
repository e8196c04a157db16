/**
 * The reports: bench-results/latest.md with one markdown table per
 * scenario, and bench-results/latest.json with the same figures.
 *
 * @module
 */

import { join } from "node:path";
import type { Options } from "./context.ts";
import type { Peers } from "./peers.ts";
import type { RowSummary, ScenarioResult } from "./stats.ts";
import type { Target } from "./targets.ts";

/** The machine the bench ran on. */
export interface Machine {
  /** Logical CPUs. */
  cores: number;
  /** CPU model, from /proc/cpuinfo where there is one. */
  cpu: string;
  /** Total memory in GiB. */
  memoryGiB: number;
  /** Operating system and kernel release. */
  os: string;
  /** Deno version. */
  deno: string;
}

/** Everything a report holds. */
export interface Report {
  /** When the bench started, ISO 8601. */
  when: string;
  /** Where it ran. */
  machine: Machine;
  /** Its options. */
  options: Options;
  /** The peers found. */
  peers: Peers;
  /** How to install the missing ones. */
  missing: string[];
  /** Seconds the whole bench took. */
  totalSeconds: number;
  /** The scenarios, in the order they ran. */
  scenarios: ScenarioResult[];
  /** The targets, evaluated on these scenarios. */
  targets: Target[];
}

/** Describes this machine. */
export async function describeMachine(): Promise<Machine> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const cpu = cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1].trim() ??
    Deno.build.arch;
  return {
    cores: navigator.hardwareConcurrency,
    cpu,
    memoryGiB: Math.round(Deno.systemMemoryInfo().total / 2 ** 30),
    os: `${Deno.build.os} ${Deno.osRelease()}`,
    deno: Deno.version.deno,
  };
}

/** Seconds with as many decimals as their size deserves. */
function seconds(value: number): string {
  return value.toFixed(value < 1 ? 3 : 2);
}

/** `text` safe in a markdown table cell. */
function cell(text: string): string {
  return text.replaceAll("|", "\\|");
}

/** One table line of `row`. */
function tableLine(row: RowSummary): string {
  const rss = row.peakRssMiB.every((side) => side === null)
    ? "–"
    : row.peakRssMiB.map((side) => side ?? "–").join(" / ");
  return `| ${cell(row.tool)} | ${row.runs} | ${seconds(row.medianSeconds)} | ${
    seconds(row.minSeconds)
  }–${seconds(row.maxSeconds)} | ${
    row.megabytesPerSecond === null ? "–" : row.megabytesPerSecond.toFixed(0)
  } | ${
    row.ratioToBaseline === null ? "–" : row.ratioToBaseline.toFixed(2)
  } | ${rss} | ${cell(row.note)} |`;
}

/** The markdown of one scenario. */
function scenarioMarkdown(scenario: ScenarioResult): string[] {
  const lines = [`## ${scenario.title} (\`${scenario.name}\`)`, ""];
  if (scenario.skipped) {
    return [...lines, `Skipped: ${scenario.skipped}`, ""];
  }
  if (scenario.failed) {
    return [...lines, "Failed:", "", "```", scenario.failed, "```", ""];
  }
  lines.push(scenario.description, "");
  if (scenario.rows.length > 0) {
    lines.push(
      `| tool | runs | median s | min–max s | MB/s | × ${
        cell(scenario.baseline ?? "baseline")
      } | peak RSS MiB send / receive | note |`,
      "|---|---|---|---|---|---|---|---|",
      ...scenario.rows.map(tableLine),
      "",
    );
  }
  for (const note of scenario.notes) lines.push(`- ${note}`);
  if (scenario.notes.length > 0) lines.push("");
  return lines;
}

/** The table of the targets, all measured in this run. */
function targetsMarkdown(targets: Target[]): string[] {
  if (targets.length === 0) return [];
  const verdict = (met: boolean | null) =>
    met === null ? "not measured" : met ? "met" : "**not met**";
  return [
    "## Targets, as ratios within this run",
    "",
    "| target | goal | this run | |",
    "|---|---|---|---|",
    ...targets.map((target) =>
      `| ${cell(target.name)} | ${cell(target.goal)} | ${
        cell(target.measured)
      } | ${verdict(target.met)} |`
    ),
    "",
  ];
}

/** The whole markdown report. */
export function renderMarkdown(report: Report): string {
  const { machine, options } = report;
  const lines = [
    `# Benchmark, ${report.when}`,
    "",
    `Machine: ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB, ${machine.os}; Deno ${machine.deno}.`,
    `Options: --runs ${options.runs} --size ${options.sizeMiB} --scp-runs ${options.scpRuns} ` +
    `--tree-files ${options.treeFiles} --clients ${options.clients} --client-size ${options.clientMiB}. ` +
    `Whole bench: ${(report.totalSeconds / 60).toFixed(1)} min.`,
    "",
    "Real processes, the same files for every tool, runs alternating between the tools; " +
    "median and range of wall-clock seconds; MB/s is 10^6 bytes per second at the median; " +
    "× is the median time relative to the scenario's clear baseline (below 1 is faster). " +
    "Peak RSS is the largest over the runs, from `/usr/bin/time -f %M` (– where not measured).",
    "",
  ];
  if (report.missing.length > 0) {
    lines.push("Not installed, so not compared:", "");
    for (const hint of report.missing) lines.push(`- ${hint}`);
    lines.push("");
  }
  lines.push(...targetsMarkdown(report.targets));
  for (const scenario of report.scenarios) {
    lines.push(...scenarioMarkdown(scenario));
  }
  return lines.join("\n");
}

/** Writes latest.md and latest.json into `dir`, and returns the markdown. */
export async function writeReports(
  dir: string,
  report: Report,
): Promise<string> {
  const markdown = renderMarkdown(report);
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(join(dir, "latest.md"), markdown);
  await Deno.writeTextFile(
    join(dir, "latest.json"),
    JSON.stringify(report, null, 2) + "\n",
  );
  return markdown;
}
