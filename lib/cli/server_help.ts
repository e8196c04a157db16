/**
 * The server's `--help`.
 *
 * @module
 */

import { formatBytes } from "../common/format.ts";
import { DEFAULT_PORT, MAX_ENTRIES } from "../protocol/constants.ts";
import { DISCOVERY_PORT } from "../net/discovery.ts";
import { withCommands } from "./cli.ts";
import { CODE_ENV } from "./code_input.ts";

/** Clients served at once unless --max-connections says otherwise. */
export const DEFAULT_MAX_CONNECTIONS = 64;

/** Bytes one session may send unless --max-size says otherwise. */
export const DEFAULT_MAX_SIZE: number = 2 ** 40;

/** Memory all sessions' file lists may take unless --max-memory says otherwise. */
export const DEFAULT_MAX_MEMORY: number = 512 * 1024 * 1024;

const HELP =
  `Receive files and folders sent with client.ts, or share files and folders
for client.ts --get to fetch.

Usage: deno run -A server.ts [options]
       deno run -A server.ts [options] --share PATH...

A short code authenticates clients and keys the encrypted channel. Unless
one is given, the server makes one up and prints it with the client command.
It stays valid for as long as the server runs, and is kept (readable by this
user only, in .ft-staging) for the next start with the same --dir, until
--new-code. Clients on the local network
find the server by the code's number (4071 in 4071-apple-river-stone), which
the server answers for over UDP port ${DISCOVERY_PORT}; the number is public,
the words are the secret. A custom code (--code, --code-file) has no number:
its clients need the server's address.

Options:
      --host ADDR     Address to listen on (default 0.0.0.0, all IPv4
                      interfaces; use :: for IPv6 as well)
      --port N        TCP port (default ${DEFAULT_PORT}; 0 picks a free one)
      --dir PATH      Folder to save into (default ./received)
      --once          Exit after the first session; exit status 0 only if
                      every file of it was verified
      --stdout        With --once: write the one file received to standard
                      output (redirected or piped, not a terminal) instead
                      of --dir, as it arrives (no resuming); everything else
                      goes to stderr
      --overwrite     Replace an existing file whose content differs
      --share         Share the PATHs given (files and folders, recursively)
                      instead of receiving: a client gets them with --get
      --keep-sharing  With --share: go on sharing after the first client
                      got every file (by default the server then exits)
      --compress MODE With --share: auto (default), on or off, as for
                      client.ts: zstd per record while it makes the transfer
                      faster (a receiving server takes either)
      --code-file F   Read the code from the first line of file F
      --code CODE     Use CODE (other local users can see it in the process
                      list: prefer ${CODE_ENV} or --code-file)
      --new-code      Make a new code instead of the one kept from the last
                      start with this --dir
      --no-discover   Do not answer clients looking for the code's number on
                      the network: they need this server's address
      --discovery-port N  UDP port of discovery (default ${DISCOVERY_PORT})
      --cert FILE     Listen with TLS, with this PEM certificate chain...
      --key FILE      ...and this PEM private key (the code is still needed)

Limits:
      --max-connections N  Clients served at once; more are told to retry
                      later (default ${DEFAULT_MAX_CONNECTIONS})
      --max-entries N Files and folders in one session (default ${MAX_ENTRIES})
      --max-size SIZE Bytes of all files in one session, such as 500M, 20G
                      or 2T (default ${formatBytes(DEFAULT_MAX_SIZE)})
      --max-memory SIZE  Memory the file lists of all sessions together may
                      take; a session beyond it waits, then is refused
                      (default ${formatBytes(DEFAULT_MAX_MEMORY)})
      --idle-timeout S  Drop a client that makes no progress for S seconds
                      (default 30)
      --keep-partial AGE  Delete data kept from interrupted transfers once
                      it is older than AGE, such as 12h or 7d (default 7d)

Output:
      --json          Write events as JSON lines on stdout (docs/EVENTS.md)
  -q, --quiet         Print errors only, and sessions in which a file failed
  -v, --verbose       A line per connection and per file on a terminal too
  -V, --version       Show the version
  -h, --help          Show this help

On a terminal the server shows a live line per session on stderr, and a
line with the totals of each session when it ends; a line per connection
and per file as well with --verbose, or when stdout is not a terminal (a
log). Problems go to stderr.

Data is gathered in .ft-staging inside --dir, a folder only the server's
user may enter, and moved to its name once verified; an interrupted file
is kept there, and the client resumes it. SIGINT or SIGTERM stops the
server: it takes no new connections, keeps what arrived and exits 0; a
second signal exits at once.

Environment:
  ${CODE_ENV}             The code, when neither --code nor --code-file is given

Examples:
  # receive into ./received on port ${DEFAULT_PORT}
  deno run -A server.ts
  # one transfer into ~/inbox, then exit
  deno run -A server.ts --dir ~/inbox --once
  # unpack what a client pipes in
  deno run -A server.ts --once --stdout | tar x
  # share a file and a folder, for one client's --get
  deno run -A server.ts --share report.pdf photos/
  # events as JSON, on a port the system picks
  deno run -A server.ts --json --port 0 | jq -c 'select(.type=="listening")'
  # TLS with a certificate, and a code of your own
  ${CODE_ENV}=4071-apple-river-stone deno run -A server.ts --cert c.pem --key k.pem

Exit status: 0 on success (with --once: every file verified), 1 on errors,
2 for usage errors, 130 when a second signal stopped it at once.`;

/** The server's `--help`, with the commands this program is run as. */
export function serverHelp(): string {
  return withCommands(HELP);
}
