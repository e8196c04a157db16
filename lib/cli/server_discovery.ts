/**
 * The server's part in LAN discovery: whether it answers for its code,
 * on which interfaces, and the one line it prints when it cannot.
 *
 * @module
 */

import { isLoopback, listeningFamilies } from "../net/address.ts";
import { DiscoveryResponder, FLAG_SHARES, FLAG_TLS } from "../net/discovery.ts";
import { discoveryTag } from "../secure/code.ts";
import type { Output } from "./console_output.ts";

/** What the server announces. */
export interface ServerDiscovery {
  /** The server's code; a custom code has no tag and is not announced. */
  code: string;
  /** The address it listens on (`--host`). */
  host: string;
  /** Its TCP port. */
  port: number;
  /** Whether it speaks TLS. */
  tls: boolean;
  /** Whether it shares files rather than receiving them. */
  shares: boolean;
  /** The UDP port of discovery (`--discovery-port`), default if undefined. */
  udpPort?: number;
}

/**
 * The interfaces that can reach a server listening on `host`: all for a
 * wildcard address, else those that carry it (only loopback for
 * 127.0.0.1), so that a server bound to one address is not announced on
 * networks that cannot connect to it.
 */
export function interfacesFor(host: string): string[] | undefined {
  if (host === "0.0.0.0" || host === "::" || host === "") return undefined;
  const infos = Deno.networkInterfaces();
  const wanted = host === "localhost"
    ? infos.filter((info) => isLoopback(info.address))
    : infos.filter((info) => info.address.split("%")[0] === host);
  return [...new Set(wanted.map((info) => info.name))];
}

/**
 * Starts answering discovery queries for the server, unless its code is
 * custom (no public tag to answer for). Resolves with the responder, or
 * null when the server cannot be found by its code alone (the reason was
 * printed as a warning).
 */
export async function startDiscovery(
  output: Output,
  server: ServerDiscovery,
): Promise<DiscoveryResponder | null> {
  const tag = discoveryTag(server.code);
  if (tag === null) return null;
  const warn = (message: string) => {
    output.event({ type: "warning", message });
    output.problem(`warning: ${message}`);
  };
  let interfaces: string[] | undefined;
  try {
    interfaces = interfacesFor(server.host);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotCapable)) throw error;
    // The responder says what permission is missing.
  }
  if (interfaces !== undefined && interfaces.length === 0) return null;
  const responder = new DiscoveryResponder();
  const running = await responder.start({
    tag,
    tcpPort: server.port,
    flags: (server.tls ? FLAG_TLS : 0) | (server.shares ? FLAG_SHARES : 0),
    udpPort: server.udpPort,
    interfaces,
    loopbackOnly: server.host === "localhost" || isLoopback(server.host),
    families: listeningFamilies(server.host),
    onWarning: (line) =>
      warn(`${line}; clients need this server's address (HOST)`),
  });
  if (!running) {
    await responder.close();
    return null;
  }
  return responder;
}
