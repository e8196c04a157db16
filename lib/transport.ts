/**
 * The transport layer: TCP connections and listeners, with errors that say
 * what went wrong and what to try.
 *
 * @module
 */

import { formatHostPort } from "./address.ts";

/** Raised when a connection or listener cannot be set up. */
export class TransportError extends Error {
  /** Creates the error with a one-line message naming the cause. */
  constructor(message: string) {
    super(message);
    this.name = "TransportError";
  }
}

/** Connects to `host`:`port` over TCP. */
export async function connect(host: string, port: number): Promise<Deno.Conn> {
  const where = formatHostPort(host, port);
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname: host, port });
  } catch (error) {
    if (error instanceof Deno.errors.ConnectionRefused) {
      throw new TransportError(
        `Connection refused by ${where}: is server.ts running there?`,
      );
    }
    if (error instanceof Deno.errors.TimedOut) {
      throw new TransportError(
        `Timed out connecting to ${where}: is the host up, and does a firewall let the port through?`,
      );
    }
    const why = error instanceof Error ? error.message : String(error);
    if (/lookup|resolve|name or service|nodename/i.test(why)) {
      throw new TransportError(`Cannot find host ${host}: check the name`);
    }
    throw new TransportError(`Cannot connect to ${where}: ${why}`);
  }
  // Frames are batched by the channel, so small control messages such as
  // confirmations should leave at once instead of waiting for Nagle.
  conn.setNoDelay(true);
  return conn;
}

/** Listens for TCP connections on `host`:`port` (0 picks a free port). */
export function listen(host: string, port: number): Deno.TcpListener {
  try {
    return Deno.listen({ hostname: host, port });
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      throw new TransportError(
        `Port ${port} is already in use on ${host}: stop the other program or choose another --port`,
      );
    }
    if (error instanceof Deno.errors.AddrNotAvailable) {
      throw new TransportError(
        `Cannot listen on ${host}: no interface of this machine has that address`,
      );
    }
    const why = error instanceof Error ? error.message : String(error);
    throw new TransportError(
      `Cannot listen on ${formatHostPort(host, port)}: ${why}`,
    );
  }
}
