/**
 * What a TLS server tells its user about its certificate at the start:
 * what clients will refuse in it, and whether they need `--ca`.
 *
 * @module
 */

import { checkCertificate } from "../net/certificate.ts";
import type { Output } from "./console_output.ts";

/**
 * Reads the certificate at `certFile`, warns of what clients connecting to
 * `addresses` (with their ports, as the instructions give them) will
 * refuse, and returns what they give `--ca`, or null when they need none.
 */
export async function tlsAdvice(
  output: Output,
  certFile: string,
  addresses: readonly string[],
): Promise<string | null> {
  const hosts = addresses.map((address) =>
    address.startsWith("[")
      ? address.slice(1, address.indexOf("]"))
      : address.replace(/:\d+$/, "")
  );
  const check = checkCertificate(
    await Deno.readTextFile(certFile),
    certFile,
    hosts,
  );
  for (const message of check.warnings) {
    output.event({ type: "warning", message });
    output.problem(`warning: ${message}`);
  }
  return check.ca;
}
