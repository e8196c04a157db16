/**
 * Runs the crypto floor (crypto_floor.ts): its receiver, then its sender,
 * timed as ours is.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { type Context, Launched } from "./process.ts";
import type { Sample } from "./stats.ts";

/** Row name of the crypto floor. */
export const FLOOR = "crypto floor (bare Deno pair: read, SHA-256, seal, TCP)";

const SCRIPT = fileURLToPath(new URL("./crypto_floor.ts", import.meta.url));

/**
 * One transfer of `source` into the file `out`: seconds from the moment
 * the receiver listens until both sides exited with status 0.
 */
export async function runFloor(
  ctx: Context,
  source: string,
  out: string,
): Promise<Sample> {
  const deno = Deno.execPath();
  const receiver = new Launched(ctx, "crypto floor receiver", deno, [
    "run",
    "-A",
    SCRIPT,
    "receive",
    out,
  ]);
  let sender: Launched | null = null;
  let seconds: number;
  try {
    await receiver.waitForOutput("Listening on");
    const port = receiver.stdout.match(/Listening on \S*:(\d+)/)?.[1];
    if (!port) throw receiver.failure("printed no port");
    const started = performance.now();
    sender = new Launched(ctx, "crypto floor sender", deno, [
      "run",
      "-A",
      SCRIPT,
      "send",
      `127.0.0.1:${port}`,
      source,
    ]);
    await sender.succeed();
    await receiver.succeed();
    seconds = (performance.now() - started) / 1000;
  } finally {
    await sender?.kill();
    await receiver.kill();
  }
  return {
    seconds,
    rss: [await sender.peakRssKiB(), await receiver.peakRssKiB()],
    cpu: [await sender.cpuSeconds(), await receiver.cpuSeconds()],
  };
}
