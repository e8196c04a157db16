/**
 * Where the client connects: the address it was given, or the servers
 * with its code's number found on the local network.
 *
 * @module
 */

import { UsageError } from "../common/errors.ts";
import { formatHostPort, type HostPort } from "../net/address.ts";
import {
  discover,
  DISCOVERY_PORT,
  FLAG_SHARES,
  FLAG_TLS,
  type FoundServer,
} from "../net/discovery.ts";
import { discoveryTag } from "../secure/code.ts";
import { commandFor } from "./cli.ts";
import type { Output } from "./console_output.ts";
import type { Targets } from "./targets.ts";

/**
 * How long the client looks for its server. An answer on a LAN takes
 * milliseconds; the rest is for a lost first query and a busy machine.
 */
export const DISCOVERY_TIMEOUT_MS = 3000;

/** Raised when no server with the code's number answered. */
export class NoServerFoundError extends Error {
  /** Creates the error with a one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "NoServerFoundError";
  }
}

/** How the client looks for its server. */
export interface FindOptions {
  /** The normalized code. */
  code: string;
  /** Whether the client gets files (it wants a sharing server). */
  get: boolean;
  /** Whether the client speaks TLS. */
  tls: boolean;
  /** The UDP port of discovery; the default when undefined. */
  udpPort?: number;
  /** How long to look; {@link DISCOVERY_TIMEOUT_MS} when undefined. */
  timeoutMs?: number;
}

/** The servers to try, one after the other. */
export interface ServerQueue {
  /**
   * The next server to try, or null when there is none left. A server
   * found on the network that turns out to have another code leads here
   * again: the first search may have missed a server that answered late,
   * so once the first ones are used up the network is asked once more.
   */
  next(): Promise<HostPort | null>;
}

/**
 * The servers to try, in order: the one given, or those found on the
 * network that carry the code's number and move files the way the client
 * wants. Each one found is printed with its address, so that the user
 * knows where the files go.
 *
 * @throws {UsageError} for a custom code without an address: it has no
 * public number to look for.
 * @throws {NoServerFoundError} when none answered in time.
 */
export async function findServers(
  output: Output,
  targets: Targets,
  options: FindOptions,
): Promise<ServerQueue> {
  if (targets.server !== undefined) {
    const given: (HostPort | null)[] = [targets.server];
    return { next: () => Promise.resolve(given.shift() ?? null) };
  }
  const tag = discoveryTag(options.code);
  if (tag === null) {
    throw new UsageError(
      `A custom code cannot be found on the network: give the server's address, as in ${
        commandFor("client")
      } HOST ${options.get ? "--get" : "FILE..."}`,
    );
  }
  const tried = new Set<number>();
  const search = async (timeoutMs: number): Promise<FoundServer[]> => {
    const seen: FoundServer[] = [];
    const found = await discover(tag, {
      timeoutMs,
      udpPort: options.udpPort,
      accept: (server) => {
        seen.push(server);
        return !tried.has(server.id) && wants(options, server);
      },
    });
    if (found.length === 0 && tried.size === 0) {
      throw new NoServerFoundError(noServerMessage(tag, options, seen));
    }
    for (const server of found) {
      tried.add(server.id);
      output.event({ type: "found", host: server.host, port: server.port });
      output.info(
        `Found the server with code ${tag} at ${
          formatHostPort(server.host, server.port)
        }`,
      );
    }
    return found;
  };
  const queue = await search(options.timeoutMs ?? DISCOVERY_TIMEOUT_MS);
  let searchedAgain = false;
  return {
    async next() {
      if (queue.length === 0 && !searchedAgain) {
        searchedAgain = true;
        queue.push(...await search(AGAIN_TIMEOUT_MS));
      }
      const server = queue.shift();
      return server === undefined ? null : server;
    },
  };
}

/**
 * How long the second search waits: the servers of the first answered
 * already, so this is only for one that was slow to.
 */
const AGAIN_TIMEOUT_MS = 1000;

/** Whether `server` moves files the way the client wants, as it does. */
function wants(options: FindOptions, server: FoundServer): boolean {
  return ((server.flags & FLAG_SHARES) !== 0) === options.get &&
    ((server.flags & FLAG_TLS) !== 0) === options.tls;
}

/**
 * Why none of the servers that answered will do, or that none answered,
 * with what to try.
 */
function noServerMessage(
  tag: number,
  options: FindOptions,
  seen: readonly FoundServer[],
): string {
  const shares = seen.some((server) => (server.flags & FLAG_SHARES) !== 0);
  const receives = seen.some((server) => (server.flags & FLAG_SHARES) === 0);
  if (options.get && receives && !shares) {
    return `The server with code ${tag} receives files rather than sharing them: send files to it (${
      commandFor("client")
    } FILE...)`;
  }
  if (!options.get && shares && !receives) {
    return `The server with code ${tag} shares files rather than receiving them: get them with ${
      commandFor("client")
    } --get`;
  }
  if (seen.length > 0) {
    const tlsThere = seen.some((server) => (server.flags & FLAG_TLS) !== 0);
    return tlsThere
      ? `The server with code ${tag} uses TLS: add --tls`
      : `The server with code ${tag} does not use TLS: leave out --tls`;
  }
  const port = options.udpPort ?? DISCOVERY_PORT;
  return `No server with code ${tag} answered on this network: is it running, on the same network, and does its firewall let UDP port ${port} through? (Or give its address: ${
    commandFor("client")
  } HOST ${options.get ? "--get" : "FILE..."})`;
}
