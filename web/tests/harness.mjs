// What the browser tests share: Debian's Chromium driven by playwright-core, a tiny static
// server on 127.0.0.1 that serves dist/ under a deep sub-path (the page must work under any
// path), the two ways to open the page (served folder, single file over file://), and
// generators for the logs the tests feed it.

import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";
import { after, before } from "node:test";
import { chromium } from "playwright-core";

export const WEB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const ROOT = path.resolve(WEB, "..");
export const DIST = path.join(WEB, "dist");
export const RESULTS = path.join(WEB, "test-results");
export const THIRD_PARTY = path.join(ROOT, "tests/fixtures/third-party");
export const SUB_PATH = "/some/deep/path/";

fs.mkdirSync(RESULTS, { recursive: true });

if (!fs.existsSync(path.join(DIST, "index.html")) || !fs.existsSync(path.join(DIST, "auditlens.html"))) {
  throw new Error("web/dist is not built: run `make web` (scripts/build-web.sh) first");
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-sync",
      "--disable-quic",
    ],
  });
}

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".gz": "application/gzip",
};

/** Serves dist/ read-only under SUB_PATH on a free loopback port; records every request. */
export async function serve() {
  const requests = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url);
    const url = new URL(req.url, "http://127.0.0.1");
    let rel = decodeURIComponent(url.pathname);
    if (!rel.startsWith(SUB_PATH)) {
      res.writeHead(404).end();
      return;
    }
    rel = rel.slice(SUB_PATH.length) || "index.html";
    const file = path.join(DIST, rel);
    if (!file.startsWith(DIST + path.sep) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream" });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    origin: `http://127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}${SUB_PATH}index.html`,
    requests,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

export const singleFileUrl = () => `file://${path.join(DIST, "auditlens.html")}`;

/**
 * Opens the page and collects what went wrong on it: uncaught errors, console errors and
 * Content-Security-Policy violations.
 */
export async function openPage(browser, url, { acceptDownloads = true } = {}) {
  const context = await browser.newContext({ acceptDownloads, viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  await page.goto(url);
  await page.waitForSelector("body[data-state=idle]");
  return { context, page, problems };
}

/** Feeds files to the page's file picker and waits until the analysis ends. */
export async function analyze(page, files, timeout = 60_000) {
  await page.setInputFiles("input[type=file][multiple]", files);
  await page.waitForSelector("body[data-state=done], body[data-state=error]", { timeout });
  return page.evaluate(() => document.body.dataset.state);
}

export function tempDir(name) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `auditlens-${name}-`));
}

export function gzipFile(source, target) {
  fs.writeFileSync(target, zlib.gzipSync(fs.readFileSync(source)));
  return target;
}

/** The native report the wasm crate's parity test keeps for a fixture (see tests/expected/). */
export function nativeExpected(name) {
  return JSON.parse(fs.readFileSync(path.join(ROOT, "crates/auditlens-wasm/tests/expected", `${name}.json`), "utf8"));
}

/**
 * Starts Chromium and the static server before this file's tests and stops them after, removing
 * `dir` (a temporary folder of the file's own) too. With `when` false, nothing starts. The
 * handles are on the returned object once the tests run: `{ browser, server }`.
 */
export function browserAndServer({ dir = null, when = true } = {}) {
  const env = { browser: null, server: null };
  before(async () => {
    if (!when) return;
    env.browser = await launch();
    env.server = await serve();
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });
  return env;
}
