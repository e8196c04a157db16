/**
 * Sends files and folders to a running `server.ts`.
 *
 *     deno run -A client.ts [HOST[:PORT]] [PATH...]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { parseHostPort } from "./lib/address.ts";
import { errorMessage, UsageError } from "./lib/errors.ts";
import { formatBytes, formatRate, shortHash } from "./lib/format.ts";
import { FilesDeferredError, sendWithRetries } from "./lib/attempts.ts";
import { parseCount, parseDuration } from "./lib/flags.ts";
import { describeLoss } from "./lib/retry.ts";
import { scanSources } from "./lib/scan.ts";
import { SendRun } from "./lib/sender.ts";
import { CODE_ENV, codeFromSources, promptForCode } from "./lib/code_input.ts";
import { CodeError } from "./lib/code.ts";
import { deriveCodeScalar } from "./lib/pake.ts";
import { DEFAULT_PORT } from "./protocol.ts";
import type { TransferEvent } from "./lib/events.ts";

const HELP = `Send files and folders to a server started with server.ts.

Usage: deno run -A client.ts [HOST[:PORT]] [PATH...]

HOST defaults to localhost and PORT to ${DEFAULT_PORT}; PATH defaults to main.txt.
Folders are sent recursively; symbolic links are skipped, never followed.
A file is reported only once the server has confirmed it by SHA-256.
An interrupted transfer resumes where it stopped, on its own when the
connection drops, or when the same command runs again.

The code printed by the server is required. It is read from --code,
--code-file or FT_CODE, or asked for on the terminal (without echo).

Options:
      --code-file F   Read the code from the first line of file F
      --code CODE     Use CODE (other local users can see it in the process
                      list: prefer FT_CODE or --code-file)
      --tls           Connect with TLS (the code is still required)
      --ca FILE       Trust this PEM certificate authority for --tls
      --retries N     When the connection drops, reconnect and resume up to
                      N times in a row without progress (default 5; 0 never)
      --idle-timeout S  Drop a connection that makes no progress for S
                      seconds (default 30), then retry
  -h, --help          Show this help

Environment:
  FT_CODE             The code, when neither --code nor --code-file is given

Examples:
  deno run -A client.ts                          send main.txt to localhost (asks for the code)
  FT_CODE=4071-apple-river-stone deno run -A client.ts 192.168.1.20 notes.txt
  deno run -A client.ts --tls --ca ca.pem files.example.org:7000 report.pdf
  deno run -A client.ts 192.168.1.20 photos/     send a folder to another machine
  deno run -A client.ts [::1]:7000 a.txt b.txt   IPv6 address and port

Exit status: 0 when every file was confirmed, 1 otherwise, 2 for usage errors.`;

function printEvent(event: TransferEvent): void {
  switch (event.type) {
    case "file-verified":
      console.log(
        `verified  ${event.path}  ${formatBytes(event.size)}  sha256:${
          shortHash(event.sha256)
        }`,
      );
      break;
    case "file-start":
      if (event.offset > 0) {
        console.log(
          `resuming  ${event.path}  from ${formatBytes(event.offset)} of ${
            formatBytes(event.size)
          }`,
        );
      }
      break;
    case "file-skipped":
      console.log(
        `already there  ${event.path}  sha256:${shortHash(event.sha256 ?? "")}`,
      );
      break;
    case "file-failed":
      console.error(`failed  ${event.path}: ${event.message}`);
      break;
    case "warning":
      console.error(`warning: ${event.message}`);
      break;
  }
}

async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      code: { type: "string" },
      "code-file": { type: "string" },
      tls: { type: "boolean", default: false },
      ca: { type: "string" },
      retries: { type: "string", default: "5" },
      "idle-timeout": { type: "string", default: "30" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const target = parseHostPort(positionals[0] ?? "localhost");
  const sources = positionals.length > 1 ? positionals.slice(1) : ["main.txt"];
  const scan = await scanSources(sources);
  for (const message of scan.warnings) printEvent({ type: "warning", message });
  if (values.ca !== undefined && !values.tls) {
    throw new UsageError("--ca only applies with --tls");
  }
  const retries = parseCount(values.retries, "--retries", 1000);
  const idleTimeout = parseDuration(values["idle-timeout"], "--idle-timeout");
  const code = await codeFromSources({
    code: values.code,
    codeFile: values["code-file"],
  }) ?? await promptForCode();
  if (code === undefined) {
    throw new UsageError(
      `No code: set ${CODE_ENV}, use --code-file FILE, or run in a terminal to type it`,
    );
  }
  const password = deriveCodeScalar(code);
  // Settled here too, so that a failed connect leaves no unhandled error.
  password.catch(() => {});
  const started = performance.now();
  const run = new SendRun(scan.entries, printEvent);
  const result = await sendWithRetries(run, {
    host: target.host,
    port: target.port,
    tls: values.tls ? { caFile: values.ca } : undefined,
    password,
    retries,
    retryWaitMs: 1000,
    idleTimeoutMs: idleTimeout * 1000,
    onRetry: (error, waitMs, retry) => {
      const why = error instanceof FilesDeferredError
        ? error.message
        : `connection lost: ${describeLoss(error)}`;
      console.error(
        `${why}; retrying in ${
          (waitMs / 1000).toFixed(1)
        } s (retry ${retry} of ${retries})`,
      );
    },
  });
  const seconds = (performance.now() - started) / 1000;
  const files = scan.entries.filter((entry) => entry.kind === "file").length;
  console.log(
    `${result.verified} of ${files} files sent and verified, ${result.skipped} already there, ${result.failed} failed; ` +
      `${formatBytes(result.bytes)} in ${seconds.toFixed(2)} s (${
        formatRate(result.bytes, seconds)
      })`,
  );
  return result.failed === 0 ? 0 : 1;
}

if (import.meta.main) {
  try {
    Deno.exitCode = await main(Deno.args);
  } catch (error) {
    const usage = error instanceof UsageError || error instanceof CodeError ||
      (error instanceof TypeError && "code" in error &&
        String(error.code).startsWith("ERR_PARSE_ARGS"));
    console.error(`client: ${errorMessage(error)}`);
    Deno.exitCode = usage ? 2 : 1;
  }
}
