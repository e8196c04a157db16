/**
 * The import specifiers of a TypeScript module, read from its tokens: the
 * static `import ... from`, `import "..."` and `export ... from`, and
 * dynamic `import()` with a literal specifier. Comments, strings, template
 * literals and regular expressions are read as tokens, so that an
 * `import` inside any of them is not taken for one.
 *
 * @module
 */

/** One import of a module. */
export interface Import {
  /** The specifier, as written. */
  specifier: string;
  /** Line of the specifier, from 1. */
  line: number;
  /** Whether it is an `import()` expression. */
  dynamic: boolean;
}

interface Token {
  /** "name", "string" (a quoted or plain template string), or "other". */
  kind: "name" | "string" | "other";
  /** The name, the string's contents, or the punctuation character. */
  text: string;
  /** Offset in the source. */
  at: number;
}

// After these, a `/` starts a regular expression, not a division.
const BEFORE_EXPRESSION = new Set([
  "return",
  "typeof",
  "instanceof",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "case",
  "do",
  "else",
  "yield",
  "await",
]);

class Lexer {
  readonly tokens: Token[] = [];
  #source: string;
  #at = 0;

  constructor(source: string) {
    this.#source = source;
  }

  /** Reads tokens until the end, or until an unmatched `}` when nested. */
  run(nested = false): void {
    const s = this.#source;
    let depth = 0;
    while (this.#at < s.length) {
      const c = s[this.#at];
      const next = s[this.#at + 1];
      if (/\s/.test(c)) {
        this.#at++;
      } else if (c === "/" && next === "/") {
        const end = s.indexOf("\n", this.#at);
        this.#at = end === -1 ? s.length : end;
      } else if (c === "/" && next === "*") {
        const end = s.indexOf("*/", this.#at + 2);
        this.#at = end === -1 ? s.length : end + 2;
      } else if (c === '"' || c === "'") {
        this.#quoted(c);
      } else if (c === "`") {
        this.#template();
      } else if (c === "/" && this.#regexAllowed()) {
        this.#regex();
      } else if (/[A-Za-z_$]/.test(c)) {
        const name = s.slice(this.#at).match(/^[\w$]+/)![0];
        this.tokens.push({ kind: "name", text: name, at: this.#at });
        this.#at += name.length;
      } else if (/[0-9]/.test(c)) {
        const number = s.slice(this.#at).match(/^[\w.]+/)![0];
        this.tokens.push({ kind: "other", text: number, at: this.#at });
        this.#at += number.length;
      } else {
        if (c === "{") depth++;
        if (c === "}") {
          if (nested && depth === 0) return;
          depth--;
        }
        this.tokens.push({ kind: "other", text: c, at: this.#at });
        this.#at++;
      }
    }
  }

  #regexAllowed(): boolean {
    const last = this.tokens.at(-1);
    if (last === undefined) return true;
    if (last.kind === "name") return BEFORE_EXPRESSION.has(last.text);
    if (last.kind === "string") return false;
    return !/^[\w)\]}`]/.test(last.text);
  }

  #quoted(quote: string): void {
    const s = this.#source;
    const start = this.#at;
    let i = start + 1;
    while (i < s.length && s[i] !== quote && s[i] !== "\n") {
      i += s[i] === "\\" ? 2 : 1;
    }
    this.tokens.push({
      kind: "string",
      text: s.slice(start + 1, i),
      at: start,
    });
    this.#at = i + 1;
  }

  #template(): void {
    const s = this.#source;
    const start = this.#at;
    let plain = true;
    let i = start + 1;
    while (i < s.length && s[i] !== "`") {
      if (s[i] === "\\") {
        i += 2;
      } else if (s[i] === "$" && s[i + 1] === "{") {
        plain = false;
        // The substitution's tokens are read like any others, so that a
        // template inside it or a "}" in a string there does not end it.
        this.#at = i + 2;
        this.run(true);
        i = this.#at + 1;
      } else {
        i++;
      }
    }
    this.tokens.push(
      plain
        ? { kind: "string", text: s.slice(start + 1, i), at: start }
        : { kind: "other", text: "`", at: start },
    );
    this.#at = i + 1;
  }

  #regex(): void {
    const s = this.#source;
    let i = this.#at + 1;
    let inClass = false;
    while (i < s.length && s[i] !== "\n") {
      if (s[i] === "\\") {
        i += 2;
        continue;
      }
      if (s[i] === "[") inClass = true;
      else if (s[i] === "]") inClass = false;
      else if (s[i] === "/" && !inClass) break;
      i++;
    }
    i++;
    while (i < s.length && /[a-z]/.test(s[i])) i++;
    this.tokens.push({ kind: "other", text: "/", at: this.#at });
    this.#at = i;
  }
}

/** The imports of a module whose text is `source`, in source order. */
export function readImports(source: string): Import[] {
  const lexer = new Lexer(source);
  lexer.run();
  const tokens = lexer.tokens;
  const lineOf = (at: number) => source.slice(0, at).split("\n").length;
  const found: Import[] = [];
  const add = (token: Token, dynamic: boolean) =>
    found.push({ specifier: token.text, line: lineOf(token.at), dynamic });
  const is = (i: number, text: string) => tokens[i]?.text === text;
  const isString = (i: number) => tokens[i]?.kind === "string";

  // The `from "..."` that ends the clause starting at `i`, if any.
  const fromClause = (i: number) => {
    for (let j = i; j < tokens.length && !is(j, ";"); j++) {
      if (is(j, "{")) {
        let depth = 0;
        for (; j < tokens.length; j++) {
          if (is(j, "{")) depth++;
          if (is(j, "}") && --depth === 0) break;
        }
        if (!is(j + 1, "from") && !is(j + 1, ",")) return;
      } else if (is(j, "from") && isString(j + 1)) {
        add(tokens[j + 1], false);
        return;
      } else if (tokens[j].kind === "string") {
        return;
      }
    }
  };

  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token.kind !== "name" || is(i - 1, ".")) continue;
    if (token.text === "import") {
      if (is(i + 1, "(")) {
        if (isString(i + 2) && (is(i + 3, ")") || is(i + 3, ","))) {
          add(tokens[i + 2], true);
        }
      } else if (isString(i + 1)) {
        add(tokens[i + 1], false);
      } else if (!is(i + 1, ".")) {
        fromClause(i + 1);
      }
    } else if (token.text === "export") {
      const clause = is(i + 1, "type") ? i + 2 : i + 1;
      if (is(clause, "{") || is(clause, "*")) fromClause(clause);
    }
  }
  return found;
}
