/**
 * TLS certificates as users make them, with openssl: the usual self-signed
 * one (marked as an authority), the README's recipe, one without the
 * address clients use, a small authority with a certificate it signed, and
 * TLS on one side only. For each, the server warns at start about what
 * clients will refuse and prints the `--ca` they need, and the client says
 * the cause and the way out in one line. Skipped, with the reason printed,
 * without openssl.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type Finished,
  ROOT,
  runClient,
  startServer,
  tempDir,
} from "./helpers.ts";

/** Runs `sh -c script` in `cwd`; throws with its output if it fails. */
async function sh(script: string, cwd: string): Promise<void> {
  const output = await new Deno.Command("sh", {
    args: ["-c", script],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(
      `${script}: ${new TextDecoder().decode(output.stderr).trim()}`,
    );
  }
}

const noOpenssl = await new Deno.Command("openssl", { args: ["version"] })
  .output().then(
    (output) => output.success ? null : "openssl fails",
    () => "openssl is not installed",
  );
if (noOpenssl !== null) console.log(`tls_test: skipped, ${noOpenssl}`);

/** The README's certificate recipe, for an address of `address`. */
async function readmeRecipe(address: string): Promise<string> {
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  const section = readme.slice(readme.indexOf("### TLS certificates"));
  const block = /```sh\n(openssl req [^]*?CA:FALSE")\n/.exec(section);
  assert.ok(block, "the README has the recipe");
  assert.match(block[1], /IP:192\.168\.1\.20/);
  return block[1].replaceAll("192.168.1.20", address);
}

/** The one line of a client that failed. */
function oneLine(result: Finished): string {
  assert.equal(result.code, 1, result.stdout + result.stderr);
  const lines = result.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, result.stderr);
  return lines[0];
}

Deno.test({
  name:
    "the usual self-signed certificate: warned at start, and the client says why and what to do",
  ignore: noOpenssl !== null,
  async fn() {
    await using dir = await tempDir();
    await using dest = await tempDir();
    // The very command of the issue: CA:TRUE by default, no subjectAltName.
    await sh(
      "openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -subj /CN=localhost",
      dir.path,
    );
    const cert = join(dir.path, "cert.pem");
    await using server = await startServer([
      "--dir",
      dest.path,
      "--cert",
      cert,
      "--key",
      join(dir.path, "key.pem"),
    ]);
    await server.waitFor(
      /warning: .*cert\.pem is marked as a certificate authority \(CA:TRUE/,
    );
    await server.waitFor(
      /warning: .*cert\.pem is not made out to 127\.0\.0\.1 \(it has no subjectAltName\)/,
    );
    const line = oneLine(
      await runClient([
        "--tls",
        "--ca",
        cert,
        `localhost:${server.port}`,
        "main.txt",
      ]),
    );
    assert.match(
      line,
      /^client: TLS with localhost:\d+ failed: the server's certificate is marked as a certificate authority \(CA:TRUE, which openssl req -x509 makes by default\), .* make the certificate with basicConstraints CA:FALSE and a subjectAltName \(see TLS certificates in the README\)$/,
    );
    assert.doesNotMatch(line, /OtherError|use --ca FILE for a self-signed/);
  },
});

Deno.test({
  name:
    "the README's certificate works with --ca, which the server's command includes",
  ignore: noOpenssl !== null,
  async fn() {
    await using dir = await tempDir();
    await using dest = await tempDir();
    await sh(await readmeRecipe("127.0.0.1"), dir.path);
    const cert = join(dir.path, "cert.pem");
    await using server = await startServer([
      "--dir",
      dest.path,
      "--cert",
      cert,
      "--key",
      join(dir.path, "key.pem"),
    ]);
    const command = await server.waitFor(
      /client\.ts --tls --ca (\S+) 127\.0\.0\.1:(\d+) FILE\.\.\./,
    );
    assert.equal(command[1], cert);
    assert.doesNotMatch(server.stderr, /warning/);
    const untrusted = oneLine(
      await runClient(["--tls", `127.0.0.1:${server.port}`, "main.txt"]),
    );
    assert.match(
      untrusted,
      /failed: the server's certificate is not signed by an authority this machine trusts \(a self-signed one\?\): give --ca FILE with a copy of the server's certificate/,
    );
    for (const host of ["127.0.0.1", "localhost"]) {
      const good = await runClient([
        "--tls",
        "--ca",
        cert,
        `${host}:${server.port}`,
        "main.txt",
      ]);
      assert.equal(good.code, 0, good.stderr);
    }
    await server.waitFor(
      /refused this server's certificate \(UnknownCA\): the client needs --ca with a copy of it/,
    );
  },
});

Deno.test({
  name:
    "a certificate without the address clients use names what it is made out to",
  ignore: noOpenssl !== null,
  async fn() {
    await using dir = await tempDir();
    await using dest = await tempDir();
    await sh(
      (await readmeRecipe("127.0.0.1")).replace(
        "DNS:localhost,IP:127.0.0.1,IP:127.0.0.1",
        "DNS:localhost",
      ),
      dir.path,
    );
    const cert = join(dir.path, "cert.pem");
    await using server = await startServer([
      "--dir",
      dest.path,
      "--cert",
      cert,
      "--key",
      join(dir.path, "key.pem"),
    ]);
    await server.waitFor(
      /warning: .*cert\.pem is not made out to 127\.0\.0\.1 \(it lists only DNS:localhost\): clients that connect there will refuse it; add them to its subjectAltName/,
    );
    assert.match(
      oneLine(
        await runClient([
          "--tls",
          "--ca",
          cert,
          `127.0.0.1:${server.port}`,
          "main.txt",
        ]),
      ),
      /failed: the server's certificate is not made out to 127\.0\.0\.1 \(only to localhost\): connect with a name it lists, or make a certificate whose subjectAltName has IP:127\.0\.0\.1 \(see TLS certificates in the README\)$/,
    );
    const byName = await runClient([
      "--tls",
      "--ca",
      cert,
      `localhost:${server.port}`,
      "main.txt",
    ]);
    assert.equal(byName.code, 0, byName.stderr);
  },
});

Deno.test({
  name:
    "a small authority: its certificate as --ca, or the chain file, and a wrong --ca said so",
  ignore: noOpenssl !== null,
  async fn() {
    await using dir = await tempDir();
    await sh(
      [
        'openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -keyout ca.key -out ca.pem -subj "/CN=Test Home CA"',
        'openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem -out leaf.csr -subj "/CN=ft-server"',
        'printf "subjectAltName=DNS:localhost,IP:127.0.0.1\\nbasicConstraints=critical,CA:FALSE\\n" > leaf.ext',
        "openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -out cert.pem -extfile leaf.ext",
        "cat cert.pem ca.pem > chain.pem",
        'openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -keyout other.key -out other.pem -subj "/CN=other" -addext "basicConstraints=critical,CA:FALSE"',
      ].join(" && "),
      dir.path,
    );
    const key = join(dir.path, "key.pem");
    for (
      const [file, ca] of [["cert.pem", "ca.pem"], ["chain.pem", "chain.pem"]]
    ) {
      await using dest = await tempDir();
      await using server = await startServer([
        "--dir",
        dest.path,
        "--cert",
        join(dir.path, file),
        "--key",
        key,
      ]);
      if (file === "cert.pem") {
        // The file lacks the authority: the server names it.
        await server.waitFor(
          /warning: .*cert\.pem is signed by CN=Test Home CA, whose certificate it does not hold .*--ca/,
        );
        await server.waitFor(/client\.ts --tls --ca CA_FILE 127\.0\.0\.1:\d+/);
      } else {
        await server.waitFor(
          /client\.ts --tls --ca \S*chain\.pem 127\.0\.0\.1/,
        );
      }
      const good = await runClient([
        "--tls",
        "--ca",
        join(dir.path, ca),
        `127.0.0.1:${server.port}`,
        "main.txt",
      ]);
      assert.equal(good.code, 0, good.stderr);
    }
    await using dest = await tempDir();
    await using server = await startServer([
      "--dir",
      dest.path,
      "--cert",
      join(dir.path, "cert.pem"),
      "--key",
      key,
    ]);
    const other = join(dir.path, "other.pem");
    assert.match(
      oneLine(
        await runClient([
          "--tls",
          "--ca",
          other,
          `127.0.0.1:${server.port}`,
          "main.txt",
        ]),
      ),
      new RegExp(
        `failed: the server's certificate is neither ${other} nor signed by it: give --ca a copy of the server's certificate file, or of the authority that signed it$`,
      ),
    );
  },
});

Deno.test({
  name: "TLS on one side only is one line on each side with the way out",
  ignore: noOpenssl !== null,
  async fn() {
    await using dir = await tempDir();
    await using dest = await tempDir();
    await sh(await readmeRecipe("127.0.0.1"), dir.path);
    await using clear = await startServer(["--dir", dest.path]);
    assert.match(
      oneLine(
        await runClient([
          "--tls",
          "--ca",
          join(dir.path, "cert.pem"),
          `127.0.0.1:${clear.port}`,
          "main.txt",
        ]),
      ),
      /^client: TLS with 127\.0\.0\.1:\d+ failed: the server does not speak TLS on that port: leave out --tls \(and --ca\), or start the server with --cert and --key$/,
    );
    assert.doesNotMatch(clear.stderr, /InvalidContentType/);
    await using secured = await startServer([
      "--dir",
      dest.path,
      "--cert",
      join(dir.path, "cert.pem"),
      "--key",
      join(dir.path, "key.pem"),
    ]);
    assert.match(
      oneLine(await runClient([`127.0.0.1:${secured.port}`, "main.txt"])),
      /^client: Server closed the connection before its hello: does it use TLS \(then add --tls\)/,
    );
    await secured.waitFor(
      /\] error: The client does not speak TLS: it needs --tls \(and --ca FILE for a certificate of your own\)$/m,
    );
  },
});
