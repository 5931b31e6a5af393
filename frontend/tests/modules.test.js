import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { test } from "node:test";

const SRC = new URL("../src/", import.meta.url);

function sources(dir = SRC) {
  const files = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const url = new URL(entry.name + (entry.isDirectory() ? "/" : ""), dir);
    if (entry.isDirectory()) files.push(...sources(url));
    else if (entry.name.endsWith(".js")) files.push(url);
  }
  return files;
}

test("no module writes markup: data reaches the page as text only", () => {
  for (const file of sources()) {
    const text = readFileSync(file, "utf8");
    assert.doesNotMatch(text, /\.(innerHTML|outerHTML)\b|insertAdjacentHTML|document\.write/, file.pathname);
  }
});

test("ES modules with explicit .js imports and no globals", () => {
  const files = sources();
  assert.ok(files.length >= 15);
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    for (const [, specifier] of text.matchAll(/^import .* from "([^"]+)";$/gm)) {
      assert.match(specifier, /^\.{1,2}\/.*\.js$/, `${file.pathname}: ${specifier}`);
    }
    assert.doesNotMatch(text, /\bwindow\.[A-Za-z_$]+\s*=[^=]/, file.pathname);
    assert.doesNotMatch(text, /\bglobalThis\.[A-Za-z_$]+\s*=[^=]/, file.pathname);
  }
});

test("the page loads main.js as a module", () => {
  const html = readFileSync(new URL("../index.html", import.meta.url), "utf8");
  assert.match(html, /<script type="module" src="\/static\/app\/src\/main\.js"><\/script>/);
});

test("every module stays under 400 lines (one job each)", () => {
  for (const file of sources()) {
    const lines = readFileSync(file, "utf8").split("\n").length;
    assert.ok(lines <= 400, `${file.pathname}: ${lines} lines`);
  }
});
