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
} from "./lib/cli/cli.ts";
import { CODE_ENV } from "./lib/cli/code_input.ts";
import { restartLine, serverCode } from "./lib/cli/server_code.ts";
import { Output, outputModeOf, verboseOf } from "./lib/cli/console_output.ts";
import { explain } from "./lib/cli/explain.ts";
import { showServerEvent } from "./lib/cli/server_display.ts";
import { startDiscovery } from "./lib/cli/server_discovery.ts";
import { showInstructions } from "./lib/cli/server_instructions.ts";
import { cleanPartials, DEFAULT_KEEP_PARTIAL } from "./lib/cli/partials.ts";
import { tlsAdvice } from "./lib/cli/tls_advice.ts";
import {
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_MEMORY,
  DEFAULT_MAX_SIZE,
  serverHelp,
} from "./lib/cli/server_help.ts";
import { Destination, DestinationRoot } from "./lib/store/destination.ts";
import { UsageError } from "./lib/common/errors.ts";
import { codeToScalar } from "./lib/secure/pake.ts";
import { serve } from "./lib/transfer/serve.ts";
import { StdoutStore } from "./lib/store/stdout_store.ts";
import { listen } from "./lib/net/transport.ts";
import { DEFAULT_PORT, MAX_ENTRIES } from "./protocol.ts";
import {
  parseCompress,
  parseCount,
  parseDuration,
  parseSize,
} from "./lib/cli/flags.ts";
import { formatBytes } from "./lib/common/format.ts";
import { MemoryBudget } from "./lib/transfer/memory_budget.ts";
import { type LocalEntries, scanSources } from "./lib/store/scan.ts";
import { boundHeapSoon } from "./lib/common/heap_bound.ts";

/** The least --max-memory that still takes an ordinary session. */
const MIN_MAX_MEMORY = 32 * 1024 * 1024;

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

/** Refuses flags that do not go with --share, or --share without paths. */
function checkShareFlags(
  values: Record<string, unknown>,
  positionals: readonly string[],
): void {
  if (!values.share) {
    if (positionals.length > 0) {
      throw new UsageError(
        `Unexpected argument ${
          positionals[0]
        }: to share files, give --share before them`,
      );
    }
    if (values["keep-sharing"]) {
      throw new UsageError("--keep-sharing only applies with --share");
    }
    return;
  }
  if (positionals.length === 0) {
    throw new UsageError("--share needs the files or folders to share");
  }
  for (const flag of ["dir", "once", "stdout", "overwrite"]) {
    if (values[flag] !== undefined && values[flag] !== false) {
      throw new UsageError(
        flag === "once"
          ? "--once does not go with --share: a sharing server already stops after the first complete download (--keep-sharing keeps it sharing)"
          : `--${flag} does not go with --share: a sharing server writes nothing`,
      );
    }
  }
}

/** A few words on what is shared: how many files, and how large. */
function describeShare(entries: LocalEntries): string {
  const { files, bytes } = entries.fileTotals();
  return `${files} ${files === 1 ? "file" : "files"} (${formatBytes(bytes)})`;
}

async function main(args: string[], output: Output): Promise<number> {
  const { values, positionals } = parseFlags({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      share: { type: "boolean", default: false },
      "keep-sharing": { type: "boolean", default: false },
      "no-discover": { type: "boolean", default: false },
      "discovery-port": { type: "string" },
      compress: { type: "string" },
      host: { type: "string", default: "0.0.0.0" },
      port: { type: "string", default: String(DEFAULT_PORT) },
      dir: { type: "string" },
      once: { type: "boolean", default: false },
      stdout: { type: "boolean", default: false },
      overwrite: { type: "boolean", default: false },
      code: { type: "string" },
      "code-file": { type: "string" },
      "new-code": { type: "boolean", default: false },
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
      "keep-partial": { type: "string", default: DEFAULT_KEEP_PARTIAL },
      json: { type: "boolean", default: false },
      quiet: { type: "boolean", short: "q", default: false },
      verbose: { type: "boolean", short: "v", default: false },
      version: { type: "boolean", short: "V", default: false },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(serverHelp());
    return EXIT_OK;
  }
  if (values.version) {
    console.log(versionLine("ft-server"));
    return EXIT_OK;
  }
  const sharing = values.share;
  checkShareFlags(values, positionals);
  const compress = parseCompress(
    values.compress,
    sharing,
    "only applies with --share: a receiving server takes what the client sends",
  );
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
  const discoveryPort = values["discovery-port"] === undefined
    ? undefined
    : parsePort(values["discovery-port"]);
  if (values["no-discover"] && discoveryPort !== undefined) {
    throw new UsageError("--discovery-port does not apply with --no-discover");
  }
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
  const shared = sharing ? await scanSources(positionals, "share") : null;
  const root = values.stdout || sharing
    ? null
    : await DestinationRoot.open(values.dir ?? "received", values.overwrite);
  const codeChoice = await serverCode(values, root, output);
  const { code } = codeChoice;
  const given = codeChoice.givenBy === null ? undefined : code;
  const password = codeToScalar(code);
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
    ...(shared === null ? {} : { shared: shared.entries.length }),
    tls: tls !== undefined,
    addresses,
    code: given === undefined ? code : null,
  });
  const secured = tls ? " with TLS" : "";
  output.info(
    `Listening on ${formatHostPort(values.host, actualPort)}${secured}, ${
      shared !== null
        ? `sharing ${describeShare(shared.entries)}`
        : root === null
        ? "writing the file to standard output"
        : `saving into ${root.path}`
    }`,
  );
  // A code given to the server stays out of its output, which often ends
  // up in logs; only a code it made up is shown.
  output.info(
    given === undefined
      ? `Code: ${code}`
      : `Code: the one given with ${codeChoice.givenBy} (clients need the same)`,
  );
  if (codeChoice.reused) {
    output.info(
      `(the code of the last start, kept in ${codeChoice.keptIn}; --new-code makes another)`,
    );
  }
  const responder = values["no-discover"] ? null : await startDiscovery(
    output,
    {
      code,
      host: values.host,
      port: actualPort,
      tls: tls !== undefined,
      shares: shared !== null,
      udpPort: discoveryPort,
    },
  );
  const ca = tls === undefined
    ? null
    : await tlsAdvice(output, tls.certFile, addresses);
  showInstructions(output, {
    codePrefix: given === undefined ? `${CODE_ENV}=${code} ` : "",
    tls: tls !== undefined,
    ca,
    task: shared !== null ? "get" : root === null ? "pipe" : "send",
    addresses,
    discoverable: responder !== null,
  });
  if (shared !== null) {
    for (const message of shared.warnings) {
      output.event({ type: "warning", message });
      output.problem(`warning: ${message}`);
    }
  }
  if (root !== null) {
    for (const message of root.warnings()) {
      output.event({ type: "warning", message });
      output.problem(`warning: ${message}`);
    }
    cleanPartials(root, keepPartialMs, output, true);
  }
  const stdoutStore = root === null ? new StdoutStore() : null;
  await using _discovery = responder;
  const signal = stopSignal(output);
  const status = await serve(listener, {
    work: shared !== null
      ? {
        kind: "share",
        entries: shared.entries,
        untilDownloaded: !values["keep-sharing"],
        compress,
      }
      : {
        kind: "receive",
        store: () => stdoutStore ?? new Destination(root!),
        limits,
        budget: new MemoryBudget(maxMemory),
        once: values.once,
      },
    password,
    tls: tls !== undefined,
    report: (event) => showServerEvent(output, event, shared !== null),
    maxConnections: Math.max(1, maxConnections),
    idleTimeoutMs,
    signal,
  });
  if (signal.aborted) {
    output.problem(
      `server: stopped; ${restartLine(codeChoice, args, actualPort)}`,
    );
  }
  return status;
}

if (import.meta.main) {
  // A long session of small files would otherwise let V8 grow the heap to
  // several times what is live (lib/common/heap_bound.ts).
  boundHeapSoon();
  const output = new Output({
    mode: outputModeOf(Deno.args),
    stdoutTaken: Deno.args.includes("--stdout"),
    progress: true,
    verbose: verboseOf(Deno.args),
  });
  try {
    Deno.exitCode = await main(Deno.args, output);
    // A session cut off by the stop may not have ended its live line.
    output.endProgress();
  } catch (error) {
    output.endProgress();
    const message = explain(error);
    output.event({ type: "error", message, fatal: true });
    output.problem(`server: ${message}`, true);
    Deno.exitCode = exitStatusOf(error);
  }
}
