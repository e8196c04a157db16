/**
 * The version of both programs, shown by `--version`.
 *
 * @module
 */

/** The release, as semantic version. */
export const VERSION = "0.6.0";
