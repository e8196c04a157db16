/**
 * The performance targets (issue 16) as ratios between rows of one bench
 * run, so that the load of the machine, which hits every row alike, mostly
 * cancels out.
 *
 * @module
 */

import { FLOOR } from "./floor.ts";
import { OURS, RSYNC, SCP } from "./scenario_file.ts";
import type { RowSummary, ScenarioResult } from "./stats.ts";
import { MAGIC_WORMHOLE, WORMHOLE_WILLIAM } from "./wormhole.ts";

/** One target and what this run measured for it. */
export interface Target {
  /** What is compared. */
  name: string;
  /** The goal, as a ratio or a bound. */
  goal: string;
  /** What this run found, or why it was not measured. */
  measured: string;
  /** Whether the goal was met; null when not measured. */
  met: boolean | null;
}

/** The row `tool` of scenario `name`, if it ran. */
function findRow(
  scenarios: ScenarioResult[],
  name: string,
  tool: (tool: string) => boolean,
): RowSummary | null {
  const scenario = scenarios.find((s) => s.name === name);
  return scenario?.rows.find((row) => tool(row.tool)) ?? null;
}

/** Why scenario `name` gave no figures. */
function missing(scenarios: ScenarioResult[], name: string): string {
  const scenario = scenarios.find((s) => s.name === name);
  if (!scenario) return `${name} scenario not run`;
  if (scenario.failed) return `${name} scenario failed (see below)`;
  if (scenario.skipped) return `${name} scenario skipped: ${scenario.skipped}`;
  return "not in this run";
}

/** Seconds as the tables show them. */
function secs(value: number): string {
  return `${value.toFixed(value < 1 ? 3 : 2)} s`;
}

/** Evaluates the targets on the scenarios of one run. */
export function evaluateTargets(scenarios: ScenarioResult[]): Target[] {
  const targets: Target[] = [];
  const notRun = (name: string, goal: string, why: string) =>
    targets.push({ name, goal, measured: why, met: null });
  const ours = findRow(scenarios, "file", (tool) => tool === OURS);
  const size = scenarios.find((s) => s.name === "file")?.title
    .replace(/^One (.+) file over loopback$/, "$1") ?? "large file";
  for (const peer of [SCP, RSYNC, MAGIC_WORMHOLE, WORMHOLE_WILLIAM]) {
    const name = `${size}: ours faster than ${peer.replace(/ \(.*$/, "")}`;
    const goal = "≥ 1.50× faster";
    const row = findRow(scenarios, "file", (tool) => tool === peer);
    if (!ours || !row) {
      notRun(
        name,
        goal,
        ours
          ? "not run (see the file scenario's notes)"
          : missing(scenarios, "file"),
      );
      continue;
    }
    const ratio = row.medianSeconds / ours.medianSeconds;
    targets.push({
      name,
      goal,
      measured: `${ratio.toFixed(2)}× (${secs(row.medianSeconds)} / ${
        secs(ours.medianSeconds)
      })`,
      met: ratio >= 1.5,
    });
  }
  const floor = findRow(scenarios, "file", (tool) => tool === FLOOR);
  if (ours && floor) {
    const ratio = ours.medianSeconds / floor.medianSeconds;
    targets.push({
      name: `${size}: ours against the crypto floor`,
      goal: "≤ 1.10× its time",
      measured: `${ratio.toFixed(2)}× (${secs(ours.medianSeconds)} / ${
        secs(floor.medianSeconds)
      })`,
      met: ratio <= 1.1,
    });
  } else {
    notRun(
      `${size}: ours against the crypto floor`,
      "≤ 1.10× its time",
      missing(scenarios, "file"),
    );
  }
  const many = findRow(
    scenarios,
    "many",
    (tool) => tool.startsWith("deno-ft, ") && tool.endsWith(" at once"),
  );
  const manyName = "many clients at once: aggregate against one client with " +
    size;
  if (many?.megabytesPerSecond && ours?.megabytesPerSecond) {
    const ratio = many.megabytesPerSecond / ours.megabytesPerSecond;
    targets.push({
      name: manyName,
      goal: "≥ 80%",
      measured: `${(ratio * 100).toFixed(0)}% (${
        many.megabytesPerSecond.toFixed(0)
      } / ${ours.megabytesPerSecond.toFixed(0)} MB/s)`,
      met: ratio >= 0.8,
    });
  } else {
    notRun(
      manyName,
      "≥ 80%",
      many ? missing(scenarios, "file") : missing(scenarios, "many"),
    );
  }
  const first = findRow(scenarios, "first-byte", (tool) => tool === OURS);
  if (first) {
    targets.push({
      name: "start to first byte on the receiver's disk",
      goal: "≤ 0.300 s",
      measured: `${secs(first.medianSeconds)} (median; ${
        secs(first.minSeconds)
      }–${secs(first.maxSeconds)})`,
      met: first.medianSeconds <= 0.3,
    });
  } else {
    notRun(
      "start to first byte on the receiver's disk",
      "≤ 0.300 s",
      missing(scenarios, "first-byte"),
    );
  }
  targets.push(...treeTargets(scenarios), memoryTarget(scenarios));
  return targets;
}

/**
 * The small files: ours against the disk work alone, fsynced, and against
 * `rsync -a --fsync`, when the tree scenario has such rows (matched by
 * name, so that new rows count as soon as they are there).
 */
function treeTargets(scenarios: ScenarioResult[]): Target[] {
  const tree = scenarios.find((s) => s.name === "tree");
  const files = tree?.title.match(/^(\d+) files/)?.[1] ?? "the";
  const ours = findRow(scenarios, "tree", (tool) => tool === OURS);
  const targets: Target[] = [];
  for (
    const [name, goal, limit, match] of [
      [
        `${files} small files: ours against the disk work alone, fsynced`,
        "≤ 1.25× its time",
        1.25,
        (tool: string) => tool.startsWith("disk work alone, fsynced"),
      ],
      [
        `${files} small files: ours faster than rsync -a --fsync`,
        "< 1.00× its time",
        1,
        (tool: string) => tool.startsWith("rsync") && tool.includes("--fsync"),
      ],
    ] as const
  ) {
    const row = findRow(scenarios, "tree", match);
    if (!ours || !row) {
      targets.push({
        name,
        goal,
        measured: ours ? "no such row in this run" : missing(scenarios, "tree"),
        met: null,
      });
      continue;
    }
    const ratio = ours.medianSeconds / row.medianSeconds;
    targets.push({
      name,
      goal,
      measured: `${ratio.toFixed(2)}× (${secs(ours.medianSeconds)} / ${
        secs(row.medianSeconds)
      })`,
      met: limit === 1 ? ratio < 1 : ratio <= limit,
    });
  }
  return targets;
}

/** The peak memory of either side of ours, over every scenario that ran. */
function memoryTarget(scenarios: ScenarioResult[]): Target {
  let worst: { mib: number; where: string } | null = null;
  for (const scenario of scenarios) {
    for (const row of scenario.rows) {
      if (!row.tool.startsWith("deno-ft")) continue;
      for (const [side, mib] of row.peakRssMiB.entries()) {
        if (mib !== null && (worst === null || mib > worst.mib)) {
          worst = {
            mib,
            where: `${scenario.name}, ${row.tool}, ${
              side === 0 ? "sending" : "receiving"
            }`,
          };
        }
      }
    }
  }
  const name = "memory: peak RSS of either side, every scenario";
  const goal = "≤ 150 MiB";
  if (worst === null) {
    return { name, goal, measured: "not measured in this run", met: null };
  }
  return {
    name,
    goal,
    measured: `${worst.mib} MiB at most (${worst.where})`,
    met: worst.mib <= 150,
  };
}
