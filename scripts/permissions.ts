/**
 * The permissions of the server and of the client, in one place:
 * `scripts/compile.ts` bakes them into `ft-server` and `ft-client`, and
 * `tests/permissions_test.ts` runs `server.ts` and `client.ts` with exactly
 * these flags, so that what ships is what is tested.
 *
 * Each set is the narrowest that works, found by dropping flags until a
 * transfer failed. Folders, files, hosts and ports are only known when the
 * programs run, while the flags are fixed when they are compiled: this is
 * why read, write and net cannot name paths or hosts.
 *
 * @module
 */

/**
 * Flags for `server.ts` and `ft-server`.
 *
 * - `--allow-net`: listens on the `--host` and `--port` given at run time
 *   (port 0 picks any free one).
 * - `--allow-read`: looks into the `--dir` folder (what is already there,
 *   the hashes of files it has or resumes), and reads `--code-file`,
 *   `--cert` and `--key`.
 * - `--allow-write`: creates the `--dir` folder and what it receives,
 *   gives files their modes, renames finished ones into place and deletes
 *   stale partial files.
 * - `--allow-env=FT_CODE`: the code, when neither `--code` nor
 *   `--code-file` gives it. Asking for it is what needs the permission,
 *   whether or not it is set.
 * - `--allow-sys=networkInterfaces,statfs`: `networkInterfaces` lists the
 *   addresses to show clients when listening on 0.0.0.0 or ::, the
 *   default; `statfs` (from `node:fs/promises`) checks that the files of a
 *   session fit on the disk before any is written.
 */
export const SERVER_PERMISSIONS: readonly string[] = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env=FT_CODE",
  "--allow-sys=networkInterfaces,statfs",
];

/**
 * Flags for `client.ts` and `ft-client`.
 *
 * - `--allow-net`: connects to the `HOST:PORT` given at run time, looking
 *   the name up first.
 * - `--allow-read`: the files and folders to send, `--code-file` and
 *   `--ca`.
 * - `--allow-write`: `client.ts HOST - --name NAME` copies standard input
 *   into a new private temporary folder first (`Deno.makeTempDir`), so
 *   that it has a size, a hash and can be resumed. Where that folder goes
 *   depends on the machine it runs on (TMPDIR, TEMP), so this cannot be
 *   narrowed to one path at compile time.
 * - `--allow-env=FT_CODE`: the code, when neither `--code` nor
 *   `--code-file` gives it.
 *
 * `NO_COLOR`, which turns off the escape codes of the progress line, is
 * not listed: Deno 2.9 lets every program read it (and `FORCE_COLOR`)
 * without a permission. A test checks that this still holds.
 */
export const CLIENT_PERMISSIONS: readonly string[] = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env=FT_CODE",
];
