/**
 * iperf3 memory to memory: what the link itself carries, with no files,
 * no encryption and no process start-up in its timing, as a ceiling.
 *
 * @module
 */

import { type Context, freePort, Launched, waitListening } from "./process.ts";
import type { Sample } from "./stats.ts";

/** One iperf3 run: its sample and the rate it measured. */
export interface IperfResult {
  /** Seconds that `bytes` take at the measured rate, and memory. */
  sample: Sample;
  /** Received bits per second, as iperf3 measured them, in Gbit/s. */
  gbps: number;
}

/**
 * Sends `bytes` from an iperf3 client to a one-shot iperf3 server on
 * `host`, each side optionally in a network namespace.
 */
export async function runIperf(
  ctx: Context,
  bytes: number,
  host: string,
  places: { serverNs?: string; clientNs?: string } = {},
): Promise<IperfResult> {
  const port = freePort();
  const server = new Launched(ctx, "iperf3 -s", "iperf3", [
    "-s",
    "-1",
    "-B",
    host,
    "-p",
    String(port),
  ], { ns: places.serverNs });
  let report: {
    end?: { sum_received?: { bits_per_second?: number } };
    error?: string;
  };
  try {
    await waitListening(port, server.pid);
    const client = new Launched(ctx, "iperf3 -c", "iperf3", [
      "-c",
      host,
      "-p",
      String(port),
      "-n",
      String(bytes),
      "-J",
    ], { ns: places.clientNs });
    const status = await client.exited;
    report = JSON.parse(client.stdout || "{}");
    if (!status.success) {
      throw client.failure(`exited with ${status.code}: ${report.error}`);
    }
    await server.succeed();
    const bps = report.end?.sum_received?.bits_per_second;
    if (!bps) throw new Error("iperf3 reported no received rate");
    return {
      sample: {
        seconds: bytes * 8 / bps,
        rss: [await client.peakRssKiB(), await server.peakRssKiB()],
      },
      gbps: bps / 1e9,
    };
  } finally {
    await server.kill();
  }
}
