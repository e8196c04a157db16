/**
 * Scenario `first-byte`: how long after the sending command starts the
 * first byte of file data is on the receiving side's disk, for the large
 * file. Observed by polling the destination folder every millisecond until
 * some file in it (ours: in `.ft-staging`; rsync: its temporary file) has a
 * size above zero; then both sides are killed.
 *
 * @module
 */

import { join } from "node:path";
import { type Bench, sizeLabel } from "./context.ts";
import { removeAll } from "./files.ts";
import { ncReceiveScript, ncSendScript, startNcListener } from "./netcat.ts";
import { launchOurClient, startOurServer } from "./ours.ts";
import { type Context, Launched, sleep } from "./process.ts";
import { launchRsync, launchScp } from "./ssh.ts";
import {
  alternate,
  type Row,
  type ScenarioResult,
  summarise,
} from "./stats.ts";
import { NC, OURS, RSYNC, SCP } from "./scenario_file.ts";

/** Give up on a first byte after this long. */
const TIMEOUT_MS = 120_000;

/** Whether a file in `dir` (not below) has a size above zero. */
async function hasData(dir: string): Promise<boolean> {
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile) continue;
      const info = await Deno.stat(join(dir, entry.name)).catch(() => null);
      if (info && info.size > 0) return true;
    }
  } catch {
    // Not there yet.
  }
  return false;
}

/**
 * Starts the sender with `launch`, and resolves to the seconds until data
 * shows up in `dest`; then kills the sender and `receiver`, if any.
 */
async function timeFirstByte(
  dest: string,
  launch: () => Launched,
  receiver: Launched | null,
): Promise<number> {
  const started = performance.now();
  const sender = launch();
  try {
    for (;;) {
      if (
        await hasData(dest) || await hasData(join(dest, ".ft-staging"))
      ) return (performance.now() - started) / 1000;
      if (sender.ended) throw sender.failure("exited before any data arrived");
      if (receiver?.ended) {
        throw receiver.failure("exited before any data arrived");
      }
      if (performance.now() - started > TIMEOUT_MS) {
        throw sender.failure(`sent no data in ${TIMEOUT_MS / 1000} s`);
      }
      await sleep(1);
    }
  } finally {
    await sender.kill();
    await receiver?.kill();
  }
}

/** Runs the scenario. */
export async function firstByteScenario(
  bench: Bench,
): Promise<ScenarioResult> {
  const bytes = bench.options.sizeMiB * 1024 * 1024;
  const source = await bench.sourceFile(bytes);
  const sshd = await bench.sshd();
  const { runs } = bench.options;
  // Nothing here is measured for memory: no /usr/bin/time in between.
  const quick: Context = { ...bench, useTime: false };
  const notes: string[] = [];
  const rows: Row[] = [{ tool: OURS, bytes: null, samples: [] }];
  if (bench.peers.nc) rows.push({ tool: NC, bytes: null, samples: [] });
  if (typeof sshd === "string") notes.push(`scp, rsync not run: ${sshd}`);
  else {
    rows.push({ tool: SCP, bytes: null, samples: [] });
    if (bench.peers.rsync) rows.push({ tool: RSYNC, bytes: null, samples: [] });
  }
  console.log(
    `\n== first-byte: from starting the sender to data on disk, ${
      sizeLabel(bytes)
    } file, ${runs} runs`,
  );
  const dest = join(bench.work, "dest-first-byte");
  await alternate(rows, runs, async (row) => {
    await removeAll(dest);
    let seconds: number;
    if (row.tool === OURS) {
      const { process: server, port } = await startOurServer(
        quick,
        dest,
        { host: "127.0.0.1" },
        true,
      );
      seconds = await timeFirstByte(
        dest,
        () => launchOurClient(quick, "127.0.0.1", port, [source.path]),
        server,
      );
    } else if (row.tool === NC) {
      await Deno.mkdir(dest);
      const listener = await startNcListener(
        quick,
        ncReceiveScript(join(dest, source.name)),
        "127.0.0.1",
      );
      seconds = await timeFirstByte(
        dest,
        () =>
          new Launched(quick, "nc sender", "bash", [
            "-c",
            ncSendScript(source.path, "127.0.0.1", listener.port),
          ]),
        listener.process,
      );
    } else {
      if (typeof sshd === "string") throw new Error(sshd);
      await Deno.mkdir(dest);
      seconds = await timeFirstByte(
        dest,
        () =>
          row.tool === SCP
            ? launchScp(quick, sshd, [source.path], dest, false)
            : launchRsync(quick, sshd, [source.path], dest),
        null,
      );
    }
    await removeAll(dest);
    return { seconds, rss: [null, null] };
  });
  return {
    name: "first-byte",
    title: `Time to first byte, ${sizeLabel(bytes)} file over loopback`,
    description:
      `Seconds from starting the sending command (receiver already listening; sshd already running) until a file in the destination folder ` +
      `first has a size above zero, polled every millisecond: ours writes into \`.ft-staging\`, rsync a temporary file, nc and scp the file itself. ` +
      `Includes process start-up, key exchange and whatever the sender does before sending.`,
    baseline: bench.peers.nc ? NC : null,
    rows: summarise(rows, bench.peers.nc ? NC : null),
    notes,
  };
}
