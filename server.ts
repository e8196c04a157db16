/**
 * Receives files and folders sent with `client.ts`.
 *
 *     deno run -A server.ts [--host 0.0.0.0] [--port 65432] [--dir ./received]
 *
 * @module
 */

import {
  formatHostPort,
  parsePort,
  reachableAddresses,
} from "./lib/net/address.ts";
import {
  commandFor,
  EXIT_INTERRUPTED,
  EXIT_OK,
  exitStatusOf,
  parseFlags,
  versionLine,
  withCommands,
} from "./lib/cli/cli.ts";
import { generateCode } from "./lib/secure/code.ts";
import { CODE_ENV, codeFromSources } from "./lib/cli/code_input.ts";
import { Output, outputModeOf } from "./lib/cli/console_output.ts";
import { showServerEvent } from "./lib/cli/server_display.ts";
import { Destination, DestinationRoot } from "./lib/store/destination.ts";
import { errorMessage, UsageError } from "./lib/common/errors.ts";
import { codeToScalar } from "./lib/secure/pake.ts";
import { serve } from "./lib/transfer/serve.ts";
import { StdoutStore } from "./lib/store/stdout_store.ts";
import { listen } from "./lib/net/transport.ts";
import { DEFAULT_PORT, MAX_ENTRIES } from "./protocol.ts";
import { parseCount, parseDuration, parseSize } from "./lib/cli/flags.ts";
import { formatBytes } from "./lib/common/format.ts";
import { removeStalePartials } from "./lib/store/partial_cleanup.ts";
import { MemoryBudget } from "./lib/transfer/memory_budget.ts";

/** Clients served at once unless --max-connections says otherwise. */
const DEFAULT_MAX_CONNECTIONS = 64;

/** Bytes one session may send unless --max-size says otherwise. */
const DEFAULT_MAX_SIZE = 2 ** 40;

/** Memory all sessions' file lists may take unless --max-memory says otherwise. */
const DEFAULT_MAX_MEMORY = 512 * 1024 * 1024;

/** The least --max-memory that still takes an ordinary session. */
const MIN_MAX_MEMORY = 32 * 1024 * 1024;

const HELP = `Receive files and folders sent with client.ts.

Usage: deno run -A server.ts [options]

A short code authenticates clients and keys the encrypted channel. Unless
one is given, the server makes one up and prints it with the client command.
It stays valid for as long as the server runs.

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
      --code-file F   Read the code from the first line of file F
      --code CODE     Use CODE (other local users can see it in the process
                      list: prefer ${CODE_ENV} or --code-file)
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
  -q, --quiet         Print errors only
  -V, --version       Show the version
  -h, --help          Show this help

Data is gathered in .ft-staging inside --dir, a folder only the server's
user may enter, and moved to its name once verified; an interrupted file
is kept there, and the client resumes it. SIGINT or SIGTERM stops the server: it takes no
new connections, keeps what arrived and exits 0; a second signal exits at
once.

Environment:
  ${CODE_ENV}             The code, when neither --code nor --code-file is given

Examples:
  deno run -A server.ts                        receive into ./received on port ${DEFAULT_PORT}
  deno run -A server.ts --dir ~/inbox --once   one transfer, then exit
  deno run -A server.ts --once --stdout | tar x   unpack what a client pipes in
  deno run -A server.ts --json --port 0 | jq -c 'select(.type=="listening")'
  ${CODE_ENV}=4071-apple-river-stone deno run -A server.ts --cert c.pem --key k.pem

Exit status: 0 on success (with --once: every file verified), 1 on errors,
2 for usage errors, 130 when a second signal stopped it at once.`;

/** How often kept data is checked for its age while the server runs. */
const CLEANUP_INTERVAL_MS = 6 * 3600 * 1000;

/**
 * Deletes kept data older than `maxAgeMs` now and every few hours, in the
 * background; says so when it removed or could not remove something.
 */
function cleanPartials(
  root: DestinationRoot,
  maxAgeMs: number,
  output: Output,
): void {
  const warn = (message: string) => {
    output.event({ type: "warning", message });
    output.problem(`warning: ${message}`);
  };
  const sweep = () => {
    try {
      const result = removeStalePartials(
        root.staging,
        maxAgeMs,
        (id) => root.isStagedInUse(id),
      );
      if (result.removed > 0) {
        output.info(
          `Removed ${result.removed} unfinished files (${
            formatBytes(result.bytes)
          }) kept for longer than --keep-partial`,
        );
      }
      for (const error of result.errors) warn(error);
    } catch (error) {
      warn(`cannot clean up unfinished files: ${errorMessage(error)}`);
    }
  };
  sweep();
  Deno.unrefTimer(setInterval(sweep, CLEANUP_INTERVAL_MS));
}

/**
 * Aborts on the first SIGINT or SIGTERM, so that the server stops
 * gracefully; a second one exits at once.
 */
function stopSignal(output: Output): AbortSignal {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) {
      output.problem("server: stopping now");
      Deno.exit(EXIT_INTERRUPTED);
    }
    output.problem(
      "server: stopping: no new connections, unfinished files are kept (again to quit at once)",
    );
    controller.abort();
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(signal, onSignal);
    } catch {
      // Windows has no SIGTERM; Ctrl+C still arrives as SIGINT.
    }
  }
  return controller.signal;
}

async function main(args: string[], output: Output): Promise<number> {
  const { values } = parseFlags({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      host: { type: "string", default: "0.0.0.0" },
      port: { type: "string", default: String(DEFAULT_PORT) },
      dir: { type: "string", default: "received" },
      once: { type: "boolean", default: false },
      stdout: { type: "boolean", default: false },
      overwrite: { type: "boolean", default: false },
      code: { type: "string" },
      "code-file": { type: "string" },
      cert: { type: "string" },
      key: { type: "string" },
      "max-connections": {
        type: "string",
        default: String(DEFAULT_MAX_CONNECTIONS),
      },
      "max-entries": { type: "string", default: String(MAX_ENTRIES) },
      "max-size": { type: "string", default: String(DEFAULT_MAX_SIZE) },
      "max-memory": { type: "string", default: String(DEFAULT_MAX_MEMORY) },
      "idle-timeout": { type: "string", default: "30" },
      "keep-partial": { type: "string", default: "7d" },
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
    console.log(versionLine("ft-server"));
    return EXIT_OK;
  }
  if (values.stdout && !values.once) {
    throw new UsageError(
      "--stdout needs --once: standard output takes a single transfer",
    );
  }
  if (values.stdout && values.json) {
    throw new UsageError(
      "--stdout and --json both want standard output: choose one",
    );
  }
  if (values.stdout && Deno.stdout.isTerminal()) {
    // The peer's bytes would drive the terminal: escape codes, even input.
    throw new UsageError(
      `Standard output is a terminal: with --stdout, redirect or pipe it, as in: ${
        commandFor("server")
      } --once --stdout > FILE`,
    );
  }
  const port = parsePort(values.port, true);
  const maxConnections = parseCount(
    values["max-connections"],
    "--max-connections",
    100_000,
  );
  const limits = {
    maxEntries: parseCount(values["max-entries"], "--max-entries", MAX_ENTRIES),
    maxBytes: parseSize(values["max-size"], "--max-size"),
  };
  const maxMemory = parseSize(values["max-memory"], "--max-memory");
  if (maxMemory < MIN_MAX_MEMORY) {
    throw new UsageError(
      `--max-memory must be at least ${formatBytes(MIN_MAX_MEMORY)}`,
    );
  }
  const idleTimeoutMs =
    parseDuration(values["idle-timeout"], "--idle-timeout") * 1000;
  const keepPartialMs =
    parseDuration(values["keep-partial"], "--keep-partial", "d") * 1000;
  if ((values.cert === undefined) !== (values.key === undefined)) {
    throw new UsageError("--cert and --key go together");
  }
  const tls = values.cert === undefined
    ? undefined
    : { certFile: values.cert, keyFile: values.key! };
  const given = await codeFromSources({
    code: values.code,
    codeFile: values["code-file"],
  });
  const code = given ?? generateCode();
  const password = codeToScalar(code);
  const root = values.stdout
    ? null
    : await DestinationRoot.open(values.dir, values.overwrite);
  const listener = await listen(values.host, port, tls);
  const actualPort = (listener.addr as Deno.NetAddr).port;
  const portSuffix = actualPort === DEFAULT_PORT ? "" : `:${actualPort}`;
  const addresses = reachableAddresses(values.host).map((address) =>
    `${address.includes(":") ? `[${address}]` : address}${portSuffix}`
  );
  output.event({
    type: "listening",
    host: values.host,
    port: actualPort,
    dir: root?.path ?? null,
    tls: tls !== undefined,
    addresses,
    code: given === undefined ? code : null,
  });
  const secured = tls ? " with TLS" : "";
  output.info(
    `Listening on ${formatHostPort(values.host, actualPort)}${secured}, ${
      root === null
        ? "writing the file to standard output"
        : `saving into ${root.path}`
    }`,
  );
  // A code given to the server stays out of its output, which often ends
  // up in logs; only a code it made up is shown.
  output.info(
    given === undefined
      ? `Code: ${code}`
      : `Code: the one given with ${
        values.code !== undefined
          ? "--code"
          : values["code-file"] !== undefined
          ? "--code-file"
          : CODE_ENV
      } (clients need the same)`,
  );
  const codePrefix = given === undefined ? `${CODE_ENV}=${code} ` : "";
  const tlsFlag = tls ? " --tls" : "";
  const what = root === null ? " - --name NAME" : " FILE...";
  output.info(root === null ? "Pipe one file in with:" : "Send files with:");
  for (const address of addresses) {
    output.info(
      `  ${codePrefix}${commandFor("client")}${tlsFlag} ${address}${what}`,
    );
  }
  if (root !== null) {
    for (const message of root.warnings()) {
      output.event({ type: "warning", message });
      output.problem(`warning: ${message}`);
    }
    cleanPartials(root, keepPartialMs, output);
  }
  const stdoutStore = root === null ? new StdoutStore() : null;
  return await serve(listener, {
    store: () => stdoutStore ?? new Destination(root!),
    password,
    tls: tls !== undefined,
    report: (event) => showServerEvent(output, event),
    once: values.once,
    maxConnections: Math.max(1, maxConnections),
    idleTimeoutMs,
    limits,
    budget: new MemoryBudget(maxMemory),
    signal: stopSignal(output),
  });
}

if (import.meta.main) {
  const output = new Output({
    mode: outputModeOf(Deno.args),
    stdoutTaken: Deno.args.includes("--stdout"),
  });
  try {
    Deno.exitCode = await main(Deno.args, output);
  } catch (error) {
    output.event({ type: "error", message: errorMessage(error), fatal: true });
    output.problem(`server: ${errorMessage(error)}`, true);
    Deno.exitCode = exitStatusOf(error);
  }
}
