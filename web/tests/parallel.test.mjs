// Several Web Workers: a plain log cut into parts, read by helper workers and appended by the
// engine's worker, gives exactly what one worker gives: the same summary, findings,
// diagnostics and raw events. A part that is not plain JSON lines of audit events is read in
// order by the engine's worker instead. Both page builds are checked, and no request leaves
// the page's own files.

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { describe, test } from "node:test";
import { THIRD_PARTY, ROOT, SUB_PATH, analyze, browserAndServer, openPage, singleFileUrl, tempDir } from "./harness.mjs";

const dir = tempDir("parallel");

// The demo log, plain, then a few bad lines, then a real apiserver log: stages of one request
// and bad lines fall on both sides of some cut.
const plain = path.join(dir, "plain.log");
fs.writeFileSync(
  plain,
  Buffer.concat([
    zlib.gunzipSync(fs.readFileSync(path.join(ROOT, "tests/fixtures/demo/demo-audit.log.gz"))),
    fs.readFileSync(path.join(ROOT, "tests/fixtures/ingest/bad-lines.jsonl")),
    Buffer.from("\n"),
    fs.readFileSync(path.join(THIRD_PARTY, "audit2rbac/demo.v1beta1.ndjson")),
  ]),
);
// Native lines, then cloud-wrapped ones (AKS Event Hubs records) in the later parts.
const mixed = path.join(dir, "mixed.log");
fs.writeFileSync(
  mixed,
  Buffer.concat([
    fs.readFileSync(path.join(THIRD_PARTY, "audit2rbac/demo.v1beta1.ndjson")),
    fs.readFileSync(path.join(THIRD_PARTY, "aks-sysdig/eventhub-records.ndjson")),
  ]),
);

const env = browserAndServer({ dir });

/** Analyses `file` with `helpers` helper workers (files of any size are cut); what it gave. */
async function run(url, file, helpers, maxBytes = Infinity) {
  const { context, page, problems } = await openPage(env.browser, url);
  const seen = [];
  context.on("request", (r) => seen.push(r.url()));
  await page.evaluate(([n, most]) => {
    window.auditlens.engine.parallelism = { helpers: n, minBytes: 1, maxBytes: most ?? Infinity };
  }, [helpers, maxBytes === Infinity ? null : maxBytes]);
  assert.equal(await analyze(page, [file]), "done");
  const result = await page.evaluate(async () => {
    const app = window.auditlens;
    const first = app.findings[0];
    const last = app.findings[app.findings.length - 1];
    const raw = async (f) => (await app.engine.call("raw", { auditID: f.auditID })).text;
    return {
      parts: app.engine.lastParts,
      partsRead: app.result.partsRead,
      summary: app.result.summary,
      findings: app.findings,
      incidents: app.result.incidents,
      diagnostics: await app.engine.call("diagnostics", { start: 0, count: 1000 }),
      raw: [await raw(first), await raw(last)],
    };
  });
  assert.deepEqual(problems, []);
  // Helper workers fetch nothing but the page's own files either.
  const own = (u) => u.startsWith(env.server.origin + SUB_PATH) || /^(file|blob|data):/.test(u);
  assert.deepEqual(seen.filter((u) => !own(u)), []);
  await context.close();
  return result;
}

for (const mode of ["served", "single"]) {
  describe(`several workers (${mode === "served" ? "served folder" : "single file over file://"})`, () => {
    const url = () => (mode === "served" ? env.server.url : singleFileUrl());

    test("parts read by helpers give what one worker gives", async () => {
      const one = await run(url(), plain, 0);
      const three = await run(url(), plain, 2);
      assert.deepEqual(one.parts, [[0]]);
      assert.equal(three.parts[0].length, 3, "the file was cut in three");
      assert.deepEqual(three.partsRead, { appended: 2, inOrder: 0 });
      assert.ok(one.findings.length > 0 && one.diagnostics.length > 0);
      const { parts: _a, partsRead: _c, ...expected } = one;
      const { parts: _b, partsRead: _d, ...got } = three;
      assert.deepEqual(got, expected);
    });

    test("an analysis larger than the parallel limit is read by one worker", async () => {
      const size = fs.statSync(plain).size;
      const limited = await run(url(), plain, 2, size - 1);
      assert.deepEqual(limited.parts, [[0]]);
      assert.deepEqual(limited.partsRead, { appended: 0, inOrder: 0 });
      const within = await run(url(), plain, 2, size);
      assert.equal(within.parts[0].length, 3);
    });

    test("a part that is not native JSON lines is read in order instead", async () => {
      const one = await run(url(), mixed, 0);
      const two = await run(url(), mixed, 1);
      assert.equal(two.parts[0].length, 2);
      assert.deepEqual(two.partsRead, { appended: 0, inOrder: 1 });
      assert.ok(one.summary.files[0].events > 0);
      const { parts: _a, partsRead: _c, ...expected } = one;
      const { parts: _b, partsRead: _d, ...got } = two;
      assert.deepEqual(got, expected);
    });
  });
}
