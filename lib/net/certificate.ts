/**
 * What the server can tell of its own certificate before any client
 * tries it: whether clients will refuse it (a CA certificate used as the
 * server's own, no subjectAltName for the addresses it is reached at), and
 * whether they need `--ca` to trust it.
 *
 * @module
 */

import { X509Certificate } from "node:crypto";
import { rootCertificates } from "node:tls";
import { isIP } from "node:net";

/** What the server's certificate file says to a client. */
export interface CertificateCheck {
  /** Problems clients will hit, each a line with the way out. */
  warnings: string[];
  /**
   * What a client gives `--ca` to trust the certificate: `certFile` when
   * the file holds a self-signed certificate at the top of its chain,
   * null when an authority the systems trust signed it, or a placeholder
   * naming the authority the server does not have.
   */
  ca: string | null;
}

/** The certificates of a PEM file, first (the server's own) to last. */
function certificatesOf(pem: string): X509Certificate[] {
  const blocks = pem.match(
    /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g,
  ) ?? [];
  return blocks.map((block) => new X509Certificate(block));
}

let trustedSubjects: Set<string> | undefined;

/** The subjects of the authorities TLS clients trust by default. */
function trusted(): Set<string> {
  trustedSubjects ??= new Set(
    rootCertificates.map((root) => new X509Certificate(root).subject),
  );
  return trustedSubjects;
}

/** Whether `cert` names `address` (an IP address or a host name) in its subjectAltName. */
function covers(cert: X509Certificate, address: string): boolean {
  const names = cert.subjectAltName ?? "";
  if (isIP(address) !== 0) {
    // X509Certificate.checkIP reads only the subjectAltName.
    return cert.checkIP(address) !== undefined;
  }
  return names.split(", ").some((name) => {
    if (!name.startsWith("DNS:")) return false;
    const pattern = name.slice(4).toLowerCase();
    const host = address.toLowerCase();
    return pattern === host ||
      (pattern.startsWith("*.") &&
        host.slice(host.indexOf(".")) === pattern.slice(1));
  });
}

/**
 * Checks the certificate chain `pem` from `certFile` against the
 * `addresses` clients are told to connect to (host names or IP addresses,
 * without ports).
 */
export function checkCertificate(
  pem: string,
  certFile: string,
  addresses: readonly string[],
): CertificateCheck {
  let chain: X509Certificate[];
  try {
    chain = certificatesOf(pem);
  } catch {
    return { warnings: [], ca: certFile };
  }
  if (chain.length === 0) return { warnings: [], ca: certFile };
  const own = chain[0];
  const warnings: string[] = [];
  if (own.ca) {
    warnings.push(
      `${certFile} is marked as a certificate authority (CA:TRUE, the default of openssl req -x509): clients refuse it as a server's certificate (CaUsedAsEndEntity); make one with basicConstraints CA:FALSE and a subjectAltName (see TLS certificates in the README)`,
    );
  }
  const missing = addresses.filter((address) =>
    !covers(own, address.replace(/%.*$/, ""))
  );
  if (missing.length > 0) {
    const names = own.subjectAltName === undefined
      ? "it has no subjectAltName"
      : `it lists only ${own.subjectAltName}`;
    warnings.push(
      `${certFile} is not made out to ${
        missing.join(", ")
      } (${names}): clients that connect there will refuse it; add them to its subjectAltName (see TLS certificates in the README)`,
    );
  }
  const top = chain[chain.length - 1];
  if (top.checkIssued(top)) return { warnings, ca: certFile };
  if (trusted().has(top.issuer)) return { warnings, ca: null };
  warnings.push(
    `${certFile} is signed by ${top.issuer}, whose certificate it does not hold and which TLS clients do not trust by default: clients need --ca with a copy of that authority's certificate (CA_FILE below)`,
  );
  return { warnings, ca: "CA_FILE" };
}
