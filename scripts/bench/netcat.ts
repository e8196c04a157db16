/**
 * The clear, unverified baselines: `nc` file to file, and `tar c | nc` to
 * `nc -l | tar x` for trees, with the shell connecting them to the files
 * as a user would.
 *
 * @module
 */

import { type Context, freePort, Launched, waitListening } from "./process.ts";
import type { Sample } from "./stats.ts";

/** Quotes `text` for bash. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** A started `nc -l` (or pipeline around it) that listens. */
export interface NcListener {
  /** The listening side. */
  process: Launched;
  /** Its port. */
  port: number;
}

/**
 * Starts `bash -c SCRIPT` where SCRIPT listens with `nc -l HOST PORT`, and
 * resolves once it listens: `{port}` in `script` is replaced by the port.
 */
export async function startNcListener(
  ctx: Context,
  script: string,
  host: string,
  ns?: string,
): Promise<NcListener> {
  const port = freePort();
  const process = new Launched(ctx, "nc -l", "bash", [
    "-c",
    script.replaceAll("{port}", String(port)).replaceAll(
      "{host}",
      host,
    ),
  ], { ns });
  // Probing would use up its one connection: watch its socket instead.
  await waitListening(port, process.pid).catch(async (error) => {
    await process.kill();
    throw error;
  });
  return { process, port };
}

/** `nc -l` writing what arrives to `out`. */
export function ncReceiveScript(out: string): string {
  return `exec nc -l {host} {port} > ${shellQuote(out)}`;
}

/** `nc -N` sending `source` to `host:port`, closing when it is sent. */
export function ncSendScript(source: string, host: string, port: number) {
  return `exec nc -N ${host} ${port} < ${shellQuote(source)}`;
}

/**
 * Runs a listener script and a sender script against each other: seconds
 * from the moment it listens until both exited with status 0.
 */
export async function runNcPair(
  ctx: Context,
  receive: string,
  send: (port: number) => string,
  host: string,
  places: { serverNs?: string; clientNs?: string } = {},
): Promise<Sample> {
  const listener = await startNcListener(ctx, receive, host, places.serverNs);
  const started = performance.now();
  const sender = new Launched(ctx, "nc sender", "bash", [
    "-c",
    send(listener.port),
  ], { ns: places.clientNs });
  let seconds: number;
  try {
    await sender.succeed();
    await listener.process.succeed();
    seconds = (performance.now() - started) / 1000;
  } finally {
    await sender.kill();
    await listener.process.kill();
  }
  return {
    seconds,
    rss: [await sender.peakRssKiB(), await listener.process.peakRssKiB()],
  };
}

/** `nc` file to file: `source` to `out`. */
export function runNc(
  ctx: Context,
  source: string,
  out: string,
  host = "127.0.0.1",
  places: { serverNs?: string; clientNs?: string } = {},
): Promise<Sample> {
  return runNcPair(
    ctx,
    ncReceiveScript(out),
    (port) => ncSendScript(source, host, port),
    host,
    places,
  );
}

/** `tar c | nc` to `nc -l | tar x`: folder `name` of `parent` into `dest`. */
export function runTarNc(
  ctx: Context,
  parent: string,
  name: string,
  dest: string,
): Promise<Sample> {
  return runNcPair(
    ctx,
    `set -eo pipefail; mkdir -p ${
      shellQuote(dest)
    }; nc -l {host} {port} | tar -x -f - -C ${shellQuote(dest)}`,
    (port) =>
      `set -eo pipefail; tar -c -f - -C ${shellQuote(parent)} ${
        shellQuote(name)
      } | nc -N 127.0.0.1 ${port}`,
    "127.0.0.1",
  );
}
