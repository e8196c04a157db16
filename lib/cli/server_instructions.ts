/**
 * What a server tells its user to type on the other side: the client
 * command with the code only, where the client can find the server on
 * the network, then with each address, other machines' first and this
 * machine's apart, so that no one copies the 127.0.0.1 line to another
 * machine.
 *
 * @module
 */

import { isLoopback } from "../net/address.ts";
import { commandFor } from "./cli.ts";
import type { Output } from "./console_output.ts";

/** What the client on the other side does. */
export type ClientTask = "send" | "pipe" | "get";

/** How the instructions are worded. */
export interface Instructions {
  /** `FT_CODE=... ` when the server made the code up, else "". */
  codePrefix: string;
  /** Whether the client needs --tls. */
  tls: boolean;
  /** What the client gives --ca, when it needs one. */
  ca?: string | null;
  /** What the client does. */
  task: ClientTask;
  /** Addresses with their ports, as the client takes them. */
  addresses: readonly string[];
  /** Whether clients can find this server by its code on the network. */
  discoverable: boolean;
}

const HEADINGS: Record<ClientTask, string> = {
  send: "send files with",
  pipe: "pipe one file in with",
  get: "get them with",
};

/** Prints the commands for the other side. */
export function showInstructions(output: Output, how: Instructions): void {
  const ca = how.tls && how.ca ? ` --ca ${how.ca}` : "";
  const flags = `${how.tls ? " --tls" : ""}${ca}${
    how.task === "get" ? " --get" : ""
  }`;
  const what = how.task === "send"
    ? " FILE..."
    : how.task === "pipe"
    ? " - --name NAME"
    : "";
  const command = (address: string) =>
    `  ${how.codePrefix}${commandFor("client")}${flags}${
      address === "" ? "" : ` ${address}`
    }${what}`;
  const remote = how.addresses.filter((address) => !isHost(address));
  const local = how.addresses.filter(isHost);
  const heading = HEADINGS[how.task];
  if (how.discoverable) {
    output.info(`On another machine of this network, ${heading}:`);
    output.info(command(""));
    if (remote.length > 0) {
      output.info(
        "or, where that does not find this server, with its address:",
      );
    }
  } else if (remote.length > 0) {
    output.info(`On another machine, ${heading}:`);
  }
  for (const address of remote) output.info(command(address));
  if (local.length > 0) {
    output.info(`On this machine, ${heading}:`);
    for (const address of local) output.info(command(address));
  }
  if (ca !== "" && remote.length + (how.discoverable ? 1 : 0) > 0) {
    output.info(
      `(copy ${how.ca} to the other machine first: a certificate holds no secret)`,
    );
  }
}

/** Whether `address` (with its port) reaches this machine only. */
function isHost(address: string): boolean {
  const host = address.startsWith("[")
    ? address.slice(1, address.indexOf("]"))
    : address.replace(/:\d+$/, "");
  return isLoopback(host) || host === "localhost";
}
