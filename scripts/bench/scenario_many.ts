/**
 * Scenario `many`: many clients at once (50 by default), each sending its
 * own file (20 MiB by default) to one server. Every client and the server
 * must exit with status 0 and every file must arrive with the same size
 * and SHA-256. Compared with one client alone and with as many `nc` pairs
 * at once.
 *
 * @module
 */

import { join } from "node:path";
import type { Bench } from "./context.ts";
import {
  checkTree,
  hashFile,
  type Manifest,
  removeAll,
  writeRandomFile,
} from "./files.ts";
import {
  type NcListener,
  ncReceiveScript,
  ncSendScript,
  startNcListener,
} from "./netcat.ts";
import { launchOurClient, startOurServer } from "./ours.ts";
import { type Context, Launched } from "./process.ts";
import {
  alternate,
  median,
  type Row,
  type RowSummary,
  type Sample,
  type ScenarioResult,
  summarise,
} from "./stats.ts";

/** Largest of the known values, or null. */
function maxKnown(values: (number | null)[]): number | null {
  const known = values.filter((value): value is number => value !== null);
  return known.length ? Math.max(...known) : null;
}

/** CPU seconds of one run of ours: each client's, and the server's. */
interface RunCpu {
  /** Each client's, where measured. */
  clients: number[];
  /** The server's, if measured. */
  server: number | null;
  /** Clients that retried at least once. */
  retried: number;
  /** Clients that were told the server is busy at least once. */
  busy: number;
}

/**
 * All `sources` at once to one server.ts: seconds from the first client's
 * start until the last one exited; the server is stopped afterwards. The
 * CPU seconds of each process go to `cpu`.
 */
async function runOursAtOnce(
  ctx: Context,
  sources: string[],
  dest: string,
  cpu: RunCpu[],
): Promise<Sample> {
  const { process: server, port } = await startOurServer(
    ctx,
    dest,
    { host: "127.0.0.1" },
    false,
  );
  const clients: Launched[] = [];
  let seconds: number;
  try {
    const started = performance.now();
    for (const source of sources) {
      clients.push(launchOurClient(ctx, "127.0.0.1", port, [source]));
    }
    const statuses = await Promise.all(clients.map((c) => c.exited));
    seconds = (performance.now() - started) / 1000;
    const failed = statuses.findIndex((status) => !status.success);
    if (failed >= 0) {
      throw clients[failed].failure(
        `exited with ${statuses[failed].code} (${
          statuses.filter((s) => !s.success).length
        } of ${clients.length} clients failed)`,
      );
    }
    // A graceful stop: SIGINT makes it stop listening and exit 0.
    await server.signal("SIGINT");
    await server.succeed();
  } finally {
    await Promise.all(clients.map((client) => client.kill()));
    await server.kill();
  }
  const clientRss = await Promise.all(clients.map((c) => c.peakRssKiB()));
  const clientCpu = await Promise.all(clients.map((c) => c.cpuSeconds()));
  cpu.push({
    clients: clientCpu.filter((value): value is number => value !== null),
    server: await server.cpuSeconds(),
    retried: clients.filter((c) => c.stderr.includes("retrying in")).length,
    busy: clients.filter((c) => c.stderr.includes("Server is busy")).length,
  });
  return { seconds, rss: [maxKnown(clientRss), await server.peakRssKiB()] };
}

/** As many `nc` pairs at once, one per file, each on its own port. */
async function runNcAtOnce(
  ctx: Context,
  sources: string[],
  dest: string,
): Promise<Sample> {
  await Deno.mkdir(dest);
  const listeners: NcListener[] = [];
  const senders: Launched[] = [];
  let seconds: number;
  try {
    for (const source of sources) {
      const out = join(dest, source.split("/").at(-1)!);
      listeners.push(
        await startNcListener(ctx, ncReceiveScript(out), "127.0.0.1"),
      );
    }
    const started = performance.now();
    for (const [i, source] of sources.entries()) {
      senders.push(
        new Launched(ctx, "nc sender", "bash", [
          "-c",
          ncSendScript(source, "127.0.0.1", listeners[i].port),
        ]),
      );
    }
    await Promise.all([
      ...senders.map((sender) => sender.succeed()),
      ...listeners.map((listener) => listener.process.succeed()),
    ]);
    seconds = (performance.now() - started) / 1000;
  } finally {
    await Promise.all([
      ...senders.map((sender) => sender.kill()),
      ...listeners.map((listener) => listener.process.kill()),
    ]);
  }
  return {
    seconds,
    rss: [
      maxKnown(await Promise.all(senders.map((s) => s.peakRssKiB()))),
      maxKnown(
        await Promise.all(listeners.map((l) => l.process.peakRssKiB())),
      ),
    ],
  };
}

/**
 * Where the CPU of the batch went: the clients' and the server's CPU
 * seconds (medians over the runs), against what the cores could give in
 * the batch's wall time.
 */
function cpuNotes(
  together: RunCpu[],
  alone: RunCpu[],
  summary: RowSummary[],
  tool: string,
  clients: number,
): string[] {
  const measured = together.filter((run) => run.clients.length > 0);
  const wall = summary.find((row) => row.tool === tool)?.medianSeconds;
  if (measured.length === 0 || wall === undefined) return [];
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  const clientTotal = median(measured.map((run) => sum(run.clients)));
  const perClient = median(measured.flatMap((run) => run.clients));
  const servers = measured.flatMap((run) =>
    run.server === null ? [] : [run.server]
  );
  const server = servers.length ? median(servers) : null;
  const cores = navigator.hardwareConcurrency;
  const lines = [
    `CPU of one batch (median of the runs, user and system): the ${clients} clients ${
      clientTotal.toFixed(2)
    } CPU-s in all (${
      (perClient * 1000).toFixed(0)
    } ms each, median), the server ${
      server === null
        ? "not measured"
        : `${server.toFixed(2)} CPU-s (its start included)`
    }; in the batch's ${wall.toFixed(2)} s the ${cores} cores give ${
      (wall * cores).toFixed(2)
    } CPU-s.`,
  ];
  const retried = median(together.map((run) => run.retried));
  const busy = median(together.map((run) => run.busy));
  lines.push(
    `Clients that retried, median per batch: ${retried} of ${clients}, ${busy} of them told the server is busy (its limit of unauthenticated connections from one address, 16, or of connections); a retry waits about a second.`,
  );
  const single = alone.filter((run) => run.clients.length > 0);
  if (single.length > 0) {
    const serverAlone = single.flatMap((run) =>
      run.server === null ? [] : [run.server]
    );
    lines.push(
      `One client alone: client ${
        (median(single.map((run) => run.clients[0])) * 1000).toFixed(0)
      } ms of CPU, server ${
        serverAlone.length
          ? `${(median(serverAlone) * 1000).toFixed(0)} ms`
          : "not measured"
      } (median).`,
    );
  }
  return lines;
}

/** Runs the scenario. */
export async function manyScenario(bench: Bench): Promise<ScenarioResult> {
  const { runs, clients, clientMiB } = bench.options;
  const fileBytes = clientMiB * 1024 * 1024;
  const dir = join(bench.work, "many-source");
  await Deno.mkdir(dir);
  console.log(
    `\n== many: ${clients} clients at once, ${clientMiB} MiB each, ${runs} runs`,
  );
  console.log(`Writing ${clients} random files of ${clientMiB} MiB...`);
  const sources: string[] = [];
  const expected: Manifest = new Map();
  for (let i = 0; i < clients; i++) {
    const name = `client-${String(i).padStart(3, "0")}.bin`;
    const path = join(dir, name);
    await writeRandomFile(path, fileBytes);
    sources.push(path);
    expected.set(name, { size: fileBytes, sha256: await hashFile(path) });
  }
  const together = `deno-ft, ${clients} clients at once`;
  const alone = `deno-ft, 1 client alone (${clientMiB} MiB)`;
  const ncTogether = `nc, ${clients} pairs at once (clear, unverified)`;
  const rows: Row[] = [
    { tool: together, bytes: clients * fileBytes, samples: [] },
    { tool: alone, bytes: fileBytes, samples: [] },
  ];
  if (bench.peers.nc) {
    rows.push({ tool: ncTogether, bytes: clients * fileBytes, samples: [] });
  }
  const dest = join(bench.work, "dest-many");
  const cpuTogether: RunCpu[] = [];
  const cpuAlone: RunCpu[] = [];
  try {
    await alternate(rows, runs, async (row) => {
      await removeAll(dest);
      let sample: Sample;
      if (row.tool === alone) {
        // Timed the same way as the batch, so that the two compare.
        sample = await runOursAtOnce(bench, [sources[0]], dest, cpuAlone);
        await checkTree(
          row.tool,
          dest,
          new Map([...expected].slice(0, 1)),
          true,
        );
      } else {
        sample = row.tool === together
          ? await runOursAtOnce(bench, sources, dest, cpuTogether)
          : await runNcAtOnce(bench, sources, dest);
        // Every file, by size and SHA-256, outside the timing.
        await checkTree(row.tool, dest, expected, true);
      }
      await removeAll(dest);
      return sample;
    });
  } finally {
    await removeAll(dir);
  }
  const summary = summarise(rows, bench.peers.nc ? ncTogether : null);
  const notes: string[] = [];
  const rate = (tool: string) =>
    summary.find((row) => row.tool === tool)?.megabytesPerSecond ?? null;
  const aggregate = rate(together);
  const single = rate(alone);
  if (aggregate !== null && single !== null) {
    notes.push(
      `Aggregate throughput (all bytes / wall time of the whole batch): ${
        aggregate.toFixed(0)
      } MB/s, ${
        (aggregate / single).toFixed(2)
      } × one ${clientMiB} MiB client alone measured in this scenario (${
        single.toFixed(0)
      } MB/s).`,
    );
  }
  if (aggregate !== null && bench.fileMegabytesPerSecond !== null) {
    notes.push(
      `${
        (aggregate / bench.fileMegabytesPerSecond).toFixed(2)
      } × one client with the large file of the file scenario (${
        bench.fileMegabytesPerSecond.toFixed(0)
      } MB/s).`,
    );
  }
  notes.push(...cpuNotes(cpuTogether, cpuAlone, summary, together, clients));
  notes.push(
    `Peak RSS: the largest of the ${clients} clients / the one server (nc: the largest sender / listener).`,
  );
  return {
    name: "many",
    title: `${clients} clients at once, ${clientMiB} MiB each, one server`,
    description:
      `Wall time from starting the first client until the last one exited, every client with status 0, then the server stopped with SIGINT and exiting 0. ` +
      `Every received file is checked by size and SHA-256 after each run, outside the timing. MB/s is the aggregate.`,
    baseline: bench.peers.nc ? ncTogether : null,
    rows: summary,
    notes,
  };
}
