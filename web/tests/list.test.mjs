// The findings list with 100,000 rows: only the rows in view exist in the document, and
// sorting, filtering, search, scrolling and keyboard movement work over all of them. The rows
// are generated in the page (the list is a view; what the engine finds is tested elsewhere).

import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { THIRD_PARTY, RESULTS, analyze, browserAndServer, openPage } from "./harness.mjs";

const env = browserAndServer();

const ROWS = 100_000;

test("100,000 findings: virtualized, sortable, filterable, keyboard-driven", async () => {
  const { context, page, problems } = await openPage(env.browser, env.server.url);
  assert.equal(await analyze(page, [path.join(THIRD_PARTY, "audit2rbac/demo.v1beta1.ndjson")]), "done");
  const loadMs = await page.evaluate((n) => {
    const severities = ["info", "low", "medium", "high", "critical"];
    const verbs = ["get", "list", "create", "delete", "patch"];
    const findings = Array.from({ length: n }, (_, i) => ({
      auditID: `row-${i}`,
      timestamp: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
      identity: `user-${i % 500}`,
      verb: verbs[i % verbs.length],
      resource: i % 7 ? "configmaps" : "secrets",
      namespace: `ns-${i % 40}`,
      name: `object-${i}`,
      severity: severities[i % severities.length],
      score: i % 101,
      reasons: [{ code: "novel-verb", message: `reason number ${i}` }],
      rules: i % 11 ? [] : ["k8s.secret.read"],
      file: "generated",
      line: i + 1,
    }));
    const started = performance.now();
    window.auditlens.findings = findings;
    window.auditlens.findingsPanel.load(findings);
    window.auditlens.showTab("findings");
    return performance.now() - started;
  }, ROWS);
  console.log(`# loaded, filtered and sorted ${ROWS} findings in ${loadMs.toFixed(0)} ms`);
  const count = () => page.textContent(".count-line");
  // The list opens on what needs review (medium and above); one control brings the rest.
  assert.equal(await count(), "60,000 of 100,000");
  await page.check("[data-testid=include-lower]");
  assert.equal(await count(), "100,000 of 100,000");
  const rendered = await page.$$eval("[data-audit-id]", (rows) => rows.length);
  assert.ok(rendered > 5 && rendered < 100, `only the rows in view are in the document (${rendered})`);
  // Sorted by severity then score, most urgent first.
  const top = await page.$$eval("[data-audit-id]", (rows) => rows.slice(0, 3).map((r) => r.dataset.severity));
  assert.deepEqual(top, ["critical", "critical", "critical"]);
  await page.screenshot({ path: path.join(RESULTS, "served-findings-100k.png") });

  // Scroll to the end: the last row of the sorted list is rendered.
  await page.$eval(".list-scroll", (el) => { el.scrollTop = el.scrollHeight; });
  await page.waitForFunction(() => [...document.querySelectorAll("[data-audit-id]")].some((r) => r.dataset.index === "99999"));

  // Filters and search.
  await page.selectOption("select[data-filter=severity]", "high");
  assert.equal(await count(), "40,000 of 100,000");
  await page.selectOption("select[data-filter=rule]", "k8s.secret.read");
  const expectedRule = await page.evaluate(() => window.auditlens.findings.filter((f) => f.rules.length && ["high", "critical"].includes(f.severity)).length);
  assert.equal(await count(), `${expectedRule.toLocaleString("en-US")} of 100,000`);
  await page.click("text=Clear filters");
  await page.fill("input.search", "ROW-54321");
  await page.waitForFunction(() => document.querySelector(".count-line").textContent.startsWith("1 of"));
  await page.click("text=Clear filters");
  await page.fill("input.filter-identity", "user-7");
  await page.keyboard.press("Enter");
  assert.equal(await count(), "200 of 100,000");

  // Sort by time, ascending, then move with the keyboard and open a row.
  await page.click("[data-sort=timestamp]");
  await page.click("[data-sort=timestamp]");
  assert.equal(await page.getAttribute("[data-sort=timestamp]", "aria-sort"), "ascending");
  await page.focus(".list-scroll");
  await page.keyboard.press("j");
  await page.keyboard.press("j");
  const selected = await page.$eval(".row.selected", (r) => r.dataset.auditId);
  assert.equal(selected, "row-507");
  await page.keyboard.press("Enter");
  await page.waitForSelector(".detail .reasons");
  assert.match(await page.textContent(".detail"), /reason number 507/);
  assert.deepEqual(problems, []);
  await context.close();
});
