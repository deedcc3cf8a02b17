// Checks on the built files and the sources that need no browser: only relative URLs, a strict
// Content-Security-Policy naming no other origin, and no HTML sink anywhere in the page's code.

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { DIST, WEB } from "./harness.mjs";

const read = (p) => fs.readFileSync(path.join(DIST, p), "utf8");
const csp = (html) => html.match(/<meta http-equiv="Content-Security-Policy" content="([^"]+)">/)?.[1];

test("the folder build uses only relative URLs and a CSP limited to its own files", () => {
  const html = read("index.html");
  const urls = [...html.matchAll(/\s(?:src|href|content)="([^"]*)"/g)].map((m) => m[1]).filter((u) => /[/.]/.test(u) && !u.includes(" "));
  for (const url of urls) assert.ok(!/^(\/|[a-z]+:\/\/)/i.test(url), `relative URL: ${url}`);
  const policy = csp(html);
  assert.ok(policy, "a CSP meta element");
  assert.match(policy, /default-src 'none'/);
  assert.match(policy, /connect-src 'self'(;|$)/);
  assert.doesNotMatch(policy, /https?:|\*|'unsafe-inline'|'unsafe-eval'/);
});

test("the single file is self-contained: nothing to fetch, connect-src none", () => {
  const html = read("auditlens.html");
  const policy = csp(html);
  assert.match(policy, /connect-src 'none'/);
  assert.match(policy, /script-src 'sha256-[^']+' 'wasm-unsafe-eval'/);
  assert.doesNotMatch(policy, /https?:|\*|'unsafe-inline'|'unsafe-eval'/);
  assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+stylesheet/);
  for (const id of ["auditlens-worker", "auditlens-wasm"]) assert.match(html, new RegExp(`id="${id}"`));
});

test("both builds carry the third-party notices: dist/NOTICE and the page's footer", () => {
  const notice = read("NOTICE");
  // The packages the page bundles, with their license texts, and crates compiled into the wasm.
  for (const [name, license] of [["@tanstack/virtual-core", "MIT"], ["uplot", "MIT"], ["serde_json", "MIT OR Apache-2.0"], ["flate2", "MIT OR Apache-2.0"]]) {
    assert.match(notice, new RegExp(`^${name.replace("/", "\\/")} [0-9.]+ \\((npm package|Rust crate)\\), license: ${license.replace(/[()]/g, "\\$&")}$`, "m"), name);
  }
  assert.match(notice, /Copyright \(c\) 2021-present Tanner Linsley/);
  assert.match(notice, /Copyright \(c\) 2022 Leon Sorokin/);
  assert.doesNotMatch(notice, /auditlens-core|auditlens-wasm/, "the project's own crates are not third-party");
  const escaped = notice.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
  for (const file of ["index.html", "auditlens.html"]) {
    const html = read(file);
    const footer = html.slice(html.indexOf("<footer"), html.indexOf("</footer>"));
    assert.ok(footer.includes(`<details class="notices" id="notices"><summary>Licenses</summary><pre>${escaped}</pre></details>`), `${file}: notices in the footer`);
  }
});

test("the page's code never writes HTML from strings", () => {
  const dir = path.join(WEB, "src");
  for (const name of fs.readdirSync(dir)) {
    const source = fs.readFileSync(path.join(dir, name), "utf8");
    for (const sink of [/\.innerHTML\s*=/, /\.outerHTML\s*=/, /insertAdjacentHTML/, /document\.write/, /\beval\(/, /new Function\(/, /createContextualFragment/]) {
      assert.doesNotMatch(source, sink, `${name} uses ${sink}`);
    }
  }
});
