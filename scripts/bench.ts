/**
 * `deno task bench`: real server and client processes against the peers
 * installed here, in the same run, alternating, with medians and ranges.
 *
 * So far one scenario: one large file over loopback (1 GiB by default,
 * `--size MIB` to change), ours with encryption and verification on, against
 * `nc` file to file. Results go to bench-results/latest.{md,json}.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CODE = "bench-code-not-secret";

interface Sample {
  seconds: number;
  /** Peak resident memory of the sending and receiving side, in KiB. */
  rss: [number, number] | null;
}

interface Row {
  tool: string;
  samples: Sample[];
}

async function has(command: string, args: string[]): Promise<boolean> {
  try {
    await new Deno.Command(command, { args, stdout: "null", stderr: "null" })
      .output();
    return true;
  } catch {
    return false;
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function writeRandomFile(path: string, bytes: number): Promise<void> {
  using file = await Deno.open(path, {
    write: true,
    create: true,
    truncate: true,
  });
  const chunk = new Uint8Array(1024 * 1024);
  for (let done = 0; done < bytes; done += chunk.length) {
    for (let i = 0; i < chunk.length; i += 65536) {
      crypto.getRandomValues(chunk.subarray(i, i + 65536));
    }
    const part = chunk.subarray(0, Math.min(chunk.length, bytes - done));
    let written = 0;
    while (written < part.length) {
      written += await file.write(part.subarray(written));
    }
  }
}

/** Runs `args` under `/usr/bin/time` when present, to learn its peak RSS. */
function timed(
  useTime: boolean,
  command: string,
  args: string[],
  rssFile: string,
  options: Partial<Deno.CommandOptions> = {},
): Deno.ChildProcess {
  const [cmd, cmdArgs] = useTime
    ? ["/usr/bin/time", ["-f", "%M", "-o", rssFile, command, ...args]]
    : [command, args];
  return new Deno.Command(cmd, {
    stdin: "null",
    stdout: "null",
    stderr: "null",
    ...options,
    args: cmdArgs,
  }).spawn();
}

/** Peak RSS of the sending and receiving side, from `timed`'s files. */
async function peakRss(
  useTime: boolean,
  dir: string,
  sending: string,
  receiving: string,
): Promise<[number, number] | null> {
  if (!useTime) return null;
  const read = async (name: string) =>
    Number(
      (await Deno.readTextFile(join(dir, name))).trim().split("\n").at(-1),
    );
  return [await read(sending), await read(receiving)];
}

async function runOurs(
  source: string,
  dir: string,
  useTime: boolean,
): Promise<Sample> {
  const dest = join(dir, "ours");
  await Deno.remove(dest, { recursive: true }).catch(() => {});
  const port = freePort();
  const env = { FT_CODE: CODE };
  const server = timed(
    useTime,
    Deno.execPath(),
    [
      "run",
      "-A",
      join(ROOT, "server.ts"),
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--dir",
      dest,
      "--once",
    ],
    join(dir, "server.rss"),
    { env, stdout: "piped" },
  );
  const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("Listening on")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("The server exited before listening");
    text += value;
  }
  const draining = (async () => {
    while (!(await reader.read()).done) { /* keep the pipe open */ }
  })();
  const started = performance.now();
  const client = await timed(
    useTime,
    Deno.execPath(),
    [
      "run",
      "-A",
      join(ROOT, "client.ts"),
      `127.0.0.1:${port}`,
      source,
    ],
    join(dir, "client.rss"),
    { env },
  ).status;
  const status = await server.status;
  const seconds = (performance.now() - started) / 1000;
  await draining;
  if (!client.success || !status.success) {
    throw new Error("Our transfer failed");
  }
  return {
    seconds,
    rss: await peakRss(useTime, dir, "client.rss", "server.rss"),
  };
}

async function runNc(
  source: string,
  dir: string,
  useTime: boolean,
): Promise<Sample> {
  const out = join(dir, "nc.out");
  const port = freePort();
  // The shell connects nc to the files directly, as a user would.
  const listener = timed(useTime, "sh", [
    "-c",
    `exec nc -l 127.0.0.1 ${port} > "${out}"`,
  ], join(dir, "nc-server.rss"));
  const started = performance.now();
  // nc -l gives no sign that it listens, and a probe would be its one
  // connection: retry the sender while it is refused.
  let sender: Deno.CommandStatus | null = null;
  for (let attempt = 0; attempt < 100 && !sender?.success; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    sender = await timed(useTime, "sh", [
      "-c",
      `exec nc -N 127.0.0.1 ${port} < "${source}"`,
    ], join(dir, "nc-client.rss")).status;
  }
  if (!sender?.success) {
    listener.kill();
    await listener.status;
    throw new Error("nc could not connect to its listener");
  }
  const received = await listener.status;
  const seconds = (performance.now() - started) / 1000;
  if (!received.success) throw new Error("nc failed");
  return {
    seconds,
    rss: await peakRss(useTime, dir, "nc-client.rss", "nc-server.rss"),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? sorted[middle]
    : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    strict: true,
    options: {
      size: { type: "string", default: "1024" },
      runs: { type: "string", default: "5" },
    },
  });
  const sizeMiB = Number(values.size);
  const runs = Number(values.runs);
  const bytes = sizeMiB * 1024 * 1024;
  const useTime = await has("/usr/bin/time", ["-f", "%M", "true"]);
  const haveNc = await has("nc", ["-h"]);
  if (!haveNc) {
    console.log("nc is not installed: apt-get install netcat-openbsd");
  }
  if (!useTime) {
    console.log(
      "/usr/bin/time is not installed: apt-get install time (memory is not measured)",
    );
  }

  const dir = await Deno.makeTempDir({ prefix: "ft-bench-" });
  try {
    const source = join(dir, "source.bin");
    console.log(`Writing a ${sizeMiB} MiB random file...`);
    await writeRandomFile(source, bytes);
    const rows: Row[] = [{
      tool: "deno-ft (encrypted, verified)",
      samples: [],
    }];
    if (haveNc) rows.push({ tool: "nc (clear, unverified)", samples: [] });
    for (let run = 1; run <= runs; run++) {
      // Alternate, so that drift in the machine hits every tool alike.
      for (const row of run % 2 ? rows : [...rows].reverse()) {
        const sample = row.tool.startsWith("nc")
          ? await runNc(source, dir, useTime)
          : await runOurs(source, dir, useTime);
        row.samples.push(sample);
        console.log(`run ${run}: ${row.tool}: ${sample.seconds.toFixed(2)} s`);
      }
    }
    const ncMedian = haveNc
      ? median(rows[1].samples.map((s) => s.seconds))
      : NaN;
    const summary = rows.map((row) => {
      const times = row.samples.map((s) => s.seconds);
      const mid = median(times);
      const rss = row.samples[0].rss === null
        ? null
        : [0, 1].map((side) =>
          Math.max(...row.samples.map((s) => s.rss![side]))
        );
      return {
        tool: row.tool,
        medianSeconds: mid,
        minSeconds: Math.min(...times),
        maxSeconds: Math.max(...times),
        megabytesPerSecond: bytes / 1e6 / mid,
        ratioToNc: mid / ncMedian,
        peakRssMiB: rss === null
          ? null
          : rss.map((kib) => Math.round(kib / 1024)),
      };
    });
    const when = new Date().toISOString();
    const lines = [
      `# Benchmark, ${when}`,
      "",
      `${sizeMiB} MiB over loopback, ${runs} alternating runs, ${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}.`,
      "",
      "| tool | median s | min–max s | MB/s | × nc | peak RSS MiB (send/receive) |",
      "|---|---|---|---|---|---|",
      ...summary.map((r) =>
        `| ${r.tool} | ${r.medianSeconds.toFixed(2)} | ${
          r.minSeconds.toFixed(2)
        }–${r.maxSeconds.toFixed(2)} | ${r.megabytesPerSecond.toFixed(0)} | ${
          Number.isNaN(r.ratioToNc) ? "–" : r.ratioToNc.toFixed(2)
        } | ${r.peakRssMiB?.join(" / ") ?? "–"} |`
      ),
    ];
    const results = join(ROOT, "bench-results");
    await Deno.mkdir(results, { recursive: true });
    await Deno.writeTextFile(
      join(results, "latest.md"),
      lines.join("\n") + "\n",
    );
    await Deno.writeTextFile(
      join(results, "latest.json"),
      JSON.stringify({ when, sizeMiB, runs, summary }, null, 2) + "\n",
    );
    console.log("\n" + lines.join("\n"));
    return 0;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) Deno.exitCode = await main();
