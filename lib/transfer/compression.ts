/**
 * Compression of file data, per record: the sender's choice of sending a
 * record as it is or as one zstd frame (`--compress auto|on|off`); the
 * frames themselves are made and undone in zstd_records.ts.
 *
 * `auto` measures. The data path runs in windows of {@link WINDOW_BYTES}
 * of records; at the end of each the sender knows the rate it achieved,
 * how long its writes waited for the network (the channel's stall time)
 * and how long it spent compressing. Data that does not shrink by a
 * useful margin is sent as it is, and tried again only after a skip that
 * doubles each time (so photos and archives cost one compression now and
 * then). Compression, and then each higher level, is tried for one window
 * only when the writes waited at least as long as it is expected to cost,
 * and kept only when that window was faster by a margin; a trial that
 * lost waits twice as long for its next chance. A level goes down again
 * when the writes stop waiting (the CPU is the limit), and compression
 * stops when it ends up slower than sending as is was.
 *
 * @module
 */

import { releaseBuffer } from "../common/release.ts";
import { FrameType } from "../protocol/constants.ts";
import { compressRecord, compressRecordAsync } from "./zstd_records.ts";

/** Whether the sender compresses: measured, always, or never. */
export type CompressMode = "auto" | "on" | "off";

/** The values `--compress` takes. */
export const COMPRESS_MODES: readonly CompressMode[] = ["auto", "on", "off"];

/** The zstd levels tried, in order: the fastest first. */
export const LEVELS: readonly number[] = [1, 3, 6, 9, 12, 15, 19];

/** Records smaller than this go as they are: a call costs tens of µs. */
export const MIN_COMPRESS_BYTES = 4096;

/** Share of a record compression must save for it to go compressed. */
export const USEFUL_SAVING = 1 / 8;

/** Bytes of records over which auto measures, then decides. */
export const WINDOW_BYTES: number = 16 * 1024 * 1024;

/** How much faster a window must be to keep compression on. */
export const ADOPT_MARGIN = 1.2;

/** How much faster a window must be to keep a higher level. */
export const LEVEL_MARGIN = 1.1;

/** Most windows a lost trial waits before it is tried again. */
export const MAX_TRIAL_WAIT = 64;

/** Bytes sent as they are after the first record that did not shrink. */
export const FIRST_SKIP: number = 1024 * 1024;

/** Most bytes sent as they are before data that did not shrink is tried. */
export const MAX_SKIP: number = 64 * 1024 * 1024;

/**
 * Below this share of a window spent waiting for the network, the CPU is
 * the limit: a lower level goes faster.
 */
export const CPU_BOUND_STALL = 0.05;

/** What level 1 is expected to cost before it was measured: 2.5 ms/MiB. */
const FIRST_GUESS_MS_PER_BYTE = 2.5 / (1024 * 1024);

/** A record as it goes on the wire. */
export interface PackedRecord {
  /** Data, or compressed data. */
  type: FrameType;
  /** The payload of the frame. */
  payload: Uint8Array;
}

/** A trial under way: the arm it left, and the rate it must beat. */
interface Trial {
  from: number;
  rate: number;
}

/**
 * The sender's choice for each record of one session. An arm is what the
 * records get: -1 sent as they are, 0 and up compressed at that index of
 * {@link LEVELS}.
 */
export class Compressor {
  #mode: CompressMode;
  #stalledMs: () => number;
  #now: () => number;
  #tried = 0;
  #arm: number;
  #trial: Trial | null = null;
  /** Windows to wait after a lost trial, and the window it may come at. */
  #wait: number[] = LEVELS.map(() => 1);
  #nextTrial: number[] = LEVELS.map(() => 0);
  /**
   * File bytes per ms of the windows sent as they are, and of those sent
   * at the current level, each averaged with the one before it: a window
   * on a loaded machine can be twice as fast or slow as the next.
   */
  #rawRate: number | null = null;
  #armRate: number | null = null;
  /** Whether compression won a trial since it was last left. */
  #won = false;
  #windows = 0;
  #windowBytes = 0;
  #windowStart = 0;
  #windowStall = 0;
  #windowCompressMs = 0;
  #skip = 0;
  #nextSkip = FIRST_SKIP;
  #msPerByte = FIRST_GUESS_MS_PER_BYTE;

  /**
   * Chooses by `mode`, reading from `stalledMs` how long the channel's
   * writes have waited so far, and the time in ms from `now`.
   */
  constructor(
    mode: CompressMode,
    stalledMs: () => number,
    now: () => number = () => performance.now(),
  ) {
    this.#mode = mode;
    this.#stalledMs = stalledMs;
    this.#now = now;
    this.#arm = mode === "on" ? 0 : -1;
    this.#restartWindow();
  }

  /** Records compressed so far, whether they then went compressed or not. */
  get tried(): number {
    return this.#tried;
  }

  /** The zstd level records are compressed at now, or 0 for none. */
  get level(): number {
    return this.#arm < 0 ? 0 : LEVELS[this.#arm];
  }

  /** The frame for the next record, `bytes`, which the caller may reuse. */
  pack(bytes: Uint8Array): PackedRecord {
    const level = this.#plan(bytes);
    if (level === 0) return { type: FrameType.Data, payload: bytes };
    const started = this.#now();
    const frame = compressRecord(bytes, level);
    return this.#settle(bytes, frame, this.#now() - started);
  }

  /**
   * The frame for the next record, `bytes`, compressed (if at all) on a
   * thread of the runtime's pool, so that the caller can hash, seal and
   * send other records meanwhile: a promise when it is compressed, the
   * frame itself when not. `bytes` must stay as they are until the promise
   * settles, and the records go out in the order they were given.
   */
  packLater(bytes: Uint8Array): PackedRecord | Promise<PackedRecord> {
    const level = this.#plan(bytes);
    if (level === 0) return { type: FrameType.Data, payload: bytes };
    const started = this.#now();
    return compressRecordAsync(bytes, level).then((frame) =>
      this.#settle(bytes, frame, this.#now() - started)
    );
  }

  /** The level to compress the next record at, or 0 to send it as is. */
  #plan(bytes: Uint8Array): number {
    if (this.#mode === "off" || bytes.length < MIN_COMPRESS_BYTES) return 0;
    if (this.#windowBytes >= WINDOW_BYTES) this.#decide();
    if (this.#skip > 0) {
      this.#skip -= bytes.length;
      if (this.#skip <= 0) this.#restartWindow();
      return 0;
    }
    if (this.#arm < 0) {
      this.#windowBytes += bytes.length;
      return 0;
    }
    this.#tried++;
    return LEVELS[this.#arm];
  }

  /** What a record compressed to `frame` in `ms` goes as, and learns. */
  #settle(
    bytes: Uint8Array,
    frame: Uint8Array | null,
    ms: number,
  ): PackedRecord {
    if (frame === null || frame.length > bytes.length * (1 - USEFUL_SAVING)) {
      // Often a MiB that no collection would free soon.
      if (frame !== null) releaseBuffer(frame);
      this.#notShrinking();
      return { type: FrameType.Data, payload: bytes };
    }
    this.#nextSkip = FIRST_SKIP;
    // The fastest seen: a record that lost the CPU to another process
    // says nothing of what compressing costs.
    if (this.#arm === 0) {
      this.#msPerByte = Math.min(this.#msPerByte, ms / bytes.length);
    }
    this.#windowBytes += bytes.length;
    this.#windowCompressMs += ms;
    return { type: FrameType.Compressed, payload: frame };
  }

  /** A record did not shrink: send as is for a while, measure afresh. */
  #notShrinking(): void {
    if (this.#mode === "auto") {
      this.#skip = this.#nextSkip;
      this.#nextSkip = Math.min(this.#nextSkip * 2, MAX_SKIP);
    }
    if (this.#trial !== null) {
      // Data that does not shrink says nothing of the network.
      this.#arm = this.#trial.from;
      this.#trial = null;
    }
    this.#restartWindow();
  }

  /** Ends a window: settles a trial, or moves a level, or starts one. */
  #decide(): void {
    const elapsed = Math.max(this.#now() - this.#windowStart, 0.001);
    const rate = this.#windowBytes / elapsed;
    const stall = this.#stalledMs() - this.#windowStall;
    this.#windows++;
    const trial = this.#trial;
    if (trial !== null) {
      this.#trial = null;
      const margin = trial.from < 0 ? ADOPT_MARGIN : LEVEL_MARGIN;
      if (rate >= trial.rate * margin) {
        if (trial.from < 0) this.#won = true;
        this.#wait[this.#arm] = 1;
        this.#armRate = rate;
      } else {
        this.#leave(trial.from);
      }
    } else {
      const smoothed = this.#average(rate);
      if (this.#arm >= 0 && this.#won && smoothed < this.#rawRate!) {
        this.#leave(-1);
      } else if (this.#arm > 0 && stall < elapsed * CPU_BOUND_STALL) {
        this.#leave(this.#arm - 1);
      } else {
        const next = this.#arm + 1;
        // What the next arm is expected to cost on top of this one.
        const cost = this.#arm < 0
          ? this.#windowBytes * this.#msPerByte
          : this.#windowCompressMs;
        if (
          next < LEVELS.length && this.#windows >= this.#nextTrial[next] &&
          stall >= cost
        ) {
          this.#trial = { from: this.#arm, rate: smoothed };
          this.#arm = next;
        }
      }
    }
    this.#restartWindow();
  }

  /** Folds `rate` into the average of the current arm; returns that. */
  #average(rate: number): number {
    const before = this.#arm < 0 ? this.#rawRate : this.#armRate;
    const smoothed = before === null ? rate : (before + rate) / 2;
    if (this.#arm < 0) this.#rawRate = smoothed;
    else this.#armRate = smoothed;
    return smoothed;
  }

  /** Goes back to arm `to`; the arm left waits longer for its next trial. */
  #leave(to: number): void {
    const left = this.#arm;
    this.#wait[left] = Math.min(this.#wait[left] * 2, MAX_TRIAL_WAIT);
    this.#nextTrial[left] = this.#windows + this.#wait[left];
    this.#arm = to;
    this.#armRate = null;
    if (to < 0) this.#won = false;
  }

  #restartWindow(): void {
    this.#windowBytes = 0;
    this.#windowCompressMs = 0;
    this.#windowStart = this.#now();
    this.#windowStall = this.#stalledMs();
  }
}
