/**
 * Sends files and folders to a running `server.ts`, or gets the files a
 * server shares.
 *
 *     deno run -A client.ts [HOST[:PORT]] PATH...
 *     deno run -A client.ts --get [HOST[:PORT]] [--dir DIR]
 *     producer | deno run -A client.ts [HOST] - --name NAME
 *
 * @module
 */

import {
  EXIT_FAILED,
  EXIT_OK,
  exitStatusOf,
  parseFlags,
  versionLine,
} from "./lib/cli/cli.ts";
import { clientHelp } from "./lib/cli/client_help.ts";
import {
  type Direction,
  showClientEvent,
  showRetry,
  showSummary,
} from "./lib/cli/client_display.ts";
import {
  CODE_ENV,
  codeFromSources,
  promptForCode,
} from "./lib/cli/code_input.ts";
import { Output, outputModeOf, verboseOf } from "./lib/cli/console_output.ts";
import { explain } from "./lib/cli/explain.ts";
import { connectingNotice } from "./lib/cli/connecting.ts";
import { exitOnInterrupt, type Interrupt } from "./lib/cli/interrupt.ts";
import {
  differentChoice,
  parseCompress,
  parseCount,
  parseDuration,
} from "./lib/cli/flags.ts";
import { findServers, type ServerQueue } from "./lib/cli/find_server.ts";
import { explainConnectFailure, readTargets } from "./lib/cli/targets.ts";
import { errorMessage, UsageError } from "./lib/common/errors.ts";
import { parsePort } from "./lib/net/address.ts";
import { HandshakeError } from "./lib/secure/handshake.ts";
import { deriveCodeScalar } from "./lib/secure/pake.ts";
import { scanSources } from "./lib/store/scan.ts";
import {
  type AttemptOptions,
  type ClientJob,
  runWithRetries,
  sendJob,
} from "./lib/transfer/attempts.ts";
import { type SendResult, SendRun } from "./lib/transfer/send_run.ts";
import { MAX_ENTRIES } from "./protocol.ts";
import { boundHeapSoon } from "./lib/common/heap_bound.ts";

/** Bytes one download may bring at most: what a server takes by default. */
const MAX_GET_SIZE = 2 ** 40;

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

async function main(
  args: string[],
  output: Output,
  interrupt: Interrupt,
): Promise<number> {
  const { values, positionals } = parseFlags({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      get: { type: "boolean", default: false },
      dir: { type: "string" },
      overwrite: { type: "boolean", default: false },
      rename: { type: "boolean", default: false },
      "skip-existing": { type: "boolean", default: false },
      "keep-partial": { type: "string" },
      code: { type: "string" },
      "code-file": { type: "string" },
      name: { type: "string" },
      compress: { type: "string" },
      tls: { type: "boolean", default: false },
      ca: { type: "string" },
      "discovery-port": { type: "string" },
      retries: { type: "string", default: "5" },
      "idle-timeout": { type: "string", default: "30" },
      "connect-timeout": { type: "string", default: "10" },
      json: { type: "boolean", default: false },
      quiet: { type: "boolean", short: "q", default: false },
      verbose: { type: "boolean", short: "v", default: false },
      version: { type: "boolean", short: "V", default: false },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(clientHelp());
    return EXIT_OK;
  }
  if (values.version) {
    console.log(versionLine("ft-client"));
    return EXIT_OK;
  }
  const get = values.get;
  const getOnly = [
    values.dir !== undefined && "--dir",
    values.overwrite && "--overwrite",
    values["keep-partial"] !== undefined && "--keep-partial",
  ].find(Boolean);
  if (!get && getOnly) {
    throw new UsageError(
      getOnly === "--overwrite"
        ? "--overwrite only applies with --get: a server replaces the files it receives only when started with --overwrite (--rename keeps both)"
        : `${getOnly} only applies with --get`,
    );
  }
  const ifDifferent = differentChoice(values);
  // What only --get needs is loaded only for it: the destination, the
  // receiver and node:fs cost a plain send 12 ms of CPU at start, which
  // 50 clients starting at once on 2 cores all pay.
  const partials = get ? await import("./lib/cli/partials.ts") : null;
  const keepPartialMs = partials === null ? 0 : parseDuration(
    values["keep-partial"] ?? partials.DEFAULT_KEEP_PARTIAL,
    "--keep-partial",
    "d",
  ) * 1000;
  const compress = parseCompress(
    values.compress,
    !get,
    "only applies when sending: with --get, the server's --compress decides",
  );
  const retries = parseCount(values.retries, "--retries", 1000);
  const idleTimeout = parseDuration(values["idle-timeout"], "--idle-timeout");
  const connectTimeout = parseDuration(
    values["connect-timeout"],
    "--connect-timeout",
  );
  const targets = readTargets(positionals, get);
  const discoveryPort = values["discovery-port"] === undefined
    ? undefined
    : parsePort(values["discovery-port"]);
  if (discoveryPort !== undefined && targets.server !== undefined) {
    throw new UsageError(
      "--discovery-port does not apply when the server's address is given",
    );
  }
  if (values.ca !== undefined && !values.tls) {
    throw new UsageError("--ca only applies with --tls");
  }
  const stdinCount = targets.paths.filter((path) => path === "-").length;
  if (stdinCount > 1) {
    throw new UsageError("Standard input (-) can be sent once");
  }
  if (values.name !== undefined && stdinCount === 0) {
    throw new UsageError("--name only applies when sending standard input (-)");
  }
  const stdinName = stdinCount > 0 ? checkStdinName(values.name) : null;
  // Before the code is asked for: a folder it cannot write says so at once.
  const root = get
    ? await (await import("./lib/store/destination.ts")).DestinationRoot.open(
      values.dir ?? ".",
      values.overwrite,
      undefined,
      "client",
      ifDifferent,
    )
    : null;
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
  const direction: Direction = get ? "get" : "send";
  const connection = {
    tls: values.tls ? { caFile: values.ca } : undefined,
    password,
    retries,
    retryWaitMs: 1000,
    idleTimeoutMs: idleTimeout * 1000,
    connectTimeoutMs: connectTimeout * 1000,
    onSlowConnect: connectingNotice(output),
    onRetry: (error: unknown, waitMs: number, retry: number) =>
      showRetry(output, error, waitMs, retry, retries),
  };
  const servers = () =>
    findServers(output, targets, {
      code,
      get,
      tls: values.tls,
      udpPort: discoveryPort,
    });
  if (root !== null) {
    const { receiveJob, ReceiveRun } = await import(
      "./lib/transfer/receive_run.ts"
    );
    try {
      for (const message of root.warnings()) {
        showClientEvent(output, { type: "warning", message });
      }
      partials!.cleanPartials(root, keepPartialMs, output, false);
      const run = new ReceiveRun(
        root,
        (event) => showClientEvent(output, event, direction),
      );
      const job = receiveJob(run, {
        maxEntries: MAX_ENTRIES,
        maxBytes: MAX_GET_SIZE,
      });
      return await transfer(output, job, await servers(), connection, null);
    } finally {
      root.close();
    }
  }
  const stdin = stdinName === null
    ? null
    : await (await import("./lib/store/stdin_spool.ts")).copyStdin(stdinName);
  if (stdin !== null) interrupt.atExit(() => stdin.remove());
  try {
    const scan = await scanSources(
      targets.paths.map((path) => path === "-" ? stdin!.path : path),
    );
    for (const message of scan.warnings) {
      showClientEvent(output, { type: "warning", message });
    }
    const run = new SendRun(
      scan.entries,
      (event) => showClientEvent(output, event, direction),
      ifDifferent,
      compress,
    );
    const { files } = scan.entries.fileTotals();
    return await transfer(
      output,
      sendJob(run),
      await servers(),
      connection,
      files,
      scan.unsent,
    ).catch((error) => {
      throw explainConnectFailure(targets, error);
    });
  } finally {
    stdin?.remove();
  }
}

/**
 * Runs `job` against the first of `servers` that has the code (a server
 * found on the network with the same number but another code costs one
 * failed guess there, and the next is tried), and reports the outcome;
 * resolves to the exit status.
 */
async function transfer(
  output: Output,
  job: ClientJob<SendResult>,
  servers: ServerQueue,
  connection: Omit<AttemptOptions, "host" | "port">,
  files: number | null,
  unsent: readonly string[] = [],
): Promise<number> {
  const started = performance.now();
  let result: SendResult;
  let server = await servers.next();
  for (;;) {
    try {
      result = await runWithRetries(job, { ...server!, ...connection });
      break;
    } catch (error) {
      if (!(error instanceof HandshakeError)) throw error;
      const next = await servers.next();
      if (next === null) throw error;
      output.problem(
        `${errorMessage(error)} (${
          server!.host
        }); trying the next server found`,
      );
      server = next;
    }
  }
  output.endProgress();
  const seconds = (performance.now() - started) / 1000;
  const direction = files === null ? "get" : "send";
  showSummary(output, result!, files, seconds, direction, unsent);
  return result!.failed === 0 && unsent.length === 0 ? EXIT_OK : EXIT_FAILED;
}

if (import.meta.main) {
  // A long session of small files would otherwise let V8 grow the heap to
  // several times what is live (lib/common/heap_bound.ts).
  boundHeapSoon();
  const output = new Output({
    mode: outputModeOf(Deno.args),
    progress: true,
    verbose: verboseOf(Deno.args),
  });
  const interrupt = exitOnInterrupt(output);
  try {
    Deno.exitCode = await main(Deno.args, output, interrupt);
  } catch (error) {
    output.endProgress();
    const message = explain(error);
    output.event({ type: "error", message, fatal: true });
    output.problem(`client: ${message}`, true);
    Deno.exitCode = exitStatusOf(error);
  }
}
