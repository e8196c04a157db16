/**
 * The layer check of `deno task ok`: every module under `lib/` sits in a
 * layer folder, and imports only from its own folder and the folders below
 * it, in the order `lib/LAYERS.md` lists them; no two folders import each
 * other; nothing in `lib/` imports the top-level entry points (`server.ts`,
 * `client.ts`, `protocol.ts`), which may import any folder.
 *
 * `deno run --allow-read scripts/check_layers.ts [ROOT]` prints one line per
 * offence, naming the file, the line and the import, and exits with 1 if
 * there is any; on a clean tree, one line with the order it checked.
 *
 * @module
 */

import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { type Import, readImports } from "./imports.ts";

/** Where the order of the layers lives, relative to the root. */
export const LAYERS_FILE = "lib/LAYERS.md";

/** The layer folders of `lib/`, bottom up, as `LAYERS_FILE` lists them. */
export function readLayers(text: string): string[] {
  return [...text.matchAll(/^\d+\.\s+`([\w-]+)\/`/gm)].map((m) => m[1]);
}

// Where a file sits: in a layer folder, in lib/ itself, at the top level
// (the entry points), or elsewhere (tests/, scripts/).
type Place =
  | { kind: "layer"; folder: string }
  | { kind: "top" }
  | { kind: "lib" }
  | { kind: "outside" };

function placeOf(root: string, path: string): Place {
  const parts = relative(root, path).split(sep);
  if (parts[0] === "..") return { kind: "outside" };
  if (parts.length === 1) return { kind: "top" };
  if (parts[0] !== "lib") return { kind: "outside" };
  if (parts.length === 2) return { kind: "lib" };
  return { kind: "layer", folder: parts[1] };
}

function modulesUnder(folder: string): string[] {
  const found: string[] = [];
  for (const entry of Deno.readDirSync(folder)) {
    const path = join(folder, entry.name);
    if (entry.isDirectory) found.push(...modulesUnder(path));
    else if (entry.name.endsWith(".ts")) found.push(path);
  }
  return found;
}

// The file a relative or absolute specifier names; null for packages and
// built-ins (npm:, node:, bare names), which belong to no layer.
function target(from: string, specifier: string): string | null {
  if (specifier.startsWith("file:")) return fileURLToPath(specifier);
  if (/^\.{1,2}\//.test(specifier) || specifier.startsWith("/")) {
    return resolve(dirname(from), specifier);
  }
  return null;
}

/** One import of one module, with where both ends sit. */
interface Edge {
  /** The importing module, relative to the root. */
  file: string;
  /** The import. */
  found: Import;
  /** Where the importing module sits. */
  from: Place;
  /** Where the imported module sits. */
  to: Place;
}

/** What the check found in a tree. */
export interface LayerReport {
  /** Layer folders, bottom up. */
  layers: string[];
  /** Modules read. */
  modules: number;
  /** One line per offence; none when the tree is clean. */
  offences: string[];
}

/** Checks the tree at `root`. */
export function checkLayers(root: string): LayerReport {
  const layers = readLayers(Deno.readTextFileSync(join(root, LAYERS_FILE)));
  if (layers.length === 0) {
    return {
      layers,
      modules: 0,
      offences: [`${LAYERS_FILE}: lists no layer folders`],
    };
  }
  const rank = new Map(layers.map((name, i) => [name, i]));
  const offences: string[] = [];
  const lib = join(root, "lib");
  for (const name of layers) {
    try {
      Deno.statSync(join(lib, name));
    } catch {
      offences.push(`${LAYERS_FILE}: lists ${name}/, which is not in lib/`);
    }
  }
  const modules = [
    ...[...Deno.readDirSync(root)]
      .filter((entry) => entry.isFile && entry.name.endsWith(".ts"))
      .map((entry) => join(root, entry.name)),
    ...modulesUnder(lib),
  ].sort();
  const edges: Edge[] = [];
  for (const path of modules) {
    const file = relative(root, path);
    const from = placeOf(root, path);
    if (from.kind === "lib") {
      offences.push(`${file}: not in a layer folder of ${LAYERS_FILE}`);
      continue;
    }
    if (from.kind === "layer" && !rank.has(from.folder)) {
      offences.push(`${file}: ${from.folder}/ is not listed in ${LAYERS_FILE}`);
      continue;
    }
    for (const found of readImports(Deno.readTextFileSync(path))) {
      const to = target(path, found.specifier);
      if (to !== null) edges.push({ file, found, from, to: placeOf(root, to) });
    }
  }
  // The first import from each folder into each other one.
  const crossings = new Map<string, Edge>();
  for (const edge of edges) {
    const problem = offence(edge, rank);
    if (problem !== null) {
      offences.push(`${edge.file}:${edge.found.line}: ${problem}`);
    }
    const { from, to } = edge;
    if (from.kind === "layer" && to.kind === "layer") {
      const key = `${from.folder}>${to.folder}`;
      if (from.folder !== to.folder && !crossings.has(key)) {
        crossings.set(key, edge);
      }
    }
  }
  for (const [key, edge] of crossings) {
    const [a, b] = key.split(">");
    const back = crossings.get(`${b}>${a}`);
    if (back === undefined || a > b) continue;
    offences.push(
      `lib/${a}/ and lib/${b}/ import each other: ` +
        `${edge.file}:${edge.found.line} ${describe(edge.found)}, ` +
        `${back.file}:${back.found.line} ${describe(back.found)}`,
    );
  }
  return { layers, modules: modules.length, offences };
}

function describe(found: Import): string {
  return found.dynamic
    ? `import("${found.specifier}")`
    : `imports "${found.specifier}"`;
}

// What is wrong with one import, or null.
function offence(edge: Edge, rank: Map<string, number>): string | null {
  const { from, to, found } = edge;
  const what = describe(found);
  if (from.kind !== "layer") {
    return to.kind === "outside"
      ? `${what}, from outside lib/ and the top level`
      : null;
  }
  switch (to.kind) {
    case "top":
      return `${what}, from the top level, above every folder of lib/`;
    case "outside":
      return `${what}, from outside lib/`;
    case "lib":
      return `${what}, from lib/ itself, outside the layer folders`;
    case "layer": {
      const theirs = rank.get(to.folder);
      if (theirs === undefined) {
        return `${what}, from ${to.folder}/, which ${LAYERS_FILE} does not list`;
      }
      return theirs > rank.get(from.folder)!
        ? `${what}, from ${to.folder}/, a layer above ${from.folder}/`
        : null;
    }
  }
}

if (import.meta.main) {
  const root = resolve(
    Deno.args[0] ?? fileURLToPath(new URL("..", import.meta.url)),
  );
  const { layers, modules, offences } = checkLayers(root);
  for (const line of offences) console.error(line);
  if (offences.length > 0) {
    const count = offences.length;
    console.error(
      `Layer check: ${count} ${count === 1 ? "offence" : "offences"}`,
    );
    Deno.exit(1);
  }
  console.log(
    `Checked the imports of ${modules} modules: ${layers.join(" < ")}`,
  );
}
