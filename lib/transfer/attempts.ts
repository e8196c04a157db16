/**
 * The client's run as a series of attempts: connect, key exchange, send
 * or receive; when the connection drops, wait, reconnect and resume, until
 * everything is through or the retries run out.
 *
 * @module
 */

import {
  establishChannel,
  KeyExchangeDroppedError,
  newPake,
  NoHelloError,
  ServerBusyError,
} from "../secure/handshake.ts";
import { IdleTimeoutStream } from "../net/idle.ts";
import { formatHostPort } from "../net/address.ts";
import {
  beforeDeadline,
  keyExchangeDeadlineMs,
  KeyExchangeTimeoutError,
  limitWaits,
  WaitLimit,
  waitLimitMs,
} from "./client_limits.ts";
import { errorMessage } from "../common/errors.ts";
import { busyDelay, busyPatienceMs, isRetryable, retryDelay } from "./retry.ts";
import { sendEntries } from "./sender.ts";
import type { SendResult, SendRun } from "./send_run.ts";
import { type ClientTls, connect, TransportError } from "../net/transport.ts";
import type { Channel } from "../secure/channel.ts";
import type { Spake2 } from "../secure/pake.ts";
import type { EventSink } from "./events.ts";
import { Role } from "../protocol/constants.ts";

/** Where and how the client connects, and how hard it keeps trying. */
export interface AttemptOptions {
  host: string;
  port: number;
  tls?: ClientTls;
  /** SPAKE2's w, or its derivation still under way. */
  password: bigint | Promise<bigint>;
  /** Reconnections in a row without progress before giving up. */
  retries: number;
  /** Wait before the first retry; it doubles with each one after. */
  retryWaitMs: number;
  /**
   * A connection with no progress for this long is dropped; connecting and
   * the key exchange must be done within twice that, and the server's
   * `wait` messages are accepted for about that plus its hashing time.
   */
  idleTimeoutMs: number;
  /**
   * Connecting (TCP, and TLS when used) must be done within this long, or
   * the attempt fails; {@link DEFAULT_CONNECT_TIMEOUT_MS} by default.
   */
  connectTimeoutMs?: number;
  /**
   * Told when connecting takes more than {@link SLOW_CONNECT_MS}, with
   * the address, so that a silent wait gets a line.
   */
  onSlowConnect?: (peer: string) => void;
  /** Told of each retry before its wait. */
  onRetry: (error: unknown, waitMs: number, retry: number) => void;
}

/**
 * What one run of the client does over each authenticated connection:
 * send files (upload) or receive them (`--get`), keeping what each attempt
 * achieved for the next.
 */
export interface ClientJob<R> {
  /** Whether the server sends the files: the client gets them. */
  readonly serverSends: boolean;
  /** Grows whenever an attempt gets anywhere: bytes moved, files settled. */
  readonly progress: number;
  /** Reports what happens. */
  readonly emit: EventSink;
  /** Files left for a later attempt (the server was busy with them). */
  readonly deferred: number;
  /**
   * Runs one attempt over `channel`, whose stream `stream` times out after
   * `idleTimeoutMs` without progress.
   */
  attempt(
    channel: Channel,
    stream: IdleTimeoutStream,
    idleTimeoutMs: number,
  ): Promise<R>;
  /** Reports the deferred files as failed, when no retry is left. */
  giveUp(): R;
}

/** How long connecting takes before it is worth a line, in ms. */
export const SLOW_CONNECT_MS = 1000;

/**
 * How long connecting may take by default, in ms: far more than any LAN
 * or the internet needs, far less than the two minutes a kernel gives a
 * host that drops the connection attempts.
 */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * Connects to the server within the connect timeout (and the key
 * exchange's deadline), telling `onSlowConnect` when it takes a while; a
 * connection attempt still under way when time is up is abandoned.
 */
async function connectInTime(
  options: AttemptOptions,
  peer: string,
  deadline: number,
): Promise<Deno.Conn> {
  const limitMs = Math.min(
    options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    deadline - performance.now(),
  );
  const abandon = new AbortController();
  const slow = setTimeout(
    () => options.onSlowConnect?.(peer),
    SLOW_CONNECT_MS,
  );
  try {
    return await beforeDeadline(
      connect(options.host, options.port, options.tls, abandon.signal),
      performance.now() + limitMs,
      () => {
        abandon.abort();
        return new TransportError(
          `Timed out connecting to ${peer} after ${
            Math.round(limitMs / 100) / 10
          } s: is the host up, and does a firewall let the port through? (--connect-timeout waits longer)`,
          true,
        );
      },
      (late) => late.close(),
    );
  } finally {
    clearTimeout(slow);
  }
}

/**
 * How long the client waits for the server's answer to its key share
 * before it says that the server holds it back.
 */
export const HELD_BACK_NOTICE_MS = 2000;

/**
 * The client's side of the key exchange, made before connecting; kept for
 * the next attempt while its share has not been sent.
 */
interface Prepared {
  pake?: Spake2;
}

async function attempt<R>(
  job: ClientJob<R>,
  options: AttemptOptions & {
    onChannel: () => void;
    number: number;
    prepared: Prepared;
  },
): Promise<R> {
  const peer = formatHostPort(options.host, options.port);
  // A peer that trickles a byte now and then keeps the idle timeout quiet:
  // the whole way to an authenticated channel has a deadline too.
  const limitMs = keyExchangeDeadlineMs(options.idleTimeoutMs);
  const deadline = performance.now() + limitMs;
  const seconds = limitMs / 1000;
  // The curve work before connecting: from its accept to the key
  // exchange's end the server counts the connection against the 16 of an
  // address, and 50 clients starting at once on a loaded machine had held
  // them through their own slow share.
  const { prepared } = options;
  const pake = prepared.pake ??= newPake(Role.Client, await options.password);
  const conn = await connectInTime(options, peer, deadline);
  job.emit({ type: "connected", peer, attempt: options.number });
  const stream = new IdleTimeoutStream(conn, options.idleTimeoutMs);
  // The server answers a key share at once unless its guess limiter holds
  // the attempt back; only a long silence is worth a word.
  const awaitingAnswer = () => {
    const timer = setTimeout(() =>
      job.emit({
        type: "waiting",
        reason: "guess-limiter",
        peer,
        seconds: HELD_BACK_NOTICE_MS / 1000,
      }), HELD_BACK_NOTICE_MS);
    return () => clearTimeout(timer);
  };
  try {
    const channel = await beforeDeadline(
      establishChannel(stream, {
        role: Role.Client,
        password: options.password,
        pake,
        serverSends: job.serverSends,
        awaitingAnswer,
      }),
      deadline,
      () =>
        new KeyExchangeTimeoutError(
          `Key exchange with ${peer} not done within ${seconds} s (twice --idle-timeout): check the address the server printed (another program may listen there), or try again later`,
        ),
    ).catch((error) => {
      // A busy hello comes before the share: its secret is still unused.
      if (!(error instanceof ServerBusyError)) prepared.pake = undefined;
      throw error;
    });
    prepared.pake = undefined;
    job.emit({ type: "handshake", peer, tls: options.tls !== undefined });
    options.onChannel();
    return await job.attempt(channel, stream, options.idleTimeoutMs);
  } finally {
    stream.close();
  }
}

/** Sending `run`'s files to the server, as a {@link ClientJob}. */
export function sendJob(run: SendRun): ClientJob<SendResult> {
  return {
    serverSends: false,
    get progress() {
      return run.progress;
    },
    emit: run.emit,
    get deferred() {
      return run.deferred.size;
    },
    attempt(channel, _stream, idleTimeoutMs) {
      limitWaits(
        channel,
        new WaitLimit(
          waitLimitMs(run.entries, idleTimeoutMs),
          () => run.progress,
        ),
      );
      return sendEntries(channel, run);
    },
    giveUp() {
      run.failDeferred();
      return run.result();
    },
  };
}

/** Sends `run` to the server, reconnecting after a lost connection. */
export function sendWithRetries(
  run: SendRun,
  options: AttemptOptions,
): Promise<SendResult> {
  return runWithRetries(sendJob(run), options);
}

/**
 * Runs `job` against the server, reconnecting after a lost connection. The
 * first key exchange must succeed: a server that cannot be reached or
 * authenticated at all is reported at once, unless it is busy or dropped
 * the key exchange after its hello. The count of retries starts again
 * whenever an attempt made progress.
 */
export async function runWithRetries<R>(
  job: ClientJob<R>,
  options: AttemptOptions,
): Promise<R> {
  let connected = false;
  let toldBusy = false;
  let failures = 0;
  // Waited in a row for a busy server, and how long it may be.
  let busyMs = 0;
  const patienceMs = busyPatienceMs(options.retries, options.retryWaitMs);
  // Files the server still holds for a connection it has not seen drop
  // come free when its idle timeout strikes (30 s by default, as this
  // side's): worth waiting for that long, however few the retries.
  const deferredPatienceMs = Math.min(
    DEFERRED_IDLE_TIMEOUTS * options.idleTimeoutMs,
    MAX_DEFERRED_PATIENCE_MS,
  );
  let deferredSince: number | undefined;
  // Retries past the count, while waiting for such files; the backoff
  // goes on growing from the last counted one.
  let extra = 0;
  const patient = () =>
    options.retries > 0 && deferredSince !== undefined &&
    performance.now() - deferredSince < deferredPatienceMs;
  /** The retry number to wait for and show, or null to give up. */
  const nextRetry = (progressed: boolean): number | null => {
    failures = progressed ? 1 : failures + 1;
    if (failures <= options.retries) return failures;
    if (!patient()) return null;
    failures = options.retries;
    extra++;
    return options.retries + extra;
  };
  const prepared: Prepared = {};
  for (let number = 1;; number++) {
    const before = job.progress;
    try {
      const result = await attempt(job, {
        ...options,
        number,
        prepared,
        onChannel: () => {
          connected = true;
        },
      });
      busyMs = 0;
      if (job.deferred === 0) return result;
      deferredSince ??= performance.now();
      const retry = nextRetry(job.progress > before);
      if (retry === null) return job.giveUp();
      const wait = retryDelay(retry, options.retryWaitMs);
      options.onRetry(
        new FilesDeferredError(job.deferred, retry > options.retries),
        wait,
        Math.min(retry, options.retries),
      );
      await new Promise((resolve) => setTimeout(resolve, wait));
    } catch (error) {
      // A busy server is worth waiting for, and so is one that said its
      // hello and dropped the key exchange (its handshake limit struck
      // while it held the attempt back); otherwise a first connection that
      // fails is more likely a wrong address or code. Once through, a
      // connection closed even before the hello is just another drop; so
      // is it after the server said it is busy: it closes at once on an
      // address that connects too fast, as many clients behind one do.
      const dropped = (connected || toldBusy) && error instanceof NoHelloError;
      const retryable = isRetryable(error) || dropped;
      const worthWaiting = error instanceof ServerBusyError ||
        error instanceof KeyExchangeDroppedError || dropped;
      if (!retryable || (!connected && !worthWaiting)) throw error;
      if (error instanceof ServerBusyError) {
        // Polled rather than backed off, within the time the retries
        // would have waited; it is no failure of the connection.
        toldBusy = true;
        if (busyMs >= patienceMs) {
          throw new RetriesExhaustedError(error, options.retries);
        }
        const wait = busyDelay(options.retryWaitMs);
        busyMs += wait;
        options.onRetry(error, wait, Math.min(failures + 1, options.retries));
        await new Promise((resolve) => setTimeout(resolve, wait));
        continue;
      }
      busyMs = 0;
      // A connection lost while waiting for held files waits on too.
      const retry = nextRetry(job.progress > before);
      if (retry === null) {
        throw new RetriesExhaustedError(error, options.retries);
      }
      const wait = retryDelay(retry, options.retryWaitMs);
      options.onRetry(error, wait, Math.min(retry, options.retries));
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

/**
 * How many of its idle timeouts a client waits, at least, for files that
 * the server holds for another connection, before it gives up on them.
 */
export const DEFERRED_IDLE_TIMEOUTS = 2;

/** The longest a client waits for such files, whatever its idle timeout. */
export const MAX_DEFERRED_PATIENCE_MS = 10 * 60_000;

/**
 * Why a run goes on after a complete attempt: the server was still busy
 * with some of its files, most likely for an earlier connection of this
 * very client that it has not yet seen drop.
 */
export class FilesDeferredError extends Error {
  /**
   * Whether this wait is past the count of retries, which the client
   * waits out until the server lets the files go.
   */
  readonly pastRetries: boolean;

  /** Creates the error for `count` files left for later. */
  constructor(count: number, pastRetries = false) {
    super(
      `the server is still receiving ${count} of these files from another connection`,
    );
    this.name = "FilesDeferredError";
    this.pastRetries = pastRetries;
  }
}

/** Raised when the connection kept failing after every retry. */
export class RetriesExhaustedError extends Error {
  /** Wraps the last failure `cause` after `retries` retries. */
  constructor(cause: unknown, retries: number) {
    super(
      retries === 0
        ? errorMessage(cause)
        : `${errorMessage(cause)} (gave up after ${retries} ${
          retries === 1 ? "retry" : "retries"
        } without progress)`,
      { cause },
    );
    this.name = "RetriesExhaustedError";
  }
}
