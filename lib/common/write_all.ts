/**
 * Writing a whole buffer to anything whose writes may be short: sockets,
 * files, standard output.
 *
 * @module
 */

/** Writes all of `data` to `target`, looping over short writes. */
export async function writeAll(
  target: { write(data: Uint8Array): Promise<number> },
  data: Uint8Array,
): Promise<void> {
  let done = 0;
  while (done < data.length) {
    done += await target.write(data.subarray(done));
  }
}

/** Writes all of `data` to `target` at once, looping over short writes. */
export function writeAllSync(
  target: { writeSync(data: Uint8Array): number },
  data: Uint8Array,
): void {
  let done = 0;
  while (done < data.length) {
    done += target.writeSync(data.subarray(done));
  }
}
