/**
 * The transport layer: TCP connections and listeners, with errors that say
 * what went wrong and what to try.
 *
 * @module
 */

import { formatHostPort } from "./address.ts";
import { fileErrorReason } from "../common/errors.ts";
import { osErrorCode } from "../common/os_errors.ts";
import { explainTls } from "./tls_errors.ts";

/** Raised when a connection or listener cannot be set up. */
export class TransportError extends Error {
  /** Whether the same connection may work a little later. */
  readonly transient: boolean;

  /**
   * Creates the error with a one-line message naming the cause; it is
   * `transient` when the host answered or may answer later (refused, timed
   * out), not when it is unknown or TLS failed.
   */
  constructor(message: string, transient = false) {
    super(message);
    this.name = "TransportError";
    this.transient = transient;
  }
}

/** TLS settings for a client. */
export interface ClientTls {
  /** PEM file of the certificate authority to trust, besides the system's. */
  caFile?: string;
}

/** TLS settings for a server. */
export interface ServerTls {
  /** PEM certificate chain file. */
  certFile: string;
  /** PEM private key file. */
  keyFile: string;
}

async function readPem(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new TransportError(
      `Cannot read ${what} ${path}: ${fileErrorReason(error)}`,
    );
  }
}

/**
 * Connects to `host`:`port` over TCP, or TLS when `tls` is given; `signal`
 * abandons the attempt (the caller says why).
 */
export async function connect(
  host: string,
  port: number,
  tls?: ClientTls,
  signal?: AbortSignal,
): Promise<Deno.Conn> {
  const where = formatHostPort(host, port);
  let conn: Deno.Conn;
  try {
    const caCerts = tls?.caFile === undefined
      ? undefined
      : [await readPem(tls.caFile, "CA certificate")];
    const tcp = await Deno.connect({ hostname: host, port, signal });
    // Frames are batched by the channel, so small control messages such
    // as confirmations should leave at once instead of waiting for Nagle.
    tcp.setNoDelay(true);
    conn = tcp;
    if (tls !== undefined) {
      const tlsConn = await Deno.startTls(tcp, { hostname: host, caCerts });
      conn = tlsConn;
      // A server that never answers the handshake holds it up forever.
      const abandon = () => tlsConn.close();
      signal?.addEventListener("abort", abandon, { once: true });
      try {
        await tlsConn.handshake();
      } catch (error) {
        if (!signal?.aborted) tlsConn.close();
        throw new TransportError(
          `TLS with ${where} failed: ${explainTls(error, host, tls)}`,
        );
      } finally {
        signal?.removeEventListener("abort", abandon);
      }
    }
  } catch (error) {
    throw connectError(error, host, where);
  }
  return conn;
}

/** The error to raise for a failure to connect to `where`. */
function connectError(error: unknown, host: string, where: string): Error {
  if (error instanceof TransportError) return error;
  if (error instanceof Deno.errors.ConnectionRefused) {
    return new TransportError(
      `Connection refused by ${where}: is server.ts running there?`,
      true,
    );
  }
  if (error instanceof Deno.errors.TimedOut) {
    return new TransportError(
      `Timed out connecting to ${where}: is the host up, and does a firewall let the port through?`,
      true,
    );
  }
  const code = osErrorCode(error);
  if (code === "EHOSTUNREACH") {
    return new TransportError(
      `No route to ${where}: no machine answers at that address; check the address the server printed, and that both machines are on the same network`,
      true,
    );
  }
  if (
    code === "ENETUNREACH" || error instanceof Deno.errors.NetworkUnreachable
  ) {
    return new TransportError(
      `Network unreachable for ${where}: this machine has no route to that address; check the address the server printed, and this machine's network connection`,
      true,
    );
  }
  const why = error instanceof Error ? error.message : String(error);
  if (/lookup|resolve|name or service|nodename/i.test(why)) {
    return new TransportError(
      `Cannot find host ${host}: check the name`,
    );
  }
  return new TransportError(`Cannot connect to ${where}: ${why}`);
}

/**
 * Listens on `host`:`port` (0 picks a free port), over TLS when `tls` is
 * given.
 */
export async function listen(
  host: string,
  port: number,
  tls?: ServerTls,
): Promise<Deno.Listener> {
  try {
    if (tls === undefined) return Deno.listen({ hostname: host, port });
    const cert = await readPem(tls.certFile, "certificate");
    const key = await readPem(tls.keyFile, "private key");
    return Deno.listenTls({ hostname: host, port, cert, key });
  } catch (error) {
    if (error instanceof TransportError) throw error;
    if (error instanceof Deno.errors.AddrInUse) {
      throw new TransportError(
        `Port ${port} is already in use on ${host}: stop the other program or choose another --port`,
      );
    }
    if (error instanceof Deno.errors.PermissionDenied && port < 1024) {
      throw new TransportError(
        `Cannot listen on port ${port}: ports below 1024 need administrator rights here; choose a --port from 1024 up (the default is 65432)`,
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
