/**
 * Scenario `start`: what starting a client costs, the fixed price each of
 * the many scenario's clients pays. Alternating runs of Deno with an
 * empty script, of `client.ts --version` (Deno and loading the client's
 * modules) and of a client sending a new 1-byte file to a server that is
 * already running (the rest: the code, scrypt, the key exchange, the
 * manifest, one byte); with their CPU seconds and the server's CPU per
 * session.
 *
 * @module
 */

import { join } from "node:path";
import type { Bench } from "./context.ts";
import { launchOurClient, ROOT, startOurServer } from "./ours.ts";
import { Launched } from "./process.ts";
import {
  alternate,
  type Row,
  type ScenarioResult,
  summarise,
} from "./stats.ts";

/** Seconds of CPU of process `pid` so far, from /proc (10 ms steps). */
async function processCpu(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  // Fields after the command name, which is in parentheses.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The mean of `values`. */
function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** Runs the scenario. */
export async function startScenario(bench: Bench): Promise<ScenarioResult> {
  const runs = 4 * bench.options.runs;
  const empty = "deno, an empty script";
  const version = "client.ts --version";
  const send = "client.ts sending 1 byte, server running";
  const rows: Row[] = [empty, version, send].map((tool) => ({
    tool,
    bytes: null,
    samples: [],
  }));
  const cpu = new Map<string, number[]>(rows.map((row) => [row.tool, []]));
  const dir = join(bench.work, "start");
  await Deno.mkdir(join(dir, "source"), { recursive: true });
  const emptyScript = join(dir, "empty.ts");
  await Deno.writeTextFile(emptyScript, "\n");
  console.log(`\n== start: what starting a client costs, ${runs} runs`);
  const { process: server, port } = await startOurServer(
    { ...bench, useTime: false },
    join(dir, "dest"),
    { host: "127.0.0.1" },
    false,
  );
  let serverCpu = 0;
  try {
    await alternate(rows, runs, async (row, run) => {
      let launched: Launched;
      let before = 0;
      if (row.tool === send) {
        const file = join(dir, "source", `byte-${run}.bin`);
        await Deno.writeFile(file, Uint8Array.of(run & 0xff));
        before = await processCpu(server.pid);
        launched = launchOurClient(bench, "127.0.0.1", port, [file]);
      } else {
        const args = row.tool === empty
          ? ["run", "-A", emptyScript]
          : ["run", "-A", join(ROOT, "client.ts"), "--version"];
        launched = new Launched(bench, row.tool, Deno.execPath(), args, {
          env: { FT_CODE: "not-used" },
        });
      }
      const started = performance.now();
      await launched.succeed();
      const seconds = (performance.now() - started) / 1000;
      if (row.tool === send) {
        serverCpu += await processCpu(server.pid) - before;
      }
      const used = await launched.cpuSeconds();
      if (used !== null) cpu.get(row.tool)!.push(used);
      return { seconds, rss: [await launched.peakRssKiB(), null] };
    });
    await server.signal("SIGINT");
    await server.succeed();
  } finally {
    await server.kill();
  }
  const ms = (tool: string) => {
    const values = cpu.get(tool)!;
    return values.length ? mean(values) * 1000 : null;
  };
  for (const row of rows) {
    const value = ms(row.tool);
    if (value !== null) row.note = `CPU ${value.toFixed(0)} ms (mean)`;
  }
  const notes: string[] = [];
  const [base, loaded, whole] = [ms(empty), ms(version), ms(send)];
  if (base !== null && loaded !== null && whole !== null) {
    notes.push(
      `CPU of one client, mean of ${runs} runs: Deno itself ${
        base.toFixed(0)
      } ms, loading the client's modules ${
        (loaded - base).toFixed(0)
      } ms, the rest (flags, scrypt of the code, the key exchange, the manifest, one byte, the summary) ${
        (whole - loaded).toFixed(0)
      } ms; the server ${
        (serverCpu / runs * 1000).toFixed(0)
      } ms per session (from /proc, 10 ms steps).`,
    );
  }
  return {
    name: "start",
    title: "What starting a client costs",
    description:
      `Wall seconds from starting each command until it exited with status 0, alternating; ` +
      `the client sends a new 1-byte file each run to one server.ts started before the runs. ` +
      `Peak RSS is the command's.`,
    baseline: null,
    rows: summarise(rows, null),
    notes,
  };
}
