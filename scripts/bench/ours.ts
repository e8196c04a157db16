/**
 * Our own server.ts and client.ts as real processes, with encryption and
 * verification on as always.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { type Context, Launched } from "./process.ts";
import type { Sample } from "./stats.ts";

/** The repository's root folder. */
export const ROOT: string = fileURLToPath(new URL("../..", import.meta.url));

/** The shared code given to both sides; a bench needs no secret. */
const CODE = "bench-code-not-secret";

/** Where a process runs: an address to use there, and its namespace. */
export interface Place {
  /** Address the server listens on and the client connects to. */
  host: string;
  /** Network namespace, or none for this one. */
  ns?: string;
}

/** A started server.ts that listens. */
export interface OurServer {
  /** The server process. */
  process: Launched;
  /** The port it listens on. */
  port: number;
}

/**
 * Starts server.ts saving into `dest` on a port it picks, and resolves once
 * it listens. With `once` it exits after the first session.
 */
export async function startOurServer(
  ctx: Context,
  dest: string,
  place: Place,
  once: boolean,
): Promise<OurServer> {
  const args = [
    "run",
    "-A",
    join(ROOT, "server.ts"),
    "--host",
    place.host,
    "--port",
    "0",
    "--dir",
    dest,
  ];
  if (once) args.push("--once");
  const process = new Launched(ctx, "server.ts", Deno.execPath(), args, {
    ns: place.ns,
    env: { FT_CODE: CODE },
  });
  await process.waitForOutput("Listening on");
  const match = process.stdout.match(/Listening on \S*:(\d+)/);
  if (!match) throw process.failure("printed no port");
  return { process, port: Number(match[1]) };
}

/**
 * Starts client.ts sending `sources` to the server at `host:port`, with
 * `args` before them.
 */
export function launchOurClient(
  ctx: Context,
  host: string,
  port: number,
  sources: string[],
  options: { ns?: string; measure?: boolean; args?: string[] } = {},
): Launched {
  const { args = [], ...where } = options;
  return new Launched(ctx, "client.ts", Deno.execPath(), [
    "run",
    "-A",
    join(ROOT, "client.ts"),
    ...args,
    `${host}:${port}`,
    ...sources,
  ], { ...where, env: { FT_CODE: CODE } });
}

/**
 * One transfer of `sources` into `dest` with a server that exits after
 * it: seconds from the moment the server listens until both sides exited
 * with status 0, and the peak memory of each side.
 */
export async function runOurs(
  ctx: Context,
  sources: string[],
  dest: string,
  server: Place,
  client: { ns?: string; args?: string[] } = {},
): Promise<Sample> {
  const { process: receiver, port } = await startOurServer(
    ctx,
    dest,
    server,
    true,
  );
  const started = performance.now();
  const sender = launchOurClient(ctx, server.host, port, sources, client);
  let seconds: number;
  try {
    await sender.succeed();
    await receiver.succeed();
    seconds = (performance.now() - started) / 1000;
  } finally {
    await sender.kill();
    await receiver.kill();
  }
  return {
    seconds,
    rss: [await sender.peakRssKiB(), await receiver.peakRssKiB()],
    cpu: [await sender.cpuSeconds(), await receiver.cpuSeconds()],
  };
}
