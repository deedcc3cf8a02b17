// Builds the page from src/ and the wasm bundle in pkg/ (written by scripts/build-web.sh):
//
//   dist/index.html, dist/assets/*, dist/demo/demo-audit.log.gz
//       a static folder that works from any host under any path (relative URLs only);
//   dist/NOTICE
//       the licenses of the third-party code the page ships (notices.mjs), also in its footer;
//   dist/auditlens.html
//       the same page as one self-contained file (scripts, styles, the worker, the wasm and the
//       demo log inlined) that works when opened from disk with file://.
//
// Both carry a Content-Security-Policy that allows nothing but the page's own files: no remote
// origin, no inline script except the hashed ones of the single file.
//
// Usage: node build.mjs   (npm run build)

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { notices } from "./notices.mjs";

const web = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(web, "dist");
const pkg = path.join(web, "pkg");
const wasmFile = path.join(pkg, "auditlens_wasm_bg.wasm");
// The built-in demo log: two simulated days of a small cluster with labelled attacks,
// written by scripts/make-demo.sh from the simulator (the test suite checks it is current).
const demoLog = path.join(web, "../tests/fixtures/demo/demo-audit.log.gz");
// Larger demo logs are served from the folder but not inlined into the single file.
const MAX_INLINE_DEMO = 12 * 1024 * 1024;

function fail(message) {
  console.error(`build: error: ${message}`);
  process.exit(1);
}

async function bundle(entry, format) {
  const result = await esbuild.build({
    entryPoints: [path.join(web, entry)],
    bundle: true,
    format,
    minify: true,
    write: false,
    target: ["chrome111", "firefox115", "safari16"],
    legalComments: "none",
    // The wasm-bindgen glue has a default `new URL(..., import.meta.url)` that the page never
    // uses (it always hands the wasm over itself); a classic worker has no import.meta.
    logOverride: { "empty-import-meta": "silent" },
    outdir: "out",
  });
  return result.outputFiles[0].text;
}

const sha256 = (text) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;

// Text placed inside a <script> or <style> element must not close it or open a comment.
const escapeForRawText = (text) =>
  text.replaceAll("</script", "<\\/script").replaceAll("</style", "<\\/style").replaceAll("<!--", "<\\!--");

// Text shown as text inside an element (the notices hold addresses such as <name@host>).
const escapeHtml = (text) => text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

function page(template, { csp, head, body, notice }) {
  // Replacer functions, so that `$&` or `$'` in the inlined code are not read as patterns.
  const replaced = template
    .replace("<!--CSP-->", () => `<meta http-equiv="Content-Security-Policy" content="${csp}">`)
    .replace("<!--HEAD-->", () => head)
    .replace("<!--NOTICES-->", () => `<details class="notices" id="notices"><summary>Licenses</summary><pre>${escapeHtml(notice)}</pre></details>`)
    .replace("<!--BODY-->", () => body);
  for (const mark of ["<!--CSP-->", "<!--HEAD-->", "<!--NOTICES-->", "<!--BODY-->"]) {
    if (replaced.includes(mark)) fail(`index.html still holds ${mark}`);
  }
  return replaced;
}

async function main() {
  if (!existsSync(wasmFile)) {
    fail(`no ${path.relative(web, wasmFile)}: build the wasm bundle first (make web, or bash scripts/build-web.sh)`);
  }
  if (!existsSync(demoLog)) {
    throw new Error(`the demo log ${demoLog} is missing: run scripts/make-demo.sh`);
  }
  const demo = demoLog;
  const template = await fs.readFile(path.join(web, "index.html"), "utf8");
  const [app, worker, css] = await Promise.all([
    bundle("src/main.js", "iife"),
    bundle("src/worker.js", "iife"),
    bundle("src/style.css", undefined),
  ]);
  const wasm = await fs.readFile(wasmFile);
  const notice = notices({ root: path.join(web, ".."), web, wasmCrate: "auditlens-wasm", demoLog }).text;

  await fs.rm(dist, { recursive: true, force: true });
  await fs.mkdir(path.join(dist, "assets"), { recursive: true });
  await fs.mkdir(path.join(dist, "demo"), { recursive: true });

  // The folder.
  const folderCsp = [
    "default-src 'none'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "worker-src 'self'",
    "connect-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "object-src 'none'",
  ].join("; ");
  await Promise.all([
    fs.writeFile(path.join(dist, "assets/app.js"), app),
    fs.writeFile(path.join(dist, "assets/worker.js"), worker),
    fs.writeFile(path.join(dist, "assets/app.css"), css),
    fs.writeFile(path.join(dist, "assets/auditlens_wasm_bg.wasm"), wasm),
    demo ? fs.copyFile(demo, path.join(dist, "demo/demo-audit.log.gz")) : null,
    fs.writeFile(path.join(dist, "NOTICE"), notice),
    fs.writeFile(
      path.join(dist, "index.html"),
      page(template, {
        csp: folderCsp,
        head: `<link rel="stylesheet" href="assets/app.css">\n<script defer src="assets/app.js"></script>`,
        body: demo ? `<meta name="auditlens-demo" content="demo/demo-audit.log.gz">` : "",
        notice,
      }),
    ),
  ]);

  // The single file: data blocks (never executed, so outside script-src) hold the worker's
  // source, the wasm and the demo; the one executable script and the style are hashed.
  const demoBytes = demo ? await fs.readFile(demo) : null;
  const inlineDemo = demoBytes && demoBytes.length <= MAX_INLINE_DEMO;
  const appText = escapeForRawText(app);
  const cssText = escapeForRawText(css);
  const singleCsp = [
    "default-src 'none'",
    `script-src ${sha256(appText)} 'wasm-unsafe-eval'`,
    "worker-src blob:",
    "connect-src 'none'",
    `style-src ${sha256(cssText)}`,
    "img-src data:",
    "base-uri 'none'",
    "form-action 'none'",
    "object-src 'none'",
  ].join("; ");
  const blocks = [
    `<script type="text/plain" id="auditlens-worker">${escapeForRawText(worker)}</script>`,
    `<script type="application/octet-stream" id="auditlens-wasm">${wasm.toString("base64")}</script>`,
    inlineDemo
      ? `<script type="application/octet-stream" id="auditlens-demo" data-name="${path.basename(demo)}">${demoBytes.toString("base64")}</script>`
      : "",
  ].join("\n");
  await fs.writeFile(
    path.join(dist, "auditlens.html"),
    page(template, {
      csp: singleCsp,
      head: `<style>${cssText}</style>\n<script defer>${appText}</script>`,
      body: blocks,
      notice,
    }),
  );

  const size = async (p) => ((await fs.stat(path.join(dist, p))).size / 1024).toFixed(0);
  console.log(
    `build: dist/ (app ${await size("assets/app.js")} KiB, worker ${await size("assets/worker.js")} KiB, ` +
      `wasm ${await size("assets/auditlens_wasm_bg.wasm")} KiB), dist/auditlens.html ${await size("auditlens.html")} KiB; ` +
      `demo: ${demo ? path.relative(web, demo) : "none"}${demo && !inlineDemo ? " (not inlined: too large)" : ""}`,
  );
}

await main();
