/**
 * Long loops over untrusted input (a manifest of a million entries, deep
 * folder trees) give the event loop back every few milliseconds, so that
 * one session never freezes the others or their timers.
 *
 * @module
 */

import { setImmediate } from "node:timers";

/** How long a loop may run before it lets other work in. */
export const SLICE_MS = 4;

/** Lets a loop give way to the event loop once its slice is used up. */
export class Pacer {
  #sliceMs: number;
  #since = performance.now();

  /** A pacer that yields after `sliceMs` of uninterrupted work. */
  constructor(sliceMs: number = SLICE_MS) {
    this.#sliceMs = sliceMs;
  }

  /**
   * Resolves at once while the slice lasts; once it is used up, after the
   * event loop has run whatever else was waiting.
   */
  async pace(): Promise<void> {
    if (performance.now() - this.#since < this.#sliceMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.#since = performance.now();
  }
}
