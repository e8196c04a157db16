/**
 * The security review's memory attack at full scale, against a server with
 * its default limits: 14 authenticated sessions each send a manifest of
 * 1,000,000 entries and read the decisions at 512 KiB every 3 s, while a
 * legitimate client sends main.txt. Prints the server's peak RSS and what
 * became of the legitimate transfer.
 *
 *     deno run -A scripts/memory_attack.ts [--sessions N] [--entries N]
 *       [--seconds S] [--max-memory SIZE]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { peakRss, runMemoryAttack } from "../tests/memory_attack.ts";
import { startServer, tempDir } from "../tests/helpers.ts";

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      sessions: { type: "string", default: "14" },
      entries: { type: "string", default: "1000000" },
      "max-memory": { type: "string" },
      seconds: { type: "string", default: "90" },
    },
  });
  const sessions = Number(values.sessions);
  const entries = Number(values.entries);
  await using dest = await tempDir();
  const extra = values["max-memory"]
    ? ["--max-memory", values["max-memory"]]
    : [];
  await using server = await startServer(["--dir", dest.path, ...extra]);
  const idle = await peakRss(server.child.pid);
  const started = performance.now();
  const result = await runMemoryAttack({
    port: server.port,
    sessions,
    entries,
    readBytes: 512 * 1024,
    readEveryMs: 3000,
    durationMs: Number(values.seconds) * 1000,
  }, [`127.0.0.1:${server.port}`, "main.txt"]);
  const seconds = (performance.now() - started) / 1000;
  const peak = await peakRss(server.child.pid);
  const MiB = 1024 * 1024;
  console.log(
    `${sessions} sessions x ${entries} entries: server peak RSS ${
      (peak / MiB).toFixed(0)
    } MiB (idle ${
      (idle / MiB).toFixed(0)
    } MiB); ${result.manifestsSent} manifests taken whole; ` +
      `legitimate transfer (half-way) exit ${result.legitimate.code} in ${
        result.legitimateSeconds.toFixed(2)
      } s; ${seconds.toFixed(1)} s in all`,
  );
  if (result.legitimate.code !== 0) console.log(result.legitimate.stderr);
}
