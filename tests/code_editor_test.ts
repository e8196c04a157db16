import assert from "node:assert/strict";
import { CodeEditor, complete } from "../lib/cli/code_editor.ts";
import { normalizeCode } from "../lib/secure/code.ts";

/** Types `keys` into `editor`; returns everything echoed. */
function type(editor: CodeEditor, keys: string): string {
  let echo = "";
  for (const key of keys) echo += editor.key(key).echo;
  return echo;
}

Deno.test("the code is echoed as typed, and Backspace erases a character", () => {
  const editor = new CodeEditor("Code: ");
  assert.equal(type(editor, "4071-applx"), "4071-applx");
  assert.equal(editor.key("\x7f").echo, "\b \b");
  assert.equal(type(editor, "e"), "e");
  assert.equal(editor.text, "4071-apple");
  // A wide character takes two columns to erase.
  type(editor, "写");
  assert.equal(editor.key("\b").echo, "\b\b  \b\b");
  assert.equal(editor.text, "4071-apple");
  assert.deepEqual(editor.key("\r"), { echo: "\r\n", done: "enter" });
});

Deno.test("Tab, then Ctrl-U, then the whole code: only the code remains", () => {
  // What once became 8710-jol8710-jolly-comedy-harp.
  const editor = new CodeEditor("Code: ");
  type(editor, "8710-jol");
  assert.equal(editor.key("\t").echo, "ly-");
  assert.equal(editor.text, "8710-jolly-");
  assert.equal(
    editor.key("\x15").echo,
    `${"\b".repeat(11)}${" ".repeat(11)}${"\b".repeat(11)}`,
  );
  assert.equal(editor.text, "");
  type(editor, "8710-jolly-comedy-harp");
  assert.equal(normalizeCode(editor.text), "8710-jolly-comedy-harp");
});

Deno.test("Tab completes words of the list, and lists them when several fit", () => {
  assert.deepEqual(complete("4071"), { text: "4071-", candidates: [] });
  assert.deepEqual(complete("4071-appl"), {
    text: "4071-apple-",
    candidates: [],
  });
  assert.deepEqual(complete("4071 Riv"), {
    text: "4071 river-",
    candidates: [],
  });
  assert.deepEqual(complete("4071-apple-river-ston"), {
    text: "4071-apple-river-stone",
    candidates: [],
  });
  assert.deepEqual(complete("4071-ap"), {
    text: "4071-ap",
    candidates: ["apple", "apricot", "apron"],
  });
  // Nothing to complete: a custom code, an empty word, an unknown start.
  for (const text of ["my-own-long-code", "4071-", "4071-qqq", ""]) {
    assert.deepEqual(complete(text), { text, candidates: [] });
  }
  const editor = new CodeEditor("Code: ");
  type(editor, "4071-ap");
  assert.equal(
    editor.key("\t").echo,
    "\r\napple  apricot  apron\r\nCode: 4071-ap",
  );
  assert.equal(
    editor.key("\t").echo,
    "\r\napple  apricot  apron\r\nCode: 4071-ap",
  );
  type(editor, "ro");
  assert.equal(editor.key("\t").echo, "n-");
  type(editor, "qq");
  assert.equal(editor.key("\t").echo, "\x07", "the bell: no word starts so");
});

Deno.test("arrow keys, controls and invisible characters stay out of the code", () => {
  const editor = new CodeEditor("Code: ");
  const echo = type(
    editor,
    "12\x1b[A\x1b[1;5C\x1bOD34\x01\u202e\u200b5",
  );
  assert.equal(editor.text, "12345");
  assert.equal(echo, "12345");
  // Ctrl-W erases the last word; Ctrl-D ends only an empty line.
  type(editor, "-apple-riv");
  assert.equal(editor.key("\x17").echo, "\b\b\b   \b\b\b");
  assert.equal(editor.text, "12345-apple-");
  assert.deepEqual(editor.key("\x04"), { echo: "" });
  assert.deepEqual(editor.key("\x03"), { echo: "\r\n", done: "interrupt" });
  const empty = new CodeEditor("Code: ");
  assert.deepEqual(empty.key("\x04"), { echo: "\r\n", done: "end" });
});
