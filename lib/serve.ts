/**
 * The server's accept loop: one independent session per connection, each
 * behind the key exchange and the guess limiter, reported as events.
 *
 * @module
 */

import { formatHostPort } from "./address.ts";
import { errorMessage } from "./errors.ts";
import type { TransferEvent } from "./events.ts";
import type { FileStore } from "./file_store.ts";
import { GuessLimiter } from "./guess_limiter.ts";
import { type AttemptGate, establishChannel } from "./handshake.ts";
import { IdleTimeoutStream } from "./idle.ts";
import type { MemoryBudget } from "./memory_budget.ts";
import { receiveSession, type SessionLimits } from "./receiver.ts";
import { encodeHello, HELLO_FLAG_BUSY, Role } from "../protocol.ts";

/** What happened on the server; `peer` names the client it concerns. */
export type ServerEvent =
  & { peer?: string }
  & (
    | TransferEvent
    | {
      type: "done";
      ok: boolean;
      verified: number;
      failed: number;
      bytes: number;
      seconds: number;
    }
    | { type: "error"; message: string; fatal: boolean }
  );

/** How the server runs. */
export interface ServeOptions {
  /** Where one session's files go: a new store for each session. */
  store: () => FileStore;
  /** SPAKE2's w for the server's code. */
  password: bigint;
  /** Whether connections are wrapped in TLS. */
  tls: boolean;
  /** Receives what happens. */
  report: (event: ServerEvent) => void;
  /** Stop after the first session. */
  once: boolean;
  /** Limits code guessing; a fresh one by default. */
  limiter?: GuessLimiter;
  /** Connections served at once; more are turned away as busy. */
  maxConnections: number;
  /** A connection with no progress for this long is dropped. */
  idleTimeoutMs: number;
  /** What one session may send. */
  limits: SessionLimits;
  /** What all sessions together may hold in memory. */
  budget: MemoryBudget;
  /** Stops the service: no new connections, open ones are closed. */
  signal?: AbortSignal;
}

/** A stalled key exchange is dropped after this long, progress or not. */
const HANDSHAKE_TIMEOUT_MS = 30_000;

/** How long a stop waits for sessions to put their files away. */
const STOP_GRACE_MS = 3_000;

function guessGate(
  limiter: GuessLimiter,
  address: string,
  peer: string,
  report: ServeOptions["report"],
): AttemptGate {
  return async () => {
    const attempt = await limiter.begin(address);
    if (attempt.penaltyMs > 0) {
      report({
        type: "warning",
        peer,
        message:
          `key exchange held back ${attempt.penaltyMs} ms after failures from ${address}`,
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

/** Runs `work`, closing `conn` and failing if it takes over `ms`. */
async function withTimeout<T>(
  work: Promise<T>,
  ms: number,
  conn: Deno.Conn,
  message: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
      reject(new Error(message));
    }, ms);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
    work.catch(() => {});
  }
}

/**
 * Runs one connection's session; resolves to its exit status, or null when
 * the peer never got through the key exchange.
 */
async function handle(
  conn: Deno.Conn,
  options: ServeOptions,
  limiter: GuessLimiter,
  onAuthenticated: () => void,
): Promise<number | null> {
  const remote = conn.remoteAddr as Deno.NetAddr;
  const peer = formatHostPort(remote.hostname, remote.port);
  if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
  const { report } = options;
  report({ type: "connected", peer });
  const stream = new IdleTimeoutStream(conn, options.idleTimeoutMs);
  let authenticated = false;
  try {
    const channel = await withTimeout(
      establishChannel(stream, {
        role: Role.Receiver,
        password: options.password,
        flushBeforeBlocking: true,
        gate: guessGate(limiter, remote.hostname, peer, report),
      }),
      HANDSHAKE_TIMEOUT_MS,
      conn,
      "Handshake timed out",
    );
    authenticated = true;
    report({ type: "handshake", peer, tls: options.tls });
    onAuthenticated();
    const started = performance.now();
    try {
      const result = await receiveSession(channel, options.store(), {
        emit: (event) => report({ ...event, peer }),
        limits: options.limits,
        budget: options.budget,
        meter: stream,
      });
      report({
        type: "done",
        peer,
        ok: result.failed === 0,
        verified: result.verified,
        failed: result.failed,
        bytes: result.bytes,
        seconds: Number(((performance.now() - started) / 1000).toFixed(3)),
      });
      return result.failed === 0 ? 0 : 1;
    } finally {
      channel.close();
    }
  } catch (error) {
    stream.close();
    report({
      type: "error",
      peer,
      message: errorMessage(error),
      fatal: false,
    });
    return authenticated ? 1 : null;
  }
}

/** Tells a client that the server is full, without reading from it. */
async function turnAway(
  conn: Deno.Conn,
  open: number,
  report: ServeOptions["report"],
): Promise<void> {
  const remote = conn.remoteAddr as Deno.NetAddr;
  report({
    type: "warning",
    peer: formatHostPort(remote.hostname, remote.port),
    message: `turned away: ${open} connections are open (--max-connections)`,
  });
  try {
    await withTimeout(
      conn.write(encodeHello(Role.Receiver, HELLO_FLAG_BUSY)),
      1000,
      conn,
      "Busy hello timed out",
    );
  } catch {
    // The client learns it from the closed connection instead.
  }
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

/**
 * Serves connections from `listener`, each independently, until the
 * listener closes. With `once`, the first client through the key exchange
 * ends the service: no new connection is taken, and when its session ends
 * the others are closed. Resolves to the exit status.
 */
export async function serve(
  listener: Deno.Listener,
  options: ServeOptions,
): Promise<number> {
  const limiter = options.limiter ?? new GuessLimiter();
  const open = new Set<Deno.Conn>();
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
    for (const conn of open) {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
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
    if (open.size >= options.maxConnections) {
      turnAway(conn, open.size, options.report);
      continue;
    }
    open.add(conn);
    const outcome = Promise.withResolvers<number | null>();
    const onAuthenticated = () => {
      if (!options.once || chosen !== null) return;
      chosen = outcome.promise;
      stopAccepting();
    };
    handle(conn, options, limiter, onAuthenticated).then(outcome.resolve);
    sessions.add(outcome.promise);
    outcome.promise.finally(() => {
      open.delete(conn);
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
  closeAll();
  return status;
}
