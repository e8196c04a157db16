/**
 * Measurements and their summaries: medians, ranges, throughput, ratios to
 * a scenario's baseline and the peak memory of each side.
 *
 * @module
 */

/** One run of one tool. */
export interface Sample {
  /** Wall-clock seconds, or the tool's own timing where a row says so. */
  seconds: number;
  /** Peak resident memory of the sending and receiving side, in KiB. */
  rss: [number | null, number | null];
  /** CPU seconds of the sending and receiving side, where measured. */
  cpu?: [number | null, number | null];
}

/** The runs of one tool in one scenario. */
export interface Row {
  /** What ran, as shown in the tables. */
  tool: string;
  /** Bytes one run moves, to compute MB/s; null when that makes no sense. */
  bytes: number | null;
  /** A remark shown next to the tool, such as fewer runs. */
  note?: string;
  /** The runs so far. */
  samples: Sample[];
}

/** What the tables show of one {@link Row}. */
export interface RowSummary {
  /** What ran. */
  tool: string;
  /** A remark, or an empty string. */
  note: string;
  /** Number of runs. */
  runs: number;
  /** Median of the runs' seconds. */
  medianSeconds: number;
  /** Fastest run. */
  minSeconds: number;
  /** Slowest run. */
  maxSeconds: number;
  /** Decimal megabytes per second at the median, when bytes are known. */
  megabytesPerSecond: number | null;
  /**
   * Median seconds divided by the baseline's, when there is one and it
   * moved as many bytes.
   */
  ratioToBaseline: number | null;
  /** Largest peak RSS over the runs, sending and receiving side, MiB. */
  peakRssMiB: [number | null, number | null];
}

/** Everything one scenario found, as written to the reports. */
export interface ScenarioResult {
  /** Name used with `--only`. */
  name: string;
  /** Heading. */
  title: string;
  /** What was measured and how, one paragraph. */
  description: string;
  /** The tool the ratios are relative to, if any. */
  baseline: string | null;
  /** The tools measured. */
  rows: RowSummary[];
  /** Derived figures and caveats, one line each. */
  notes: string[];
  /** Why it did not run, when it did not. */
  skipped?: string;
  /** The error that stopped it, when one did. */
  failed?: string;
}

/** The median of `values` (the mean of the middle two for even counts). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? sorted[middle]
    : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Largest of the values that were measured, or null if none was. */
function maxKnown(values: (number | null)[]): number | null {
  const known = values.filter((value): value is number => value !== null);
  return known.length ? Math.max(...known) : null;
}

/**
 * Summarises `rows`, with ratios to the row named `baseline`, if any, for
 * the rows that move as many bytes as it does.
 */
export function summarise(rows: Row[], baseline: string | null): RowSummary[] {
  const base = rows.find((row) => row.tool === baseline);
  const baseMedian = base?.samples.length
    ? median(base.samples.map((s) => s.seconds))
    : null;
  return rows.filter((row) => row.samples.length > 0).map((row) => {
    const times = row.samples.map((s) => s.seconds);
    const mid = median(times);
    const rss = [0, 1].map((side) =>
      maxKnown(row.samples.map((s) => s.rss[side]))
    );
    return {
      tool: row.tool,
      note: row.note ?? "",
      runs: times.length,
      medianSeconds: mid,
      minSeconds: Math.min(...times),
      maxSeconds: Math.max(...times),
      megabytesPerSecond: row.bytes === null ? null : row.bytes / 1e6 / mid,
      ratioToBaseline: baseMedian === null || row.bytes !== base?.bytes
        ? null
        : mid / baseMedian,
      peakRssMiB: rss.map((kib) =>
        kib === null ? null : Math.round(kib / 1024)
      ) as [number | null, number | null],
    };
  });
}

/** Runs `runs` rounds over `rows`, reversing the order every other round. */
export async function alternate(
  rows: Row[],
  runs: number,
  runOne: (row: Row, run: number) => Promise<Sample | null>,
): Promise<void> {
  for (let run = 1; run <= runs; run++) {
    // Alternate, so that drift in the machine hits every tool alike.
    for (const row of run % 2 ? rows : [...rows].reverse()) {
      const sample = await runOne(row, run);
      if (sample === null) continue;
      row.samples.push(sample);
      console.log(
        `  run ${run}/${runs}: ${row.tool}: ${sample.seconds.toFixed(3)} s`,
      );
    }
  }
}
