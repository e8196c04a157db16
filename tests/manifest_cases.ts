/**
 * Manifest entries with one field out of range or of the wrong type, for
 * the hostile tests of both directions: a client's manifest against the
 * server (hostile_manifest_test.ts) and a sharer's against `--get`
 * (hostile_download_manifest_test.ts). Each case is its name, the changes
 * to a valid entry for `fields.txt` (see `manifestWith` in
 * hostile_harness.ts) and a phrase the refusal must contain.
 *
 * @module
 */

import { MAX_FILE_SIZE, MAX_MTIME_MS } from "../protocol.ts";

/** The cases: name, changes to the entry, phrase of the refusal. */
export const BAD_ENTRY_FIELDS: readonly [
  string,
  Record<string, unknown>,
  string,
][] = [
  ["negative size", { size: -1 }, "Field size in manifest entry 0 is -1"],
  [
    "fractional size",
    { size: 1.5 },
    "Field size in manifest entry 0 is not an integer",
  ],
  [
    "size as a string",
    { size: "12" },
    "Field size in manifest entry 0 is not an integer",
  ],
  [
    "size 2**60",
    { size: 2 ** 60 },
    `size in manifest entry 0 is ${
      2 ** 60
    }, beyond the limit of ${MAX_FILE_SIZE}`,
  ],
  ["size missing", { size: undefined }, "Missing field size"],
  [
    "negative mode",
    { mode: -1 },
    "Field mode in manifest entry 0 is -1, below 0",
  ],
  [
    "mode above 0o7777",
    { mode: 0o10000 },
    "Field mode in manifest entry 0 is 4096, beyond",
  ],
  [
    "mtime too late",
    { mtime: MAX_MTIME_MS + 1 },
    `Field mtime in manifest entry 0 is ${MAX_MTIME_MS + 1}, beyond`,
  ],
  [
    "mtime too early",
    { mtime: -MAX_MTIME_MS - 1 },
    `Field mtime in manifest entry 0 is ${-MAX_MTIME_MS - 1}, below`,
  ],
  [
    "mtime as a float",
    { mtime: 0.5 },
    "Field mtime in manifest entry 0 is not an integer",
  ],
  ["unknown kind", { kind: "symlink" }, "Unknown kind in manifest entry 0"],
  ["folder with a size", { kind: "folder" }, "has a non-zero size"],
  [
    "path not a string",
    { path: 7 },
    "Field path in manifest entry 0 is not a string",
  ],
];
