/**
 * Receives files and folders sent with `client.ts`.
 *
 *     deno run -A server.ts [--host 0.0.0.0] [--port 65432] [--dir ./received]
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  formatHostPort,
  parsePort,
  reachableAddresses,
} from "./lib/address.ts";
import { CodeError, generateCode } from "./lib/code.ts";
import { CODE_ENV, codeFromSources } from "./lib/code_input.ts";
import { prepareDestination } from "./lib/destination.ts";
import { errorMessage, UsageError } from "./lib/errors.ts";
import { codeToScalar } from "./lib/pake.ts";
import { serve } from "./lib/serve.ts";
import { listen } from "./lib/transport.ts";
import { DEFAULT_PORT, MAX_ENTRIES } from "./protocol.ts";
import { parseCount, parseDuration, parseSize } from "./lib/flags.ts";
import { formatBytes } from "./lib/format.ts";
import { removeStalePartials } from "./lib/partial_cleanup.ts";

/** Clients served at once unless --max-connections says otherwise. */
const DEFAULT_MAX_CONNECTIONS = 64;

/** Bytes one session may send unless --max-size says otherwise. */
const DEFAULT_MAX_SIZE = 2 ** 40;

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
      --idle-timeout S  Drop a client that makes no progress for S seconds
                      (default 30)
      --keep-partial AGE  Delete data kept from interrupted transfers once
                      it is older than AGE, such as 12h or 7d (default 7d)
  -h, --help          Show this help

An interrupted file is kept, hidden as .NAME.ftpart next to where it goes,
and the client resumes it. SIGINT or SIGTERM stops the server: it takes no
new connections, keeps what arrived and exits 0; a second signal exits at
once.

Environment:
  ${CODE_ENV}             The code, when neither --code nor --code-file is given

Examples:
  deno run -A server.ts                        receive into ./received on port ${DEFAULT_PORT}
  deno run -A server.ts --dir ~/inbox --once   one transfer, then exit
  ${CODE_ENV}=4071-apple-river-stone deno run -A server.ts --cert c.pem --key k.pem

Exit status: 0 on success, 1 on errors, 2 for usage errors.`;

/** How often kept data is checked for its age while the server runs. */
const CLEANUP_INTERVAL_MS = 6 * 3600 * 1000;

/**
 * Deletes kept data older than `maxAgeMs` now and every few hours, in the
 * background; says so when it removed or could not remove something.
 */
function cleanPartials(root: string, maxAgeMs: number): void {
  const sweep = async () => {
    const result = await removeStalePartials(root, maxAgeMs);
    if (result.removed > 0) {
      console.log(
        `Removed ${result.removed} unfinished files (${
          formatBytes(result.bytes)
        }) kept for longer than --keep-partial`,
      );
    }
    for (const error of result.errors) console.error(`warning: ${error}`);
  };
  sweep().catch((error) =>
    console.error(
      `warning: cannot clean up unfinished files: ${errorMessage(error)}`,
    )
  );
  Deno.unrefTimer(
    setInterval(() => sweep().catch(() => {}), CLEANUP_INTERVAL_MS),
  );
}

/**
 * Aborts on the first SIGINT or SIGTERM, so that the server stops
 * gracefully; a second one exits at once.
 */
function stopSignal(): AbortSignal {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) {
      console.error("server: stopping now");
      Deno.exit(130);
    }
    console.error(
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

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      host: { type: "string", default: "0.0.0.0" },
      port: { type: "string", default: String(DEFAULT_PORT) },
      dir: { type: "string", default: "received" },
      once: { type: "boolean", default: false },
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
      "idle-timeout": { type: "string", default: "30" },
      "keep-partial": { type: "string", default: "7d" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
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
  const root = await prepareDestination(values.dir);
  const listener = await listen(values.host, port, tls);
  const actualPort = (listener.addr as Deno.NetAddr).port;
  const secured = tls ? " with TLS" : "";
  console.log(
    `Listening on ${
      formatHostPort(values.host, actualPort)
    }${secured}, saving into ${root}`,
  );
  // A code given to the server stays out of its output, which often ends
  // up in logs; only a code it made up is shown.
  console.log(
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
  const portSuffix = actualPort === DEFAULT_PORT ? "" : `:${actualPort}`;
  const tlsFlag = tls ? " --tls" : "";
  console.log("Send files with:");
  for (const address of reachableAddresses(values.host)) {
    const host = address.includes(":") ? `[${address}]` : address;
    console.log(
      `  ${codePrefix}deno run -A client.ts${tlsFlag} ${host}${portSuffix} FILE...`,
    );
  }
  cleanPartials(root, keepPartialMs);
  return await serve(listener, {
    root,
    password,
    overwrite: values.overwrite,
    once: values.once,
    maxConnections: Math.max(1, maxConnections),
    idleTimeoutMs,
    limits,
    signal: stopSignal(),
  });
}

if (import.meta.main) {
  try {
    Deno.exitCode = await main(Deno.args);
  } catch (error) {
    const usage = error instanceof UsageError || error instanceof CodeError ||
      (error instanceof TypeError && "code" in error &&
        String(error.code).startsWith("ERR_PARSE_ARGS"));
    console.error(`server: ${errorMessage(error)}`);
    Deno.exitCode = usage ? 2 : 1;
  }
}
