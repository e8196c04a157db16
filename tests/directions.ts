/**
 * The two directions a transfer can go, for scenarios that are the same in
 * both: an upload (a server receives into a folder, a client sends files)
 * and a download (`server.ts --share` the files, `client.ts --get` into a
 * folder). A scenario says what to send and where it goes; this module
 * puts each flag on the side that takes it in that direction.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Fault, FaultProxy } from "./fault_proxy.ts";
import {
  type Finished,
  runClient,
  type RunOptions,
  type ServerProcess,
  spawnClient,
  startServer,
} from "./helpers.ts";

/** Which way the files go. */
export type Direction = "upload" | "download";

/** Both directions, for `for (const direction of DIRECTIONS) Deno.test(…)`. */
export const DIRECTIONS: readonly Direction[] = ["upload", "download"];

/** A program that sends or receives, as the tool's messages name it. */
export type Side = "server" | "client";

/** What a transfer sends, where to, and with which flags. */
export interface TransferSetup {
  /** The files and folders the sending side offers. */
  sources: string[];
  /** The folder the receiving side saves into. */
  dest: string;
  /**
   * Whether the server goes on after a client got everything; otherwise it
   * ends after the first session (upload, `--once`) or after the first
   * client that got everything (download, the default).
   */
  keep?: boolean;
  /** Flags for the side that receives (such as `--overwrite`). */
  receiver?: string[];
  /** Flags for the side that sends. */
  sender?: string[];
  /** Flags for the server, whichever way the files go. */
  server?: string[];
  /** Flags for the client, whichever way the files go. */
  client?: string[];
}

/** The side that receives the files in `direction`. */
export function receiverOf(direction: Direction): Side {
  return direction === "upload" ? "server" : "client";
}

/** The side that sends the files in `direction`. */
export function senderOf(direction: Direction): Side {
  return direction === "upload" ? "client" : "server";
}

/** The client's word for its files in its summary: "sent" or "received". */
export function clientVerb(direction: Direction): string {
  return direction === "upload" ? "sent" : "received";
}

/** The server's word for the files in its summary: "received" or "sent". */
export function serverVerb(direction: Direction): string {
  return direction === "upload" ? "received" : "sent";
}

/**
 * Holds `proxy` once `bytes` went the way the files go: from the client in
 * an upload, to it in a download.
 */
export function pauseDataAfter(
  direction: Direction,
  proxy: FaultProxy,
  bytes: number,
): void {
  if (direction === "upload") proxy.pauseAfter(bytes);
  else proxy.pauseAfterDown(bytes);
}

/** A fault that cuts a connection after `afterBytes` of the files' way. */
export function cutData(direction: Direction, afterBytes: number): Fault {
  return { kind: direction === "upload" ? "cut" : "cut-down", afterBytes };
}

/** A fault that stalls a connection after `afterBytes` of the files' way. */
export function stallData(direction: Direction, afterBytes: number): Fault {
  return { kind: direction === "upload" ? "stall" : "stall-down", afterBytes };
}

/** The flags of `server.ts` for `setup` in `direction`, its address aside. */
export function serverArgs(
  direction: Direction,
  setup: TransferSetup,
): string[] {
  const own = [
    ...(direction === "upload" ? setup.receiver : setup.sender) ?? [],
    ...setup.server ?? [],
  ];
  return direction === "upload"
    ? ["--dir", setup.dest, ...(setup.keep ? [] : ["--once"]), ...own]
    : ["--share", ...(setup.keep ? ["--keep-sharing"] : []), ...own]
      .concat(setup.sources);
}

/**
 * The arguments of `client.ts` for `setup` in `direction`, against
 * `address`, with `extra` flags for this run.
 */
export function clientArgs(
  direction: Direction,
  setup: TransferSetup,
  address: string,
  extra: string[] = [],
): string[] {
  const own = [
    ...(direction === "upload" ? setup.sender : setup.receiver) ?? [],
    ...setup.client ?? [],
    ...extra,
  ];
  return direction === "upload"
    ? [...own, address, ...setup.sources]
    : ["--get", ...own, address, "--dir", setup.dest];
}

/** A server started for a transfer, and the client runs against it. */
export class Transfer implements AsyncDisposable {
  /** Which way the files go. */
  readonly direction: Direction;
  /** What is sent where. */
  readonly setup: TransferSetup;
  /** The running server. */
  readonly server: ServerProcess;

  constructor(
    direction: Direction,
    setup: TransferSetup,
    server: ServerProcess,
  ) {
    this.direction = direction;
    this.setup = setup;
    this.server = server;
  }

  /** Which program receives. */
  get receiver(): Side {
    return receiverOf(this.direction);
  }

  /** Which program sends. */
  get sender(): Side {
    return senderOf(this.direction);
  }

  /** The client's arguments for one run, to `port` (a proxy's) if given. */
  clientArgs(extra: string[] = [], port = this.server.port): string[] {
    return clientArgs(this.direction, this.setup, `127.0.0.1:${port}`, extra);
  }

  /** Runs the client to completion once, with `extra` flags. */
  run(
    extra: string[] = [],
    options: RunOptions & { port?: number } = {},
  ): Promise<Finished> {
    return runClient(this.clientArgs(extra, options.port), options);
  }

  /** Starts the client without waiting for it. */
  spawn(extra: string[] = [], port?: number): Deno.ChildProcess {
    return spawnClient(this.clientArgs(extra, port));
  }

  /**
   * Asserts that the sending side said `pattern`: on the client's stderr
   * in `run` when the client sends, in the server's output when it does.
   */
  async senderSaid(run: Finished, pattern: RegExp): Promise<void> {
    if (this.sender === "client") assert.match(run.stderr, pattern);
    else await this.server.waitFor(pattern);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.server.stop();
  }
}

/** Starts the server of a transfer of `setup` in `direction`. */
export async function startTransfer(
  direction: Direction,
  setup: TransferSetup,
): Promise<Transfer> {
  const server = await startServer(serverArgs(direction, setup));
  return new Transfer(direction, setup, server);
}
