// The page when things go wrong under it: the engine's worker running out of memory or failing
// with an error nobody caught ends in the error state with what happened and what to try, never
// a frozen tab, and the next file is analysed as usual; a file that cannot be read to its end
// is named, and the rest is analysed.

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { analyze, browserAndServer, openPage, tempDir } from "./harness.mjs";

const dir = tempDir("failure");
const env = browserAndServer({ dir });

/** Writes about `mb` MB of audit events (JSON lines) to `name` in the test's folder: its path
 *  and how many events it holds. */
function writeLog(name, mb) {
  const file = path.join(dir, name);
  const lines = [];
  let bytes = 0;
  const start = Date.UTC(2026, 2, 1);
  for (let i = 0; bytes < mb * 1e6; i++) {
    const line = JSON.stringify({
      kind: "Event",
      apiVersion: "audit.k8s.io/v1",
      level: "Metadata",
      auditID: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
      stage: "ResponseComplete",
      requestURI: `/api/v1/namespaces/ns${i % 7}/configmaps/cm${i % 50}`,
      verb: i % 3 ? "get" : "list",
      user: { username: `system:serviceaccount:ns${i % 7}:app`, groups: ["system:serviceaccounts"] },
      sourceIPs: [`10.1.${(i >> 8) % 256}.${i % 256}`],
      userAgent: "app/1.0",
      objectRef: { resource: "configmaps", namespace: `ns${i % 7}`, name: `cm${i % 50}`, apiVersion: "v1" },
      responseStatus: { metadata: {}, code: 200 },
      requestReceivedTimestamp: new Date(start + i * 50).toISOString(),
      stageTimestamp: new Date(start + i * 50 + 4).toISOString(),
    });
    lines.push(line);
    bytes += line.length + 1;
  }
  fs.writeFileSync(file, `${lines.join("\n")}\n`);
  return { file, events: lines.length };
}

/** The page's engine worker (the page has started only that one when it is idle). */
async function engineWorker(page) {
  await page.waitForFunction(() => window.auditlens.engine?.capabilities !== undefined);
  const workers = page.workers();
  assert.equal(workers.length, 1, "one worker before any analysis");
  return workers[0];
}

const text = (page, id) => page.evaluate((i) => document.getElementById(i).textContent, id);

test("a worker that runs out of memory ends in the error state with what to try, and the next analysis works", async () => {
  const { file: log, events } = writeLog("small.log", 3);
  const { context, page, problems } = await openPage(env.browser, env.server.url);
  await page.evaluate(() => {
    window.auditlens.engine.parallelism.helpers = 0;
  });
  const worker = await engineWorker(page);
  // The engine's memory grown to the most a tab's wasm engine may have (4 GiB) less 64 KiB:
  // the analysis then needs memory that cannot be had, as on a log too large for the tab.
  const grown = await worker.evaluate(() => {
    const memory = self.auditlens.memory;
    const pages = memory.buffer.byteLength / 65536;
    memory.grow(65536 - pages - 1);
    return memory.buffer.byteLength;
  });
  assert.equal(grown, 4 * 1024 ** 3 - 65536);
  const state = await analyze(page, [log]);
  assert.equal(state, "error");
  assert.equal(await text(page, "error-title"), "The tab ran out of memory");
  const message = await text(page, "error-message");
  assert.match(message, /needed more memory than the browser gives this tab/);
  assert.match(message, /engine had reached 4\.\d+ GB/);
  const details = await text(page, "error-details");
  assert.match(details, /auditlens analyze small\.log/);
  assert.match(details, /fewer files, or a shorter stretch of time/);
  // A fresh engine took the place of the one that failed: the same file now reads.
  assert.equal(await analyze(page, [log]), "done");
  const summary = await page.evaluate(() => window.auditlens.result.summary);
  assert.equal(summary.requests, events);
  assert.deepEqual(problems, []);
  await context.close();
});

test("an error the engine did not catch ends the analysis in the error state instead of a frozen tab", async () => {
  const { file: log } = writeLog("medium.log", 2);
  const { context, page } = await openPage(env.browser, env.server.url);
  await page.evaluate(() => {
    window.auditlens.engine.parallelism.helpers = 0;
  });
  const worker = await engineWorker(page);
  // The next message the worker gets (the analysis) also runs a listener that throws.
  await worker.evaluate(() => {
    self.addEventListener("message", () => {
      throw new Error("simulated fault in the engine");
    });
  });
  await page.setInputFiles("input[type=file][multiple]", [log]);
  await page.waitForSelector("body[data-state=error]", { timeout: 30_000 });
  assert.equal(await text(page, "error-title"), "The analysis engine stopped");
  assert.match(await text(page, "error-message"), /simulated fault in the engine/);
  assert.equal(await analyze(page, [log], 120_000), "done");
  await context.close();
});

test("a file changed after it was chosen is named as unreadable, and the other files are analysed", async () => {
  const { file: first, events } = writeLog("first.log", 40);
  const { file: second } = writeLog("second.log", 1);
  const { context, page, problems } = await openPage(env.browser, env.server.url);
  await page.evaluate(() => {
    window.auditlens.engine.parallelism.helpers = 0;
  });
  await page.setInputFiles("input[type=file][multiple]", [first, second]);
  // While the first file is read, the second is written to: the browser refuses to read a file
  // that changed since it was chosen.
  fs.appendFileSync(second, "\n");
  const later = new Date(Date.now() + 60_000);
  fs.utimesSync(second, later, later);
  await page.waitForSelector("body[data-state=done], body[data-state=error]", { timeout: 120_000 });
  const state = await page.evaluate(() => document.body.dataset.state);
  assert.equal(state, "done", state === "error" ? await text(page, "error-message") : state);
  const result = await page.evaluate(() => ({ summary: window.auditlens.result.summary, unreadable: window.auditlens.result.unreadable }));
  assert.deepEqual(
    result.unreadable.map((u) => u.file),
    ["second.log"],
  );
  assert.match(result.unreadable[0].reason, /^the browser could not read it \(\w+: .+\)$/);
  const notice = await page.getByTestId("done-notice");
  assert.ok(await notice.isVisible());
  assert.match(await notice.textContent(), /Not read to the end: second\.log/);
  // The first file is all there; the second has a read-error diagnostic where reading stopped.
  const files = result.summary.files;
  assert.equal(files[0].path, "first.log");
  assert.equal(files[0].requests, events);
  assert.equal(files[0].rejected, 0);
  const diagnostics = await page.evaluate(() => window.auditlens.engine.call("diagnostics", { start: 0, count: 100 }));
  const readErrors = diagnostics.filter((d) => d.kind === "read-error");
  assert.equal(readErrors.length, 1, JSON.stringify(diagnostics));
  assert.equal(readErrors[0].file, "second.log");
  assert.match(readErrors[0].message, /^the file could not be read past byte 0 \(the browser could not read it/);
  assert.deepEqual(problems, []);
  await context.close();
});

test("reading that stops without an error ends in the error state after the stall limit, not a frozen progress bar", async () => {
  const { file: log, events } = writeLog("stalled.log", 2);
  const { context, page } = await openPage(env.browser, env.server.url);
  await page.evaluate(() => {
    window.auditlens.engine.parallelism.helpers = 0;
    window.auditlens.stallMs = 3000;
  });
  const worker = await engineWorker(page);
  // The browser handing over no more bytes, as a tab short of memory does: reads never end.
  await worker.evaluate(() => {
    const never = () => new Promise(() => {});
    ReadableStreamBYOBReader.prototype.read = never;
    ReadableStreamDefaultReader.prototype.read = never;
  });
  await page.setInputFiles("input[type=file][multiple]", [log]);
  await page.waitForSelector("body[data-state=error]", { timeout: 30_000 });
  assert.equal(await text(page, "error-title"), "Reading stopped");
  assert.match(await text(page, "error-message"), /stopped handing the files to the engine after 0 B of 2\.\d+ MB/);
  assert.match(await text(page, "error-details"), /auditlens analyze stalled\.log/);
  // The stalled engine was replaced: the file reads now.
  assert.equal(await analyze(page, [log]), "done");
  assert.equal(await page.evaluate(() => window.auditlens.result.summary.requests), events);
  await context.close();
});
