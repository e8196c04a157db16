/**
 * Values of command-line flags: counts, durations and sizes, each checked
 * so that a bad value is a usage error naming the flag.
 *
 * @module
 */

import { UsageError } from "../common/errors.ts";
import type { IfDifferent } from "../protocol/messages.ts";
import { COMPRESS_MODES, type CompressMode } from "../transfer/compression.ts";

const DURATION_UNITS: Record<string, number> = {
  s: 1,
  m: 60,
  h: 3600,
  d: 86400,
};
const SIZE_UNITS: Record<string, number> = {
  "": 1,
  K: 2 ** 10,
  M: 2 ** 20,
  G: 2 ** 30,
  T: 2 ** 40,
};

/** A whole number from 0 to `max` given to `flag`. */
export function parseCount(text: string, flag: string, max: number): number {
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(value <= max)) {
    throw new UsageError(`${flag} takes a whole number from 0 to ${max}`);
  }
  return value;
}

/**
 * A duration of at least 1 s given to `flag`, in seconds: a number with
 * an optional unit s, m, h or d (`defaultUnit` when there is none).
 */
export function parseDuration(
  text: string,
  flag: string,
  defaultUnit: "s" | "d" = "s",
): number {
  const match = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(text);
  const seconds = match
    ? Number(match[1]) * DURATION_UNITS[match[2] || defaultUnit]
    : NaN;
  if (!(seconds >= 1 && seconds <= 10 * 365 * 86400)) {
    throw new UsageError(
      `${flag} takes a duration from 1s, such as 30s, 10m, 12h or 7d (bare numbers are in ${
        defaultUnit === "s" ? "seconds" : "days"
      })`,
    );
  }
  return seconds;
}

/** A size in bytes given to `flag`: a number with an optional K, M, G or T. */
export function parseSize(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)([KMGT]?)i?B?$/i.exec(text);
  const bytes = match
    ? Math.floor(Number(match[1]) * SIZE_UNITS[match[2].toUpperCase()])
    : NaN;
  if (!(bytes >= 0 && Number.isSafeInteger(bytes))) {
    throw new UsageError(
      `${flag} takes a size such as 500M, 20G or 2T (bytes without a unit)`,
    );
  }
  return bytes;
}

/**
 * What becomes of a file whose name the other side has with other bytes:
 * `--rename` or `--skip-existing` (or, getting, `--overwrite`), one only.
 */
export function differentChoice(
  values: { overwrite: boolean; rename: boolean; "skip-existing": boolean },
): IfDifferent | undefined {
  const chosen = [
    values.overwrite && "--overwrite",
    values.rename && "--rename",
    values["skip-existing"] && "--skip-existing",
  ].filter(Boolean);
  if (chosen.length > 1) {
    throw new UsageError(
      `${chosen[0]} and ${
        chosen[1]
      } do not go together: each says what becomes of a different file of the same name`,
    );
  }
  return values.rename
    ? "rename"
    : values["skip-existing"]
    ? "skip"
    : undefined;
}

/**
 * The value of `--compress` (auto when not given); `applies` says whether
 * this run sends files, and `why` where the flag does apply when not.
 */
export function parseCompress(
  text: string | undefined,
  applies: boolean,
  why: string,
): CompressMode {
  if (text === undefined) return "auto";
  if (!applies) throw new UsageError(`--compress ${why}`);
  if (!(COMPRESS_MODES as readonly string[]).includes(text)) {
    throw new UsageError(
      `--compress takes ${COMPRESS_MODES.join(", ")}, not ${
        JSON.stringify(text)
      }`,
    );
  }
  return text as CompressMode;
}
