// A large log (hundreds of MB) analysed in the page without the tab crashing, with its time,
// throughput and peak memory reported next to the native CLI's on the same file. Opt-in, for
// CI time: AUDITLENS_LARGE=1 (size in MB with AUDITLENS_LARGE_MB, default 400; helper workers
// with AUDITLENS_LARGE_HELPERS, default what the page picks for this machine's cores).
//
// The log comes from the simulator (`auditlens simulate --preset bench`) when the release CLI
// is built, else from a generator here. Memory is the resident size of Chromium's processes
// for this test's profile, sampled every 200 ms: the renderer holds the page and its worker.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { ROOT, browserAndServer, openPage, tempDir } from "./harness.mjs";

const ENABLED = process.env.AUDITLENS_LARGE === "1";
const MB = Number(process.env.AUDITLENS_LARGE_MB ?? 400);
const HELPERS = process.env.AUDITLENS_LARGE_HELPERS;
const CLI = path.join(ROOT, "target/release/auditlens");

const dir = ENABLED ? tempDir("large") : null;
const env = browserAndServer({ dir, when: ENABLED });

/** Writes about `mb` MB of audit events of a few hundred identities; returns the path. */
function generate(mb) {
  const file = path.join(dir, `large-${mb}MB.log`);
  if (fs.existsSync(CLI)) {
    const run = spawnSync(CLI, ["simulate", "--preset", "bench", "--size", `${mb}MB`, "-o", file], { stdio: "inherit" });
    if (run.status === 0) return file;
  }
  const out = fs.openSync(file, "w");
  const verbs = ["get", "list", "watch", "update", "create", "delete", "patch"];
  const resources = ["pods", "configmaps", "secrets", "leases", "deployments", "services", "events"];
  const start = Date.UTC(2026, 2, 1);
  let written = 0;
  let batch = [];
  for (let i = 0; written < mb * 1e6; i++) {
    const user = i % 97 === 0 ? `user${i % 13}@example.com` : `system:serviceaccount:ns${i % 31}:sa${i % 7}`;
    const event = {
      kind: "Event",
      apiVersion: "audit.k8s.io/v1",
      level: "Metadata",
      auditID: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
      stage: "ResponseComplete",
      requestURI: `/api/v1/namespaces/ns${i % 31}/${resources[i % 7]}/obj${i % 1000}`,
      verb: verbs[(i >> 3) % 7],
      user: { username: user, groups: ["system:authenticated"] },
      sourceIPs: [`10.0.${(i >> 8) % 256}.${i % 256}`],
      userAgent: "kube-controller-manager/v1.29.2 (linux/amd64) kubernetes/4b8e819",
      objectRef: { resource: resources[i % 7], namespace: `ns${i % 31}`, name: `obj${i % 1000}`, apiVersion: "v1" },
      responseStatus: { metadata: {}, code: i % 53 === 0 ? 403 : 200 },
      requestReceivedTimestamp: new Date(start + i * 20).toISOString(),
      stageTimestamp: new Date(start + i * 20 + 3).toISOString(),
      annotations: { "authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": "" },
    };
    batch.push(JSON.stringify(event));
    if (batch.length === 10_000) {
      const text = `${batch.join("\n")}\n`;
      fs.writeSync(out, text);
      written += text.length;
      batch = [];
    }
  }
  if (batch.length) fs.writeSync(out, `${batch.join("\n")}\n`);
  fs.closeSync(out);
  return file;
}

/** Resident memory (bytes) of this test's Chromium processes: total and the largest one. */
function chromiumRss() {
  let total = 0;
  let largest = 0;
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (!cmd.includes("playwright_chromiumdev_profile")) continue;
      const rss = Number(fs.readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/)?.[1] ?? 0) * 1024;
      total += rss;
      largest = Math.max(largest, rss);
    } catch {
      // The process ended between listing and reading.
    }
  }
  return { total, largest };
}

/** The release CLI on the same file, on `threads` threads (0: all cores). */
function nativeRun(file, threads) {
  if (!fs.existsSync(CLI)) return null;
  const started = process.hrtime.bigint();
  const threadArgs = threads ? ["--threads", String(threads)] : [];
  const run = spawnSync("/usr/bin/time", ["-f", "%M", CLI, "analyze", "--quiet", ...threadArgs, "--format", "json", file], { encoding: "utf8", maxBuffer: 1 << 30 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (run.status !== 0) return null;
  const peakKb = Number(run.stderr.trim().split("\n").pop());
  return { seconds, peak: peakKb * 1024, summary: JSON.parse(run.stdout).summary };
}

const mbs = (bytes) => (bytes / 1e6).toFixed(0);

test(`a ${MB} MB log in the page: no crash, time and peak memory`, { skip: !ENABLED && "set AUDITLENS_LARGE=1 to run" }, async () => {
  const file = generate(MB);
  const size = fs.statSync(file).size;
  const { context, page, problems } = await openPage(env.browser, env.server.url);
  if (HELPERS !== undefined) {
    await page.evaluate((n) => {
      window.auditlens.engine.parallelism.helpers = n;
    }, Number(HELPERS));
  }
  let peak = { total: 0, largest: 0 };
  let firstProgressMs = null;
  const sampler = setInterval(() => {
    const now = chromiumRss();
    peak = { total: Math.max(peak.total, now.total), largest: Math.max(peak.largest, now.largest) };
  }, 200);
  const started = Date.now();
  await page.setInputFiles("input[type=file][multiple]", [file]);
  await page.waitForFunction(() => document.getElementById("progress-events").textContent !== "0", null, { timeout: 60_000 });
  firstProgressMs = Date.now() - started;
  // Findings come once scoring has seen the whole log in time order.

  // Progress every 10 s; a page that shows no change for four minutes (longer than its own
  // stall limit) is reported as stuck.
  let lastSeen = "";
  let unchangedSince = Date.now();
  for (;;) {
    const now = await page.evaluate(() => ({
      state: document.body.dataset.state,
      phase: document.getElementById("progress-phase")?.textContent,
      events: document.getElementById("progress-events")?.textContent,
      pending: window.auditlens.engine.pending.size,
      helpers: window.auditlens.engine.helpers.length,
    }));
    if (now.state === "done" || now.state === "error") break;
    const seen = JSON.stringify(now);
    if (seen !== lastSeen) {
      lastSeen = seen;
      unchangedSince = Date.now();
      console.log(`# ${((Date.now() - started) / 1000).toFixed(0)} s: ${seen}`);
    } else if (Date.now() - unchangedSince > 240_000) {
      const workers = await Promise.all(
        page.workers().map((w) =>
          Promise.race([
            w.evaluate(() => ({ memory: self.auditlens?.memory?.buffer.byteLength ?? null })).catch((e) => ({ error: e.message })),
            new Promise((resolve) => setTimeout(() => resolve({ error: "no answer in 5 s" }), 5000)),
          ]),
        ),
      );
      assert.fail(`the page shows no change for four minutes: ${seen}; workers: ${JSON.stringify(workers)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10_000));
  }
  const seconds = (Date.now() - started) / 1000;
  const firstFindingMs = Date.now() - started;
  clearInterval(sampler);
  const state = await page.evaluate(() => document.body.dataset.state);
  if (state === "error") {
    // Past what the tab can hold: what the user sees then.
    const shown = await page.evaluate(() => ["error-title", "error-message", "error-details"].map((id) => document.getElementById(id).textContent));
    console.log(`# page stopped after ${seconds.toFixed(1)} s; Chromium RSS peak ${mbs(peak.total)} MB in all, ${mbs(peak.largest)} MB in the largest process; it shows:\n#   ${shown.join("\n#   ")}`);
  }
  const result = await page.evaluate(() => ({ summary: window.auditlens.result?.summary, memory: window.auditlens.result?.memory, elapsed: window.auditlens.result?.elapsed, findings: window.auditlens.findings.length, partsRead: window.auditlens.result?.partsRead, readMs: window.auditlens.result?.readMs, firstProgressInPage: window.auditlens.firstProgressMs, workers: 1 + window.auditlens.engine.parallelism.helpers }));
  console.log(`# file: ${mbs(size)} MB, ${result.summary?.requests ?? "?"} requests, ${result.findings} findings`);
  const workerRate = size / 1e6 / (result.elapsed / 1000);
  console.log(`# page: up to ${result.workers} workers, ${result.partsRead?.appended ?? 0} parts read by helpers and appended; reading ${(result.readMs / 1000).toFixed(1)} s, then ordering and scoring ${((result.elapsed - result.readMs) / 1000).toFixed(1)} s`);
  console.log(`# page: ${seconds.toFixed(1)} s end to end (engine ${(result.elapsed / 1000).toFixed(1)} s), ${workerRate.toFixed(1)} MB/s in the page; first progress after ${firstProgressMs} ms (${Math.round(result.firstProgressInPage)} ms of it from the page's drop event), first finding after ${(firstFindingMs / 1000).toFixed(1)} s`);
  console.log(`# page memory: wasm ${mbs(result.memory)} MB (${(result.memory / size).toFixed(2)} of the input); Chromium RSS peak ${mbs(peak.total)} MB in all, ${mbs(peak.largest)} MB in the largest process`);
  assert.equal(state, "done");
  assert.deepEqual(problems, []);
  for (const threads of [1, 0]) {
    const native = nativeRun(file, threads);
    if (!native) continue;
    const rate = size / 1e6 / native.seconds;
    const label = threads ? "one thread" : "all cores";
    console.log(`# native CLI, ${label}: ${native.seconds.toFixed(1)} s, ${rate.toFixed(1)} MB/s, peak RSS ${mbs(native.peak)} MB (${(native.peak / size).toFixed(2)} of the input); the page runs at ${(workerRate / rate).toFixed(2)} of it`);
    assert.equal(result.summary.requests, native.summary.requests);
    assert.equal(result.summary.diagnostics, native.summary.diagnostics);
  }
  await context.close();
});
