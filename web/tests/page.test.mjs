// End to end: the built page in Debian's Chromium, both as the served folder (under a deep
// sub-path) and as the single file over file://. What the page shows is checked against the
// native core's result for the same input (crates/auditlens-wasm/tests/expected/, kept current
// by that crate's parity test), so a page that drops, invents or garbles results fails.

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { describe, test } from "node:test";
import { THIRD_PARTY, RESULTS, ROOT, analyze, browserAndServer, gzipFile, nativeExpected, openPage, singleFileUrl, tempDir } from "./harness.mjs";

const AUDIT2RBAC = path.join(THIRD_PARTY, "audit2rbac/demo.v1beta1.ndjson");
const FALCO = path.join(THIRD_PARTY, "falco/events.ndjson");
const BAD_LINES = path.join(ROOT, "tests/fixtures/ingest/bad-lines.jsonl");
const TRIMMED = path.join(ROOT, "tests/fixtures/trimmed/events.jsonl");
const INDICATORS = path.join(ROOT, "crates/auditlens-core/tests/fixtures/rules/k8s.network.indicator");

const dir = tempDir("page");
const gzipped = gzipFile(AUDIT2RBAC, path.join(dir, "demo.v1beta1.ndjson.gz"));

const env = browserAndServer({ dir });

const summaryOf = (page) => page.evaluate(() => window.auditlens.result.summary);
const findingsOf = (page) => page.evaluate(() => window.auditlens.findings);

async function download(page, kind) {
  await page.click("#export-button");
  const [file] = await Promise.all([page.waitForEvent("download"), page.click(`[data-export=${kind}]`)]);
  return fs.readFileSync(await file.path(), "utf8");
}

for (const mode of ["served", "single"]) {
  describe(`the page (${mode === "served" ? "served folder" : "single file over file://"})`, () => {
    const open = () => openPage(env.browser, mode === "served" ? env.server.url : singleFileUrl());
    const shot = (page, name) => page.screenshot({ path: path.join(RESULTS, `${mode}-${name}.png`) });

    test("a plain log: totals and findings match the native core, exports carry them", async () => {
      const expected = nativeExpected("audit2rbac").report;
      const { context, page, problems } = await open();
      assert.equal(await analyze(page, [AUDIT2RBAC]), "done");
      const summary = await summaryOf(page);
      assert.equal(summary.requests, expected.summary.requests);
      assert.equal(summary.events, expected.summary.events);
      assert.equal(summary.identities, expected.summary.identities);
      const totals = await page.textContent("[data-testid=summary]");
      assert.match(totals, new RegExp(`${expected.summary.requests.toLocaleString("en-US")}\\s*requests`, "i"));
      const findings = await findingsOf(page);
      assert.deepEqual(findings, expected.findings);
      await shot(page, "overview");

      await page.keyboard.press("2");
      assert.equal(await page.getAttribute("#tab-findings", "aria-selected"), "true");
      if (expected.findings.length > 0) {
        // The list renders its visible rows on the next frame.
        await page.waitForSelector("[data-audit-id]", { timeout: 10_000 });
      }
      const rows = await page.$$eval("[data-audit-id]", (els) => els.map((e) => [e.dataset.auditId, e.dataset.severity]));
      assert.ok(rows.length <= expected.findings.length);
      assert.equal(rows.length > 0, expected.findings.length > 0);
      for (const [id, severity] of rows) {
        assert.equal(expected.findings.find((f) => f.auditID === id)?.severity, severity);
      }
      if (expected.findings.length === 0) {
        assert.match(await page.textContent("#panel-findings"), /No findings/);
      }

      const json = JSON.parse(await download(page, "findings-json"));
      assert.deepEqual(json, expected.findings);
      const csv = (await download(page, "findings-csv")).trim().split("\r\n");
      assert.equal(csv[0], "auditID,timestamp,identity,verb,resource,namespace,name,severity,score,rules,reasons,file,line");
      assert.equal(csv.length, expected.findings.length + 1);
      // OCSF and ECS: one record per finding, in the findings' order (validated against the
      // schemas by scripts/validate-outputs.sh on the CLI's output of the same engine).
      const lines = async (kind) => (await download(page, kind)).split("\n").filter(Boolean).map((l) => JSON.parse(l));
      const ocsf = await lines("findings-ocsf");
      assert.deepEqual(
        ocsf.map((r) => [r.class_uid, r.finding_info.uid, r.risk_score]),
        expected.findings.map((f) => [2004, f.auditID, f.score]),
      );
      const ecs = await lines("findings-ecs");
      assert.deepEqual(
        ecs.map((d) => [d.event.kind, d.event.id, d["@timestamp"]]),
        expected.findings.map((f) => ["alert", f.auditID, f.timestamp]),
      );
      await page.keyboard.press("1");
      const report = await download(page, "report-html");
      assert.ok(!/<script/i.test(report), "the report holds no script");
      assert.match(report, /Content-Security-Policy/);
      assert.match(report, /<img src="data:image\/png;base64,/);
      assert.match(report, new RegExp(`${expected.summary.requests.toLocaleString("en-US")}`));
      assert.deepEqual(problems, []);
      await context.close();
    });

    test("rule-matching events: each finding opens with its explanation, rules and raw event", async () => {
      const expected = nativeExpected("falco").report;
      const { context, page, problems } = await open();
      assert.equal(await analyze(page, [FALCO]), "done");
      assert.deepEqual(await findingsOf(page), expected.findings);
      await page.click("#tab-findings");
      const first = expected.findings[0];
      if (first) {
        await page.click(`[data-audit-id="${first.auditID}"]`);
        await page.waitForFunction(() => !document.querySelector(".raw")?.textContent.startsWith("Reading"));
        const detail = await page.textContent(".detail");
        for (const reason of first.reasons) assert.ok(detail.includes(reason.message), `explanation shown: ${reason.message}`);
        for (const rule of first.rules) assert.ok(detail.includes(rule), `rule shown: ${rule}`);
        const raw = JSON.parse(await page.textContent(".raw"));
        assert.equal(raw.auditID, first.auditID);
        await shot(page, "finding-detail");
      } else {
        assert.match(await page.textContent("#panel-findings"), /No findings/);
      }
      // The incidents on the overview, each opening its own findings.
      const incidents = nativeExpected("falco").incidents;
      await page.keyboard.press("1");
      if (incidents.length) {
        const rows = await page.$$eval("[data-testid=incidents] tbody tr", (trs) => trs.length);
        const toReview = incidents.filter((i) => ["medium", "high", "critical"].includes(i.severity));
        assert.equal(rows, Math.min(50, toReview.length), "incidents open on those that need review");
        const top = incidents[0];
        await page.click(`[data-incident="${top.id}"]`);
        const members = expected.findings.filter((f) => f.incident === top.id);
        assert.equal(members.length, top.findings);
        assert.equal(await page.textContent(".count-line"), `${members.length} of ${expected.findings.length}`);
        const shown = await page.$$eval("[data-audit-id]", (els) => els.map((e) => e.dataset.auditId));
        for (const id of shown) assert.ok(members.some((f) => f.auditID === id), `${id} belongs to incident ${top.id}`);
      } else {
        assert.equal(await page.$("[data-testid=incidents]"), null);
      }
      assert.deepEqual(problems, []);
      await context.close();
    });

    test("a finding of an event logged without an auditID opens by its place in the file", async () => {
      const { context, page, problems } = await open();
      assert.equal(await analyze(page, [TRIMMED]), "done");
      const findings = await findingsOf(page);
      const privileged = findings.find((f) => f.rules.includes("k8s.pod.privileged"));
      assert.ok(privileged, "the privileged pod of line 1");
      assert.equal(privileged.auditID, null);
      assert.match(privileged.request, /^~0\.\d+$/);
      await page.click("#tab-findings");
      await page.click(`[data-audit-id="${privileged.request}"]`);
      await page.waitForFunction(() => !document.querySelector(".raw")?.textContent.startsWith("Reading"));
      const detail = await page.textContent(".detail");
      assert.match(detail, /none \(logged without one\)/);
      assert.match(detail, /events\.jsonl:1/);
      const raw = JSON.parse(await page.textContent(".raw"));
      assert.equal(raw.objectRef.name, "tools", "the raw event is line 1's");
      // The item of an EventList without auditIDs opens as that item, not the whole list.
      const second = findings.find((f) => f.request?.endsWith(".1"));
      if (second) {
        await page.check("[data-testid=include-lower]");
        await page.click(`[data-audit-id="${second.request}"]`);
        await page.waitForFunction(() => !document.querySelector(".raw")?.textContent.startsWith("Reading"));
        assert.equal(JSON.parse(await page.textContent(".raw")).objectRef.name, "b");
      }
      assert.deepEqual(problems, []);
      await context.close();
    });

    test("gzip and plain files in one analysis: diagnostics, profile, raw event from gzip", async () => {
      const expected = nativeExpected("gzip-and-bad-lines");
      const { context, page, problems } = await open();
      assert.equal(await analyze(page, [gzipped, BAD_LINES]), "done");
      const summary = await summaryOf(page);
      assert.equal(summary.requests, expected.report.summary.requests);
      assert.equal(summary.diagnostics, expected.report.summary.diagnostics);
      assert.deepEqual(summary.files.map((f) => f.format), expected.report.summary.files.map((f) => f.format));

      await page.keyboard.press("4");
      await page.waitForSelector("[data-testid=diagnostics]");
      const listed = await page.$$eval("[data-testid=diagnostics] tbody tr", (trs) => trs.length);
      assert.equal(listed, expected.diagnosticCount);
      const diagnosticsText = await page.textContent("#panel-input");
      for (const d of expected.report.diagnostics) assert.ok(diagnosticsText.includes(d.message), d.message);
      await shot(page, "input");

      // The raw record of an event from the gzip file, re-read through the page's engine.
      const raw = await page.evaluate((id) => window.auditlens.engine.call("raw", { auditID: id }), expected.request.auditID);
      assert.equal(raw.row.file, "demo.v1beta1.ndjson.gz");
      assert.equal(JSON.parse(raw.text).auditID, expected.request.auditID);

      // The same from a file of two gzip members, for an event in the second one.
      const lines = fs.readFileSync(AUDIT2RBAC, "utf8").split("\n").filter(Boolean);
      const half = Math.floor(lines.length / 2);
      const twoMembers = path.join(dir, "two-members.log.gz");
      fs.writeFileSync(twoMembers, Buffer.concat([zlib.gzipSync(`${lines.slice(0, half).join("\n")}\n`), zlib.gzipSync(`${lines.slice(half).join("\n")}\n`)]));
      const { context: other, page: second } = await open();
      assert.equal(await analyze(second, [twoMembers]), "done");
      const lateId = JSON.parse(lines[lines.length - 1]).auditID;
      const late = await second.evaluate((id) => window.auditlens.engine.call("raw", { auditID: id }), lateId);
      assert.ok(late.row.offset > Buffer.byteLength(`${lines.slice(0, half).join("\n")}\n`) - 1, "the event lies in the second member");
      assert.equal(JSON.parse(late.text).auditID, lateId);
      await other.close();

      // The identity profile of that event's identity.
      await page.keyboard.press("3");
      await page.fill("#panel-identities input[type=search]", expected.identity.identity);
      await page.keyboard.press("Enter");
      await page.waitForSelector("[data-testid=profile-identity]");
      assert.equal(await page.textContent("[data-testid=profile-identity]"), expected.identity.identity);
      const heat = await page.$$eval(".hm-cell:not(.zero)", (cells) => cells.length);
      assert.equal(heat, expected.identity.hourOfWeek.flat().filter((n) => n > 0).length);
      assert.ok(await page.$(".uplot canvas"), "the rate chart is drawn");
      const profileText = await page.textContent("#panel-identities");
      for (const verb of expected.identity.verbs) assert.ok(profileText.includes(verb.value));
      await page.screenshot({ path: path.join(RESULTS, `${mode}-profile.png`), fullPage: true });
      assert.deepEqual(problems, []);
      await context.close();
    });

    test("a saved baseline and a rules config, loaded from files, apply to the analysis", async () => {
      const expected = nativeExpected("falco");
      const { context, page, problems } = await open();
      assert.equal(await analyze(page, [FALCO]), "done");
      // Save the baseline these logs gave, and load it back into the next analysis: the page
      // must give what the native session gives with that baseline.
      const baseline = await download(page, "baseline-json");
      assert.ok(JSON.parse(baseline), "the baseline is JSON");
      const saved = path.join(dir, "baseline.json");
      fs.writeFileSync(saved, baseline);
      await page.click("#export-button");
      const [baselineChooser] = await Promise.all([page.waitForEvent("filechooser"), page.click("[data-export=baseline-load]")]);
      await baselineChooser.setFiles(saved);
      await page.waitForFunction(() => document.querySelector(".files-line").textContent.includes("baseline: baseline.json") && document.body.dataset.state === "done");
      assert.equal((await summaryOf(page)).requests, expected.report.summary.requests);
      const withBaseline = await findingsOf(page);
      assert.equal(withBaseline.length, expected.withBaseline.findingCount);
      assert.deepEqual(withBaseline.slice(0, 5), expected.withBaseline.findings);
      assert.notDeepEqual(withBaseline, expected.report.findings, "the baseline changed the findings");
      assert.equal((await page.evaluate(() => window.auditlens.result.incidents)).length, expected.withBaseline.incidents);
      const activity = withBaseline.filter((f) => f.rules.some((r) => r.startsWith("k8s.activity")));
      assert.ok(activity.length > 0, "the fixture has activity-trail findings");
      // Switch the activity-trail family off: no finding may cite one of its rules.
      const config = path.join(dir, "rules.json");
      fs.writeFileSync(config, JSON.stringify({ disabled: ["k8s.activity"] }));
      await page.click("#export-button");
      const [rulesChooser] = await Promise.all([page.waitForEvent("filechooser"), page.click("[data-export=rules-load]")]);
      await rulesChooser.setFiles(config);
      await page.waitForFunction(() => document.querySelector(".files-line").textContent.includes("rules: rules.json") && document.body.dataset.state === "done");
      const findings = await findingsOf(page);
      assert.ok(findings.every((f) => f.rules.every((r) => !r.startsWith("k8s.activity"))));
      assert.ok(findings.length < withBaseline.length);
      // A broken config is refused with its reason, and dropped.
      fs.writeFileSync(config, `{"disabled": ["no.such.rule"]}`);
      await page.click("#export-button");
      const [broken] = await Promise.all([page.waitForEvent("filechooser"), page.click("[data-export=rules-load]")]);
      await broken.setFiles(config);
      await page.waitForSelector("body[data-state=error]");
      assert.match(await page.textContent("#error-view"), /rules configuration is not valid.*no\.such\.rule/s);
      assert.deepEqual(problems, []);
      await context.close();
    });

    test("indicator lists in a TOML rules config: each request that matches is a finding naming its list", async () => {
      const { context, page, problems } = await open();
      const log = path.join(INDICATORS, "positive.ndjson");
      assert.equal(await analyze(page, [log]), "done");
      const cites = (findings) => findings.filter((f) => f.rules.includes("k8s.network.indicator"));
      assert.equal(cites(await findingsOf(page)).length, 0, "no lists, no indicator findings");
      await page.click("#export-button");
      const [chooser] = await Promise.all([page.waitForEvent("filechooser"), page.click("[data-export=rules-load]")]);
      await chooser.setFiles(path.join(INDICATORS, "config.toml"));
      await page.waitForFunction(() => document.querySelector(".files-line").textContent.includes("rules: config.toml") && document.body.dataset.state === "done");
      const hits = cites(await findingsOf(page));
      // The fixture marks five requests (auditIDs hit-1 .. hit-5): three from listed addresses,
      // two with listed user agents.
      assert.deepEqual(hits.map((f) => f.auditID).sort(), ["hit-1", "hit-2", "hit-3", "hit-4", "hit-5"]);
      const messages = hits.flatMap((f) => f.reasons.map((r) => r.message)).join("\n");
      assert.match(messages, /on the indicator list "tor-exits"/);
      assert.match(messages, /on the indicator list "scanners"/);
      assert.deepEqual(problems, []);
      await context.close();
    });

    test("a file that is not an audit log gives a clear error", async () => {
      const notes = path.join(dir, "notes.txt");
      fs.writeFileSync(notes, "shopping list\nmilk\n{\"kind\":\"Pod\",\"apiVersion\":\"v1\"}\n");
      const { context, page } = await open();
      assert.equal(await analyze(page, [notes]), "error");
      const message = await page.textContent("#error-view");
      assert.match(message, /No audit events found/);
      assert.match(message, /notes\.txt/);
      await shot(page, "not-audit-log");
      await page.click("#error-back");
      assert.equal(await page.evaluate(() => document.body.dataset.state), "idle");
      await context.close();
    });

    test("the demo button, a dropped file, keys and the dark theme", async () => {
      const { context, page, problems } = await open();
      await shot(page, "idle");
      await page.click("#demo-button-2");
      await page.waitForSelector("body[data-state=done]");
      assert.ok((await summaryOf(page)).requests > 0);
      // Drop a file on the page, as a person drags one from the desktop.
      const text = fs.readFileSync(FALCO, "utf8");
      await page.evaluate((content) => {
        const transfer = new DataTransfer();
        transfer.items.add(new File([content], "dropped.ndjson"));
        for (const type of ["dragenter", "dragover", "drop"]) {
          document.getElementById("main").dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
        }
      }, text);
      await page.waitForFunction(() => window.auditlens.result?.summary.files[0].path === "dropped.ndjson" && document.body.dataset.state === "done");
      assert.equal((await summaryOf(page)).requests, nativeExpected("falco").report.summary.requests);
      await page.keyboard.press("t");
      assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark");
      await page.keyboard.press("/");
      assert.equal(await page.evaluate(() => document.activeElement.getAttribute("aria-label")), "Search findings");
      await page.keyboard.press("Escape");
      await page.keyboard.press("1");
      await shot(page, "dark-overview");
      assert.deepEqual(problems, []);
      await context.close();
    });
  });
}

test("cancelling an analysis returns to the start, and the next one runs", async () => {
  const big = path.join(dir, "big.ndjson");
  const lines = fs.readFileSync(AUDIT2RBAC);
  const out = fs.openSync(big, "w");
  // About 470 MB: still being read when Cancel is pressed, however fast the machine.
  for (let i = 0; i < 1000; i++) fs.writeSync(out, lines);
  fs.closeSync(out);
  const { context, page, problems } = await openPage(env.browser, env.server.url);
  await page.setInputFiles("input[type=file][multiple]", [big]);
  await page.waitForSelector("body[data-state=analyzing]");
  await page.waitForFunction(() => document.getElementById("progress-events").textContent !== "0");
  await page.screenshot({ path: path.join(RESULTS, "served-progress.png") });
  await page.click("#cancel-button");
  assert.equal(await page.evaluate(() => document.body.dataset.state), "idle");
  assert.match(await page.textContent("#idle-notice"), /cancelled/);
  assert.equal(await analyze(page, [AUDIT2RBAC]), "done");
  assert.equal((await summaryOf(page)).requests, nativeExpected("audit2rbac").report.summary.requests);
  assert.deepEqual(problems, []);
  await context.close();
  fs.unlinkSync(big);
});
