/**
 * Human-readable sizes, rates and hashes for the command line.
 *
 * @module
 */

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** Formats a byte count with a binary unit: `1.5 MiB`. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

/** Formats a transfer rate: `12.3 MiB/s`. */
export function formatRate(bytes: number, seconds: number): string {
  return `${formatBytes(seconds > 0 ? bytes / seconds : 0)}/s`;
}

/** The first 8 hex digits of a SHA-256, enough to compare by eye. */
export function shortHash(sha256: string): string {
  return sha256.slice(0, 8);
}
