/**
 * When and how soon the client tries again after losing its connection:
 * only failures a new connection can cure are retried, with a growing,
 * slightly random wait.
 *
 * @module
 */

import { ConnectionClosedError } from "../net/byte_stream.ts";
import { KeyExchangeTimeoutError } from "./client_limits.ts";
import { ServerBusyError } from "../secure/handshake.ts";
import { IdleTimeoutError } from "../net/idle.ts";
import { TransportError } from "../net/transport.ts";
import { errorMessage } from "../common/errors.ts";

/** The longest wait between two attempts. */
const MAX_DELAY_MS = 30_000;

const NETWORK_ERRORS = [
  Deno.errors.ConnectionRefused,
  Deno.errors.ConnectionReset,
  Deno.errors.ConnectionAborted,
  Deno.errors.NotConnected,
  Deno.errors.BrokenPipe,
  Deno.errors.UnexpectedEof,
  Deno.errors.TimedOut,
  Deno.errors.NetworkUnreachable,
  // A read or write still pending when the connection was closed under it,
  // after another failure of the same connection: a loss like that one.
  Deno.errors.Interrupted,
  Deno.errors.BadResource,
];

/**
 * Whether `error` is a lost or refused connection, which a new attempt
 * may get past; a wrong code, a refusal by the server or a local problem
 * is not.
 */
export function isRetryable(error: unknown): boolean {
  return error instanceof ConnectionClosedError ||
    error instanceof IdleTimeoutError ||
    error instanceof KeyExchangeTimeoutError ||
    error instanceof ServerBusyError ||
    (error instanceof TransportError && error.transient) ||
    NETWORK_ERRORS.some((type) => error instanceof type);
}

/** Says in plain words how a connection was lost. */
export function describeLoss(error: unknown): string {
  if (
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted
  ) {
    return "the connection broke";
  }
  if (
    error instanceof Deno.errors.Interrupted ||
    error instanceof Deno.errors.BadResource
  ) {
    return "the connection closed";
  }
  if (error instanceof Deno.errors.UnexpectedEof) {
    return "the connection closed early";
  }
  return errorMessage(error);
}

/**
 * How long to wait before retry number `retry` (1 for the first): the
 * base doubles each time up to 30 s, less up to a fifth at random so that
 * many clients cut off together do not come back together.
 */
export function retryDelay(retry: number, baseMs: number): number {
  const full = Math.min(MAX_DELAY_MS, baseMs * 2 ** (retry - 1));
  return Math.round(full * (1 - Math.random() / 5));
}

/**
 * How long to wait after a busy hello: from half to one and a half times
 * the base, at random and without doubling. A busy server is up and lets
 * clients in as others finish their key exchange; clients that started
 * together must not come back together, nor back off for seconds while a
 * place is free (50 clients behind one address had come back in waves of
 * 1, 2 and 4 s while the cores idled).
 */
export function busyDelay(baseMs: number): number {
  return Math.round(baseMs * (0.5 + Math.random()));
}

/**
 * How long in all a client keeps trying a server that says it is busy:
 * the full waits of `retries` retries (31 s for 5 with a 1 s base), so
 * that `--retries` bounds a busy server as it bounds a lost connection.
 */
export function busyPatienceMs(retries: number, baseMs: number): number {
  let total = 0;
  for (let retry = 1; retry <= retries; retry++) {
    total += Math.min(MAX_DELAY_MS, baseMs * 2 ** (retry - 1));
  }
  return total;
}
