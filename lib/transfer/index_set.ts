/**
 * A set of manifest indexes as one bit each: a million entries take
 * 125 KB instead of the tens of megabytes of a `Set<number>`.
 *
 * @module
 */

/** The indexes from 0 to `capacity - 1` that are in the set. */
export class IndexSet {
  #bits: Uint8Array;
  #capacity: number;
  #size = 0;

  /** An empty set for indexes below `capacity`. */
  constructor(capacity: number) {
    this.#capacity = capacity;
    this.#bits = new Uint8Array(Math.ceil(capacity / 8));
  }

  /** The indexes the set may hold are those below this. */
  get capacity(): number {
    return this.#capacity;
  }

  /** How many indexes are in the set. */
  get size(): number {
    return this.#size;
  }

  /** Whether `index` is in the set. */
  has(index: number): boolean {
    return index >= 0 && index < this.#bits.length * 8 &&
      (this.#bits[index >> 3] & (1 << (index & 7))) !== 0;
  }

  /** Puts `index` in the set. */
  add(index: number): void {
    if (this.has(index)) return;
    this.#bits[index >> 3] |= 1 << (index & 7);
    this.#size++;
  }

  /** Takes `index` out of the set. */
  delete(index: number): void {
    if (!this.has(index)) return;
    this.#bits[index >> 3] &= ~(1 << (index & 7));
    this.#size--;
  }
}
