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
 * Flags for `server.ts` and `ft-server`: all of them.
 *
 * The server acts on the folders of its destination by descriptor, so
 * that a local user who can write into the destination cannot redirect a
 * file it puts in place by swapping a folder for a link: on Linux every
 * name is reached through `/proc/self/fd/N/NAME`, like the `*at` system
 * calls. Deno 2.9 grants paths below `/proc/self/fd` only with
 * `--allow-all`, as they could reach files outside any narrower grant;
 * the server's read, write and net grants could not be narrowed anyway,
 * since folders, files and ports are only known when it runs. It also
 * names a small file it staged without a name from its descriptor through
 * the C library's `linkat` (`--allow-ffi`, lib/store/unnamed_files.ts). Under
 * narrower flags the server still works, checking folders by path, and
 * says so at start when other users can write into its destination.
 */
export const SERVER_PERMISSIONS: readonly string[] = ["--allow-all"];

/**
 * Flags for `client.ts` and `ft-client`.
 *
 * - `--allow-net`: connects to the `HOST:PORT` given at run time, looking
 *   the name up first; without a HOST, it asks the local network for the
 *   server by UDP broadcast and multicast, whose addresses are no host
 *   names one could list.
 * - `--allow-sys=networkInterfaces,statfs`: the broadcast address and
 *   IPv6 interfaces of each network to ask on; with `--get`, the free
 *   space of the folder the files go to.
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
  "--allow-sys=networkInterfaces,statfs",
  "--allow-read",
  "--allow-write",
  "--allow-env=FT_CODE",
];
