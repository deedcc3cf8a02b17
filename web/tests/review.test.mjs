// What needs review leads: the overview's headline, the Findings tab's badge and list, the
// incidents table and "Identities at risk" count findings of medium severity and above, with the
// lower ones as context one control away; the view lives in the URL hash, so a reload or a
// shared link opens it again. Checked against the Falco events, whose severities the native
// parity document holds.

import assert from "node:assert/strict";
import path from "node:path";
import { describe, test } from "node:test";
import { THIRD_PARTY, analyze, browserAndServer, nativeExpected, openPage, singleFileUrl } from "./harness.mjs";

const FALCO = path.join(THIRD_PARTY, "falco/events.ndjson");
const env = browserAndServer();
const RANK = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };
const review = (items) => items.filter((f) => RANK[f.severity] >= RANK.medium);

const expected = nativeExpected("falco");
const findings = expected.report.findings;
const incidents = expected.incidents;

/** "26 of 46" in the findings list. */
const countLine = (page) => page.textContent(".count-line");

for (const mode of ["served", "single"]) {
  describe(`what needs review leads (${mode === "served" ? "served folder" : "single file over file://"})`, () => {
    const url = () => (mode === "served" ? env.server.url : singleFileUrl());

    test("the headline, the badge, the findings list and the incidents open on medium and above", async () => {
      const toReview = review(findings).length;
      const lower = findings.length - toReview;
      assert.ok(toReview > 0 && lower > 0, "the fixture has both");
      const { context, page, problems } = await openPage(env.browser, url());
      assert.equal(await analyze(page, [FALCO]), "done");
      const headline = await page.textContent("[data-testid=to-review]");
      assert.match(headline, new RegExp(`^${toReview}\\s*to review`));
      assert.match(headline, new RegExp(`and ${lower} low or informational notes`));
      assert.equal(await page.textContent("#findings-count"), String(toReview));

      // The incidents table: those that need review, then all of them on request.
      const incidentRows = () => page.$$eval("[data-testid=incidents] tbody tr", (trs) => trs.length);
      assert.equal(await incidentRows(), Math.min(50, review(incidents).length));
      await page.check("[data-testid=incidents-include-lower]");
      assert.equal(await incidentRows(), Math.min(50, incidents.length));
      assert.match(await page.evaluate(() => location.hash), /incidents=all/);

      // "Identities at risk": only identities with a finding that needs review.
      const atRisk = new Set(review(findings).map((f) => f.identity));
      const worst = await page.$$eval("section.card", (cards) => {
        const card = cards.find((c) => c.querySelector("h2")?.textContent === "Identities at risk");
        return [...card.querySelectorAll("tbody tr")].map((tr) => [tr.cells[0].textContent, tr.cells[1].textContent]);
      });
      assert.equal(worst.length, Math.min(10, atRisk.size));
      for (const [identity, severity] of worst) {
        assert.ok(atRisk.has(identity), `${identity} has a finding to review`);
        assert.ok(RANK[severity] >= RANK.medium, `${identity}: ${severity}`);
      }

      // The findings list opens on what needs review; one control adds the rest.
      await page.click("#tab-findings");
      assert.equal(await countLine(page), `${toReview} of ${findings.length}`);
      const severities = await page.$$eval("[data-audit-id]", (rows) => rows.map((r) => r.dataset.severity));
      assert.ok(severities.length > 0 && severities.every((s) => RANK[s] >= RANK.medium), severities.join(","));
      assert.equal(await page.isChecked("[data-testid=include-lower]"), false);
      await page.check("[data-testid=include-lower]");
      assert.equal(await countLine(page), `${findings.length} of ${findings.length}`);
      assert.deepEqual(problems, []);
      await context.close();
    });

    test("the view is in the URL hash: a reload and a shared link open it again", async () => {
      const { context, page, problems } = await openPage(env.browser, url());
      assert.equal(await analyze(page, [FALCO]), "done");
      assert.equal(await page.evaluate(() => location.hash), "", "the default view has no hash");
      await page.click("#tab-findings");
      await page.check("[data-testid=include-lower]");
      await page.selectOption("[data-filter=rule]", "k8s.pod.exec");
      const hash = await page.evaluate(() => location.hash);
      const params = new URLSearchParams(hash.slice(1));
      assert.deepEqual(Object.fromEntries(params), { tab: "findings", severity: "all", rule: "k8s.pod.exec" });
      const withExec = findings.filter((f) => f.rules.includes("k8s.pod.exec")).length;
      assert.ok(withExec > 0);
      assert.equal(await countLine(page), `${withExec} of ${findings.length}`);

      // A reload keeps the hash; the next analysis opens on that view.
      await page.reload();
      await page.waitForSelector("body[data-state=idle]");
      assert.equal(await page.evaluate(() => location.hash), hash);
      assert.equal(await analyze(page, [FALCO]), "done");
      assert.equal(await page.getAttribute("#tab-findings", "aria-selected"), "true");
      assert.equal(await page.isChecked("[data-testid=include-lower]"), true);
      assert.equal(await page.inputValue("[data-filter=rule]"), "k8s.pod.exec");
      assert.equal(await countLine(page), `${withExec} of ${findings.length}`);

      // A link pasted while results are shown opens its view too.
      await page.evaluate(() => {
        location.hash = "#tab=findings&severity=high";
      });
      await page.waitForFunction(() => document.querySelector("[data-filter=severity]")?.value === "high");
      const high = findings.filter((f) => RANK[f.severity] >= RANK.high).length;
      assert.equal(await countLine(page), `${high} of ${findings.length}`);
      assert.equal(await page.isChecked("[data-testid=include-lower]"), false);
      assert.deepEqual(problems, []);
      await context.close();
    });
  });
}
