/**
 * `deno task demo`: a real transfer of main.txt between a real server and
 * a real client process on loopback, with a byte-for-byte check at the end.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

function deno(
  args: string[],
  stdout: "piped" | "inherit",
  env: Record<string, string> = {},
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdin: "null",
    stdout,
    stderr: "inherit",
    env,
  }).spawn();
}

async function firstLine(
  stream: ReadableStream<Uint8Array>,
  pattern: RegExp,
): Promise<{ match: RegExpMatchArray; rest: Promise<void> }> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`Server exited early:\n${text}`);
    text += value;
    const match = text.match(pattern);
    if (match) {
      Deno.stdout.writeSync(new TextEncoder().encode(indent(text)));
      const rest = (async () => {
        for (;;) {
          const next = await reader.read();
          if (next.done) return;
          Deno.stdout.writeSync(new TextEncoder().encode(indent(next.value)));
        }
      })();
      return { match, rest };
    }
  }
}

function indent(text: string): string {
  return text.replace(/^(?=.)/gm, "  server | ");
}

async function main(): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "ft-demo-" });
  try {
    console.log(
      `$ deno run -A server.ts --host 127.0.0.1 --port 0 --dir ${dir} --once`,
    );
    const server = deno(
      [
        "run",
        "-A",
        "server.ts",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--dir",
        dir,
        "--once",
      ],
      "piped",
    );
    const { match, rest } = await firstLine(
      server.stdout,
      /Listening on [^ ]+:(\d+)[^\n]*\n(?:.*\n)*?.*FILE\.\.\.\n/,
    );
    const port = match[0].match(/:(\d+) ?[,w]/)![1];
    const code = match[0].match(/^Code: (.+)$/m)![1];
    console.log(
      `$ FT_CODE=${code} deno run -A client.ts 127.0.0.1:${port} main.txt`,
    );
    const client = await deno(
      [
        "run",
        "-A",
        "client.ts",
        `127.0.0.1:${port}`,
        "main.txt",
      ],
      "inherit",
      { FT_CODE: code },
    ).status;
    const serverStatus = await server.status;
    await rest;
    if (!client.success || !serverStatus.success) {
      console.error(
        `demo: transfer failed (client exit ${client.code}, server exit ${serverStatus.code})`,
      );
      return 1;
    }
    const sent = await Deno.readFile(`${ROOT}main.txt`);
    const received = await Deno.readFile(`${dir}/main.txt`);
    const same = sent.length === received.length &&
      sent.every((b, i) => b === received[i]);
    if (!same) {
      console.error("demo: the received main.txt differs from the original");
      return 1;
    }
    console.log(
      `Compared byte for byte: ${dir}/main.txt is identical to main.txt (${sent.length} bytes).`,
    );
    console.log("Demo passed.");
    return 0;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) Deno.exitCode = await main();
