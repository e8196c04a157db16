/**
 * A deadline for the part of a session before its data flows, counted in
 * time spent waiting on the client. A client that sends its manifest or
 * reads the decisions just fast enough to keep the idle timeout quiet
 * would otherwise hold its share of the server's memory for as long as it
 * likes.
 *
 * @module
 */

/** What a connection tells of the peer's pace. */
export interface PeerMeter {
  /** Milliseconds spent waiting on the peer, in all. */
  readonly waitedMs: number;
  /** Bytes read and written, in all. */
  readonly bytes: number;
}

/** Raised when a session took too long to get to its data. */
export class SetupTimeoutError extends Error {
  /** Creates the error with a one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "SetupTimeoutError";
  }
}

/** Waiting on the client that any session may spend before its data. */
export const SETUP_BASE_MS = 60_000;

/** On top of that, one millisecond for every this many bytes exchanged. */
export const SETUP_BYTES_PER_MS = 4 * 1024;

/** How often the deadline is checked. */
const CHECK_INTERVAL_MS = 1000;

/** The allowance of a {@link SetupClock}, by default the constants above. */
export interface SetupAllowance {
  /** Waiting any setup may take. */
  baseMs?: number;
  /** Bytes exchanged that earn one more millisecond. */
  bytesPerMs?: number;
  /** How often to check. */
  checkEveryMs?: number;
  /** What the peer is called in the error. */
  peer?: string;
}

/**
 * Watches a session's setup: once the time waited on the client exceeds
 * {@link SETUP_BASE_MS}, plus a millisecond per {@link SETUP_BYTES_PER_MS}
 * exchanged, plus what {@link extend} allowed, `close` is called and the
 * work fails with a {@link SetupTimeoutError}.
 */
export class SetupClock {
  #meter: PeerMeter | undefined;
  #close: () => void;
  #startWaited = 0;
  #startBytes = 0;
  #extra = 0;
  #expired = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #baseMs: number;
  #bytesPerMs: number;
  #checkEveryMs: number;
  #peer: string;

  /** A clock on `meter` (none: no deadline) that ends with `close`. */
  constructor(
    meter: PeerMeter | undefined,
    close: () => void,
    allowance: SetupAllowance = {},
  ) {
    this.#meter = meter;
    this.#close = close;
    this.#baseMs = allowance.baseMs ?? SETUP_BASE_MS;
    this.#bytesPerMs = allowance.bytesPerMs ?? SETUP_BYTES_PER_MS;
    this.#checkEveryMs = allowance.checkEveryMs ?? CHECK_INTERVAL_MS;
    this.#peer = allowance.peer ?? "Client";
  }

  /** Allows `ms` more of waiting, for work the client legitimately does. */
  extend(ms: number): void {
    this.#extra += ms;
  }

  /** Runs `work` under the deadline. */
  async watch<T>(work: () => Promise<T>): Promise<T> {
    const meter = this.#meter;
    if (meter === undefined) return await work();
    this.#startWaited = meter.waitedMs;
    this.#startBytes = meter.bytes;
    this.#timer = setInterval(() => this.#check(meter), this.#checkEveryMs);
    Deno.unrefTimer(this.#timer);
    try {
      return await work();
    } catch (error) {
      if (!this.#expired) throw error;
      throw new SetupTimeoutError(
        `${this.#peer} took too long to exchange its file list (${
          Math.round((meter.waitedMs - this.#startWaited) / 1000)
        } s waiting on it)`,
      );
    } finally {
      clearInterval(this.#timer);
    }
  }

  #check(meter: PeerMeter): void {
    const waited = meter.waitedMs - this.#startWaited;
    const allowed = this.#baseMs + this.#extra +
      (meter.bytes - this.#startBytes) / this.#bytesPerMs;
    if (waited <= allowed || this.#expired) return;
    this.#expired = true;
    clearInterval(this.#timer);
    this.#close();
  }
}
