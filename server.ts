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
import { Destination, prepareDestination } from "./lib/destination.ts";
import { errorMessage, UsageError } from "./lib/errors.ts";
import type { TransferEvent } from "./lib/events.ts";
import { formatBytes, shortHash } from "./lib/format.ts";
import { establishChannel } from "./lib/handshake.ts";
import { receiveSession } from "./lib/receiver.ts";
import { listen } from "./lib/transport.ts";
import { DEFAULT_PORT, Role } from "./protocol.ts";

const HELP = `Receive files and folders sent with client.ts.

Usage: deno run -A server.ts [options]

Options:
      --host ADDR   Address to listen on (default 0.0.0.0, all IPv4 interfaces;
                    use :: for IPv6 as well)
      --port N      TCP port (default ${DEFAULT_PORT}; 0 picks a free one)
      --dir PATH    Folder to save into (default ./received)
      --once        Exit after the first session; exit status 0 only if every
                    file of it was verified
      --overwrite   Replace an existing file whose content differs
  -h, --help        Show this help

Examples:
  deno run -A server.ts                        receive into ./received on port ${DEFAULT_PORT}
  deno run -A server.ts --dir ~/inbox --once   one transfer, then exit

Exit status: 0 on success, 1 on errors, 2 for usage errors.`;

function logger(peer: string): (event: TransferEvent) => void {
  return (event) => {
    switch (event.type) {
      case "file-verified":
        console.log(
          `[${peer}] received ${event.path} (${
            formatBytes(event.size)
          }, sha256 ${shortHash(event.sha256)})`,
        );
        break;
      case "file-skipped":
        console.log(`[${peer}] already there: ${event.path}`);
        break;
      case "file-failed":
        console.error(`[${peer}] failed ${event.path}: ${event.message}`);
        break;
    }
  };
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
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const port = parsePort(values.port, true);
  const root = await prepareDestination(values.dir);
  const listener = listen(values.host, port);
  const actualPort = (listener.addr as Deno.NetAddr).port;
  console.log(
    `Listening on ${
      formatHostPort(values.host, actualPort)
    }, saving into ${root}`,
  );
  const portSuffix = actualPort === DEFAULT_PORT ? "" : `:${actualPort}`;
  console.log("Send files with:");
  for (const address of reachableAddresses(values.host)) {
    const host = address.includes(":") ? `[${address}]` : address;
    console.log(`  deno run -A client.ts ${host}${portSuffix} FILE...`);
  }

  let onceResult = 1;
  for await (const conn of listener) {
    const remote = conn.remoteAddr as Deno.NetAddr;
    const peer = formatHostPort(remote.hostname, remote.port);
    conn.setNoDelay(true);
    const session = (async () => {
      console.log(`[${peer}] connected`);
      const channel = await establishChannel(conn, {
        role: Role.Receiver,
        flushBeforeBlocking: true,
      });
      try {
        const result = await receiveSession(
          channel,
          new Destination(root, values.overwrite),
          logger(peer),
        );
        console.log(
          `[${peer}] done: ${result.verified} verified, ${result.failed} failed, ${
            formatBytes(result.bytes)
          } received`,
        );
        return result.failed === 0 ? 0 : 1;
      } finally {
        channel.close();
      }
    })().catch((error) => {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
      console.error(`[${peer}] error: ${errorMessage(error)}`);
      return 1;
    });
    if (values.once) {
      onceResult = await session;
      break;
    }
  }
  try {
    listener.close();
  } catch {
    // Leaving the loop early may already have closed it.
  }
  return onceResult;
}

if (import.meta.main) {
  try {
    Deno.exitCode = await main(Deno.args);
  } catch (error) {
    const usage = error instanceof UsageError ||
      (error instanceof TypeError && "code" in error &&
        String(error.code).startsWith("ERR_PARSE_ARGS"));
    console.error(`server: ${errorMessage(error)}`);
    Deno.exitCode = usage ? 2 : 1;
  }
}
