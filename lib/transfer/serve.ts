/**
 * The server's accept loop: one independent session per connection, each
 * behind the key exchange and the guess limiter, reported as events.
 *
 * @module
 */

import { formatHostPort } from "../net/address.ts";
import {
  ConnectionLimiter,
  LogThrottle,
  type Ticket,
} from "../net/connection_limiter.ts";
import { errorMessage } from "../common/errors.ts";
import type { TransferEvent } from "./events.ts";
import { GuessLimiter } from "../secure/guess_limiter.ts";
import { type AttemptGate, establishChannel } from "../secure/handshake.ts";
import { HandshakeClock, unlessAborted } from "../secure/handshake_clock.ts";
import { HangUpWatch } from "../net/hangup_watch.ts";
import { type KeptPart, keptPartOf } from "./kept_part.ts";
import { sessionEnd } from "./session_end.ts";
import { IdleTimeoutStream } from "../net/idle.ts";
import { type ReceiveWork, runSession, type ShareWork } from "./server_work.ts";
import { refuse } from "./refusal.ts";
import { Role } from "../protocol/constants.ts";

export type { ReceiveWork, ShareWork };

/** What happened on the server; `peer` names the client it concerns. */
export type ServerEvent =
  & { peer?: string }
  & (
    | TransferEvent
    | {
      type: "done";
      ok: boolean;
      /** Files in the session. */
      files: number;
      /** Files received and verified, or already there. */
      verified: number;
      /** Of those, the files already there. */
      skipped: number;
      /**
       * Files left as they were: a different one has their name there;
       * none when left out.
       */
      different?: number;
      failed: number;
      bytes: number;
      /** Bytes the file data took on the wire, compressed or not. */
      wireBytes?: number;
      seconds: number;
    }
    | {
      type: "error";
      message: string;
      fatal: boolean;
      /** What is left of the file in flight, when there was one. */
      kept?: KeptPart;
    }
  );

/** How the server runs. */
export interface ServeOptions {
  /** What each session does: receive files, or send the shared ones. */
  work: ReceiveWork | ShareWork;
  /** SPAKE2's w for the server's code. */
  password: bigint;
  /** Whether connections are wrapped in TLS. */
  tls: boolean;
  /** Receives what happens. */
  report: (event: ServerEvent) => void;
  /** Limits code guessing; a fresh one by default. */
  limiter?: GuessLimiter;
  /** Connections served at once; more are turned away as busy. */
  maxConnections: number;
  /** A connection with no progress for this long is dropped. */
  idleTimeoutMs: number;
  /** Stops the service: no new connections, open ones are closed. */
  signal?: AbortSignal;
}

/**
 * A stalled key exchange is dropped after this long, progress or not; time
 * spent waiting for a turn at the guess limiter does not count.
 */
const HANDSHAKE_TIMEOUT_MS = 30_000;

/** How long a stop waits for sessions to put their files away. */
const STOP_GRACE_MS = 3_000;

/** An open connection, as the accept loop tracks it. */
interface Connection {
  conn: Deno.Conn;
  peer: string;
  /** Aborted, with the reason, when the server ends the connection. */
  ended: AbortController;
}

/** Ends `connection` for `reason`; a key exchange under way fails with it. */
function end(connection: Connection, reason: string): void {
  if (!connection.ended.signal.aborted) {
    connection.ended.abort(new Error(reason));
  }
  try {
    connection.conn.close();
  } catch {
    // Already closed.
  }
}

function guessGate(
  limiter: GuessLimiter,
  connection: Connection,
  report: ServeOptions["report"],
  clock: HandshakeClock,
  watch: HangUpWatch,
): AttemptGate {
  const { peer } = connection;
  const address = (connection.conn.remoteAddr as Deno.NetAddr).hostname;
  return async () => {
    clock.pause();
    // A client that gave up leaves the line rather than take a turn.
    let waiting = true;
    watch.hangUp().then(() => {
      if (waiting) {
        end(
          connection,
          "Client left while waiting for its turn to try the code",
        );
      }
    });
    let attempt;
    try {
      attempt = await limiter.begin(address, connection.ended.signal);
    } finally {
      waiting = false;
      clock.resume();
    }
    if (attempt.penaltyMs > 0) {
      const whose = attempt.heldBy === null
        ? "across the server"
        : `from ${attempt.heldBy}`;
      report({
        type: "warning",
        peer,
        message:
          `key exchange held back ${attempt.penaltyMs} ms after failures ${whose}`,
      });
    }
    return (outcome) => {
      const next = attempt.finish(outcome);
      if (outcome === "failure") {
        report({
          type: "warning",
          peer,
          message:
            `failed key exchange: the next attempt from ${address} waits ${next} ms`,
        });
      }
    };
  };
}

/**
 * Runs one connection's session; resolves to its exit status, or null when
 * the peer never got through the key exchange.
 */
async function handle(
  connection: Connection,
  options: ServeOptions,
  limiter: GuessLimiter,
  ticket: Ticket,
  onAuthenticated: () => void,
): Promise<number | null> {
  const { conn, peer } = connection;
  if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
  const { report } = options;
  report({ type: "connected", peer });
  // Below the idle timeout: watching for a hang-up is no wait for the peer.
  const watch = new HangUpWatch(conn);
  const stream = new IdleTimeoutStream(watch, options.idleTimeoutMs);
  const signal = connection.ended.signal;
  const clock = new HandshakeClock(
    HANDSHAKE_TIMEOUT_MS,
    () => end(connection, "Handshake timed out"),
  );
  let authenticated = false;
  try {
    const channel = await unlessAborted(
      establishChannel(stream, {
        role: Role.Server,
        password: options.password,
        flushBeforeBlocking: true,
        serverSends: options.work.kind === "share",
        gate: guessGate(limiter, connection, report, clock, watch),
      }),
      signal,
    );
    clock.stop();
    authenticated = true;
    ticket.authenticated();
    report({ type: "handshake", peer, tls: options.tls });
    onAuthenticated();
    const started = performance.now();
    try {
      const result = await runSession(
        channel,
        stream,
        options.work,
        (event) => report({ ...event, peer }),
        options.idleTimeoutMs,
      );
      const ok = result.failed === 0;
      report({
        type: "done",
        peer,
        ok,
        files: result.files,
        verified: result.verified,
        skipped: result.skipped,
        different: result.different,
        failed: result.failed,
        bytes: result.bytes,
        wireBytes: result.wireBytes,
        seconds: Number(((performance.now() - started) / 1000).toFixed(3)),
      });
      return ok ? 0 : 1;
    } finally {
      channel.close();
    }
  } catch (error) {
    clock.stop();
    stream.close();
    const kept = keptPartOf(error);
    report({
      type: "error",
      peer,
      message: sessionEnd(error, connection.ended.signal, options.tls),
      fatal: false,
      ...(kept === undefined ? {} : { kept }),
    });
    return authenticated ? 1 : null;
  }
}

/**
 * Serves connections from `listener`, each independently, until the
 * listener closes. With `once`, the first client through the key exchange
 * ends the service: no new connection is taken, and when its session ends
 * the others are closed. A sharing server that ends after one download
 * stops taking connections when the first session succeeds, and lets the
 * other downloads finish. Resolves to the exit status.
 */
export async function serve(
  listener: Deno.Listener,
  options: ServeOptions,
): Promise<number> {
  const limiter = options.limiter ?? new GuessLimiter();
  const connections = new ConnectionLimiter<Connection>({
    maxConnections: options.maxConnections,
  });
  const throttle = new LogThrottle();
  const open = new Set<Connection>();
  const sessions = new Set<Promise<unknown>>();
  let chosen: Promise<number | null> | null = null;
  const stopAccepting = () => {
    try {
      listener.close();
    } catch {
      // Already closed.
    }
  };
  const closeAll = () => {
    for (const connection of open) end(connection, "Server is stopping");
  };
  let stopped = false;
  options.signal?.addEventListener("abort", () => {
    stopped = true;
    stopAccepting();
    closeAll();
  }, { once: true });
  for (;;) {
    let conn: Deno.Conn;
    try {
      conn = await listener.accept();
    } catch (error) {
      if (error instanceof Deno.errors.BadResource) break;
      // A peer that reset before it was accepted, or no file handle left:
      // that connection is lost, the service goes on.
      options.report({
        type: "warning",
        message: `cannot accept a connection: ${errorMessage(error)}`,
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      continue;
    }
    const remote = conn.remoteAddr as Deno.NetAddr;
    const connection: Connection = {
      conn,
      peer: formatHostPort(remote.hostname, remote.port),
      ended: new AbortController(),
    };
    const admission = connections.admit(remote.hostname, connection);
    if (!admission.admitted) {
      refuse(conn, admission, throttle, options.report, options.tls);
      continue;
    }
    if (admission.evicted !== undefined) {
      const { item, message } = admission.evicted;
      const line = throttle.line(`evict ${admission.evicted.key}`, message);
      if (line !== null) {
        options.report({ type: "warning", peer: item.peer, message: line });
      }
      end(item, "Closed to make room for another address");
    }
    open.add(connection);
    const outcome = Promise.withResolvers<number | null>();
    const { work } = options;
    const onAuthenticated = () => {
      if (work.kind !== "receive" || !work.once || chosen !== null) return;
      chosen = outcome.promise;
      stopAccepting();
    };
    handle(connection, options, limiter, admission.ticket, onAuthenticated)
      .then((status) => {
        outcome.resolve(status);
        // Shared files that arrived whole end a sharing server's work.
        if (
          work.kind === "share" && work.untilDownloaded && status === 0 &&
          chosen === null
        ) {
          chosen = outcome.promise;
          stopAccepting();
        }
      });
    sessions.add(outcome.promise);
    outcome.promise.finally(() => {
      open.delete(connection);
      admission.ticket.closed();
      sessions.delete(outcome.promise);
    });
  }
  if (stopped) {
    // Closed connections end their sessions, which keep what arrived.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.allSettled(sessions),
      new Promise((resolve) => timer = setTimeout(resolve, STOP_GRACE_MS)),
    ]);
    clearTimeout(timer);
    return 0;
  }
  if (chosen === null) return 0;
  const status = await chosen ?? 1;
  if (options.work.kind === "share") {
    // Other clients still getting the files finish first: each is a
    // download someone started, and idle ones are dropped anyway.
    while (sessions.size > 0) await Promise.allSettled([...sessions]);
    return status;
  }
  closeAll();
  return status;
}
