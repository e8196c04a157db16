/**
 * The client's `--help`.
 *
 * @module
 */

import { DEFAULT_PORT } from "../protocol/constants.ts";
import { DISCOVERY_PORT } from "../net/discovery.ts";
import { withCommands } from "./cli.ts";

const HELP =
  `Send files and folders to a server started with server.ts, or get the
files a server shares (server.ts --share).

Usage: deno run -A client.ts [options] [HOST[:PORT]] PATH...
       deno run -A client.ts [options] --get [HOST[:PORT]] [--dir DIR]
       PRODUCER | deno run -A client.ts [options] [HOST] - --name NAME

Without HOST, the client finds the server with its code on the local
network (it asks by UDP port ${DISCOVERY_PORT} for the code's number, which is not
secret; the words are) and prints the address it found. A first
argument that is a file or folder here, or -, means every argument is
something to send; any other first argument is the server's address (PORT
defaults to ${DEFAULT_PORT}). With no argument at all, main.txt goes to this
machine. Folders are sent recursively; symbolic links are skipped, never
followed. A file is reported only once its receiver confirmed it by SHA-256.
An interrupted transfer resumes where it stopped, on its own when the
connection drops, or when the same command runs again.

The code printed by the server is required. It is read from --code,
--code-file or FT_CODE, or asked for on the terminal, where Tab completes
a word and a mistyped word is asked again.

Options:
      --get           Get the files the server shares, into --dir
      --dir DIR       With --get: the folder to save into (default: the
                      current folder); files are staged in DIR/.ft-staging
                      and get their names only once verified
      --overwrite     With --get: replace an existing file whose content
                      differs (without it, such a file is kept and reported)
      --rename        When the other side has a different file of the same
                      name, keep it and save this one beside it, as
                      "name (1).ext" (the first free number; a rerun finds
                      it there)
      --skip-existing When the other side has a different file of the same
                      name, leave it: reported as skipped, not failed
      --keep-partial AGE  With --get: delete data kept from interrupted
                      downloads into DIR once older than AGE, such as 12h
                      or 7d (default 7d)
      --code-file F   Read the code from the first line of file F
      --code CODE     Use CODE (other local users can see it in the process
                      list: prefer FT_CODE or --code-file)
      --name NAME     With PATH -, send standard input as a file named NAME
                      (it is read to the end, into a temporary file, first)
      --compress MODE When sending: auto (default) compresses the file
                      data with zstd, per 1 MiB record, while that makes the
                      transfer faster (data that shrinks, a network slower
                      than the compressor); on always; off never. Hashes are
                      of the real bytes; the other side takes either
      --tls           Connect with TLS (the code is still required)
      --ca FILE       Trust this PEM certificate authority for --tls
      --discovery-port N  Without HOST: the UDP port to ask on (default
                      ${DISCOVERY_PORT}, as the server's --discovery-port)
      --retries N     When the connection drops, reconnect and resume up to
                      N times in a row without progress (default 5; 0 never);
                      files the server holds for another connection are
                      waited for up to twice --idle-timeout
      --connect-timeout S  Give up connecting after S seconds (default
                      10; on a terminal it says so after 1 s)
      --idle-timeout S  Drop a connection that makes no progress for S
                      seconds (default 30), then retry; connecting and the
                      key exchange must be done within 2×S, and a server
                      busy hashing gets S plus 1 s per 4 MiB of the files
      --json          Write events as JSON lines on stdout (docs/EVENTS.md)
  -q, --quiet         Print errors only, and the summary if a file failed
  -v, --verbose       A line per file on a terminal too
  -V, --version       Show the version
  -h, --help          Show this help

Output: on a terminal, a live progress line on stderr (plain carriage
returns, no escape codes, when NO_COLOR is set), the failures, and a
summary naming the files that failed; a line per file as well with
--verbose, or when stdout is not a terminal (a log). Problems go to
stderr.

Environment:
  FT_CODE             The code, when neither --code nor --code-file is given
  NO_COLOR            Draw the progress line without escape codes

Examples:
  # send main.txt to this machine (asks for the code)
  deno run -A client.ts
  # find the server on the network by its code, and send
  FT_CODE=4071-apple-river-stone deno run -A client.ts notes.txt
  # find the sharing server by its code, and get its files
  FT_CODE=4071-apple-river-stone deno run -A client.ts --get
  # send a folder to that machine
  deno run -A client.ts 192.168.1.20 photos/
  # get what that machine shares, into ./inbox
  deno run -A client.ts --get 192.168.1.20 --dir inbox
  # send what a program writes, as one file
  tar c photos | deno run -A client.ts - --name photos.tar
  # events as JSON: the last one only
  deno run -A client.ts --json 192.168.1.20 a.iso | jq 'select(.type=="done")'
  # TLS to a server with a certificate, on port 7000
  deno run -A client.ts --tls --ca ca.pem files.example.org:7000 report.pdf
  # an IPv6 address with a port
  deno run -A client.ts [::1]:7000 a.txt b.txt

Exit status: 0 when every file was confirmed (or skipped with
--skip-existing), 1 when a file failed or could not be sent, or the
connection failed, 2 for usage errors (a bad flag, value or code), 130
when interrupted (Ctrl-C): run the same command again to resume.`;

/** The client's `--help`, with the commands this program is run as. */
export function clientHelp(): string {
  return withCommands(HELP);
}
