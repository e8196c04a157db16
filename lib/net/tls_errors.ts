/**
 * What a failed TLS handshake means, said with the way out: rustls names
 * its causes (`CaUsedAsEndEntity`, `UnknownIssuer`, a name the certificate
 * does not cover, `InvalidContentType` from a peer that does not speak
 * TLS), and each has one usual mistake behind it.
 *
 * @module
 */

/** Where the README says how to make a certificate that works. */
const RECIPE = "see TLS certificates in the README";

/** What the client knows of its TLS settings, for the way out. */
export interface TlsSettings {
  /** The certificate file given with --ca, if any. */
  caFile?: string;
}

/** `DnsName("localhost") or IpAddress(127.0.0.1)` as `localhost, 127.0.0.1`. */
function namesOf(list: string): string {
  const names = [...list.matchAll(/\(([^)]*)\)/g)].map((match) =>
    match[1].replace(/^"|"$/g, "")
  );
  return names.length === 0 ? list : names.join(", ");
}

/**
 * The cause of a client's failed handshake with `host`, and the way out,
 * in one line; the library's own words when the cause is not one of the
 * usual ones.
 */
export function explainTls(
  error: unknown,
  host: string,
  tls: TlsSettings,
): string {
  const text = (error instanceof Error ? error.message : String(error))
    .split("\n")[0];
  if (/CaUsedAsEndEntity/.test(text)) {
    return `the server's certificate is marked as a certificate authority (CA:TRUE, which openssl req -x509 makes by default), and TLS does not accept one as a server's own: make the certificate with basicConstraints CA:FALSE and a subjectAltName (${RECIPE})`;
  }
  const name =
    /not valid for name "([^"]*)"; certificate is only valid for (.*)$/
      .exec(text);
  if (name !== null) {
    const ip = /^[\d.]+$|:/.test(name[1]);
    return `the server's certificate is not made out to ${name[1]} (only to ${
      namesOf(name[2])
    }): connect with a name it lists, or make a certificate whose subjectAltName has ${
      ip ? "IP" : "DNS"
    }:${name[1]} (${RECIPE})`;
  }
  if (/not valid for name/.test(text)) {
    return `the server's certificate is not made out to ${host}: make one whose subjectAltName lists it (${RECIPE})`;
  }
  if (/UnknownIssuer/.test(text)) {
    return tls.caFile === undefined
      ? "the server's certificate is not signed by an authority this machine trusts (a self-signed one?): give --ca FILE with a copy of the server's certificate, or of the authority that signed it"
      : `the server's certificate is neither ${tls.caFile} nor signed by it: give --ca a copy of the server's certificate file, or of the authority that signed it`;
  }
  if (
    /InvalidContentType|corrupt message|WrongVersion|InvalidMessage/.test(text)
  ) {
    return "the server does not speak TLS on that port: leave out --tls (and --ca), or start the server with --cert and --key";
  }
  if (/Expired/.test(text)) {
    return `the server's certificate has expired: make a new one (${RECIPE})`;
  }
  if (/NotValidYet/.test(text)) {
    return "the server's certificate is not valid yet: check the clocks of both machines";
  }
  if (/UnsupportedCertVersion/.test(text)) {
    return `the server's certificate is an old X.509 version 1 certificate: make a version 3 one (${RECIPE})`;
  }
  return text;
}

/**
 * What a failed handshake on the server means, in one line with the way
 * out for the client's side, or null when `error` is no TLS failure.
 */
export function explainServerTls(error: unknown): string | null {
  const text = (error instanceof Error ? error.message : String(error))
    .split("\n")[0];
  if (/InvalidContentType|corrupt message|WrongVersion/.test(text)) {
    return "The client does not speak TLS: it needs --tls (and --ca FILE for a certificate of your own)";
  }
  const alert = /received fatal alert: (\w+)/.exec(text);
  if (alert === null) return null;
  const why = alert[1] === "UnknownCA"
    ? "the client needs --ca with a copy of it"
    : "the client's message says why";
  return `The client refused this server's certificate (${alert[1]}): ${why}`;
}
