/**
 * Frees the memory of spent buffers at once. node:crypto returns each
 * sealed or opened record in new memory, and V8 collects such memory only
 * after tens of MiB of it have piled up; freeing each record's buffer as
 * soon as it is written keeps a transfer's memory flat.
 *
 * @module
 */

/** Bytes a view may leave out of its buffer and still count as its owner. */
const OWNER_SLACK = 16;

/**
 * Frees the ArrayBuffer behind `bytes`, which the caller must own and never
 * touch again. A buffer much larger than the view (a pool, a batch buffer)
 * is left alone, so that a mistake costs memory, not data.
 */
export function releaseBuffer(bytes: Uint8Array): void {
  const buffer = bytes.buffer;
  if (
    buffer instanceof ArrayBuffer && !buffer.resizable &&
    buffer.byteLength <= bytes.byteLength + OWNER_SLACK
  ) {
    buffer.transfer(0);
  }
}
