/**
 * Sends files and folders to a running `server.ts`.
 *
 *     deno run -A client.ts [HOST[:PORT]] [PATH...]
 *     producer | deno run -A client.ts HOST - --name NAME
 *
 * @module
 */

import { parseHostPort } from "./lib/net/address.ts";
import {
  EXIT_FAILED,
  EXIT_OK,
  exitStatusOf,
  parseFlags,
  versionLine,
  withCommands,
} from "./lib/cli/cli.ts";
import { Output, outputModeOf } from "./lib/cli/console_output.ts";
import { errorMessage, UsageError } from "./lib/common/errors.ts";
import { formatBytes, formatRate, shortHash } from "./lib/common/format.ts";
import {
  FilesDeferredError,
  sendWithRetries,
} from "./lib/transfer/attempts.ts";
import { parseCount, parseDuration } from "./lib/cli/flags.ts";
import { describeLoss } from "./lib/transfer/retry.ts";
import { scanSources } from "./lib/store/scan.ts";
import { SendRun } from "./lib/transfer/send_run.ts";
import {
  CODE_ENV,
  codeFromSources,
  promptForCode,
} from "./lib/cli/code_input.ts";
import { deriveCodeScalar } from "./lib/secure/pake.ts";
import { DEFAULT_PORT } from "./protocol.ts";
import type { TransferEvent } from "./lib/transfer/events.ts";
import { copyStdin } from "./lib/store/stdin_spool.ts";

const HELP = `Send files and folders to a server started with server.ts.

Usage: deno run -A client.ts [options] [HOST[:PORT]] [PATH...]
       PRODUCER | deno run -A client.ts [options] HOST - --name NAME

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
      --name NAME     With PATH -, send standard input as a file named NAME
                      (it is read to the end, into a temporary file, first)
      --tls           Connect with TLS (the code is still required)
      --ca FILE       Trust this PEM certificate authority for --tls
      --retries N     When the connection drops, reconnect and resume up to
                      N times in a row without progress (default 5; 0 never)
      --idle-timeout S  Drop a connection that makes no progress for S
                      seconds (default 30), then retry; connecting and the
                      key exchange must be done within 2×S, and a server
                      busy hashing gets S plus 1 s per 4 MiB of the files
      --json          Write events as JSON lines on stdout (docs/EVENTS.md)
  -q, --quiet         Print errors only
  -V, --version       Show the version
  -h, --help          Show this help

Output: a line per confirmed file and a summary on stdout; problems on
stderr, and a live progress line there when it is a terminal (plain
carriage returns, no escape codes, when NO_COLOR is set).

Environment:
  FT_CODE             The code, when neither --code nor --code-file is given
  NO_COLOR            Draw the progress line without escape codes

Examples:
  deno run -A client.ts                          send main.txt to localhost (asks for the code)
  FT_CODE=4071-apple-river-stone deno run -A client.ts 192.168.1.20 notes.txt
  deno run -A client.ts 192.168.1.20 photos/     send a folder to another machine
  tar c photos | deno run -A client.ts 192.168.1.20 - --name photos.tar
  deno run -A client.ts --json 192.168.1.20 a.iso | jq -c 'select(.type=="done")'
  deno run -A client.ts --tls --ca ca.pem files.example.org:7000 report.pdf
  deno run -A client.ts [::1]:7000 a.txt b.txt   IPv6 address and port

Exit status: 0 when every file was confirmed, 1 when a file or the
connection failed, 2 for usage errors (a bad flag, value or code).`;

/** Shows transfer events in the chosen output mode. */
function showEvent(output: Output, event: TransferEvent): void {
  switch (event.type) {
    case "progress":
      output.progress(event);
      return;
    case "warning":
      output.event(event);
      output.problem(`warning: ${event.message}`);
      return;
    case "file-failed":
      output.event(event);
      output.problem(`failed  ${event.path}: ${event.message}`);
      return;
  }
  output.event(event);
  switch (event.type) {
    case "file-verified":
      output.info(
        `verified  ${event.path}  ${formatBytes(event.size)}  sha256:${
          shortHash(event.sha256)
        }`,
      );
      break;
    case "file-start":
      if (event.offset > 0) {
        output.info(
          `resuming  ${event.path}  from ${formatBytes(event.offset)} of ${
            formatBytes(event.size)
          }`,
        );
      }
      break;
    case "file-skipped":
      output.info(
        `already there  ${event.path}  sha256:${shortHash(event.sha256 ?? "")}`,
      );
      break;
  }
}

/** Checks what `--name` gives standard input (-) before anything else. */
function checkStdinName(name: string | undefined): string {
  if (name === undefined) {
    throw new UsageError("Sending standard input (-) needs --name NAME");
  }
  if (
    name === "" || name === "." || name === ".." || /[/\\\0]/.test(name)
  ) {
    throw new UsageError(
      `--name must be a file name without folders, not ${JSON.stringify(name)}`,
    );
  }
  if (Deno.stdin.isTerminal()) {
    throw new UsageError(
      "Standard input is a terminal: pipe data in, as in: tar c DIR | client.ts HOST - --name DIR.tar",
    );
  }
  return name;
}

async function main(args: string[], output: Output): Promise<number> {
  const { values, positionals } = parseFlags({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      code: { type: "string" },
      "code-file": { type: "string" },
      name: { type: "string" },
      tls: { type: "boolean", default: false },
      ca: { type: "string" },
      retries: { type: "string", default: "5" },
      "idle-timeout": { type: "string", default: "30" },
      json: { type: "boolean", default: false },
      quiet: { type: "boolean", short: "q", default: false },
      version: { type: "boolean", short: "V", default: false },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(withCommands(HELP));
    return EXIT_OK;
  }
  if (values.version) {
    console.log(versionLine("ft-client"));
    return EXIT_OK;
  }
  const target = parseHostPort(positionals[0] ?? "localhost");
  const sources = positionals.length > 1 ? positionals.slice(1) : ["main.txt"];
  if (values.ca !== undefined && !values.tls) {
    throw new UsageError("--ca only applies with --tls");
  }
  const stdinCount = sources.filter((source) => source === "-").length;
  if (stdinCount > 1) {
    throw new UsageError("Standard input (-) can be sent once");
  }
  if (values.name !== undefined && stdinCount === 0) {
    throw new UsageError("--name only applies when sending standard input (-)");
  }
  const stdinName = stdinCount > 0 ? checkStdinName(values.name) : null;
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
  const stdin = stdinName === null ? null : await copyStdin(stdinName);
  try {
    const scan = await scanSources(
      sources.map((source) => source === "-" ? stdin!.path : source),
    );
    return await send(output, scan, target, {
      tls: values.tls ? { caFile: values.ca } : undefined,
      password,
      retries,
      idleTimeoutMs: idleTimeout * 1000,
    });
  } finally {
    stdin?.remove();
  }
}

/** Sends what `scan` found and reports it; resolves to the exit status. */
async function send(
  output: Output,
  scan: Awaited<ReturnType<typeof scanSources>>,
  target: { host: string; port: number },
  options: {
    tls: { caFile?: string } | undefined;
    password: Promise<bigint>;
    retries: number;
    idleTimeoutMs: number;
  },
): Promise<number> {
  for (const message of scan.warnings) {
    showEvent(output, { type: "warning", message });
  }
  const started = performance.now();
  const run = new SendRun(scan.entries, (event) => showEvent(output, event));
  const result = await sendWithRetries(run, {
    host: target.host,
    port: target.port,
    tls: options.tls,
    password: options.password,
    retries: options.retries,
    retryWaitMs: 1000,
    idleTimeoutMs: options.idleTimeoutMs,
    onRetry: (error, waitMs, retry) => {
      const why = error instanceof FilesDeferredError
        ? error.message
        : `connection lost: ${describeLoss(error)}`;
      output.event({
        type: "error",
        message: why,
        fatal: false,
        retryIn: waitMs / 1000,
        retry,
        retries: options.retries,
      });
      output.problem(
        `${why}; retrying in ${
          (waitMs / 1000).toFixed(1)
        } s (retry ${retry} of ${options.retries})`,
      );
    },
  });
  output.endProgress();
  const seconds = (performance.now() - started) / 1000;
  const files = scan.entries.filter((entry) => entry.kind === "file").length;
  const ok = result.failed === 0;
  output.event({
    type: "done",
    ok,
    files,
    verified: result.verified,
    skipped: result.skipped,
    failed: result.failed,
    bytes: result.bytes,
    seconds: Number(seconds.toFixed(3)),
  });
  const verdict = ok ? "all verified by SHA-256" : `${result.failed} failed`;
  output.info(
    `${result.verified} of ${files} files sent and verified, ${result.skipped} already there, ${result.failed} failed; ` +
      `${formatBytes(result.bytes)} in ${seconds.toFixed(2)} s (${
        formatRate(result.bytes, seconds)
      }); ${verdict}`,
  );
  return ok ? EXIT_OK : EXIT_FAILED;
}

if (import.meta.main) {
  const output = new Output({ mode: outputModeOf(Deno.args), progress: true });
  try {
    Deno.exitCode = await main(Deno.args, output);
  } catch (error) {
    output.endProgress();
    output.event({ type: "error", message: errorMessage(error), fatal: true });
    output.problem(`client: ${errorMessage(error)}`, true);
    Deno.exitCode = exitStatusOf(error);
  }
}
