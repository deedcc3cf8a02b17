// The Policy tab end to end: it starts from the policy the engine suggests for the logs, shows
// its lints, its volume a day against the observed one (a uPlot chart) and what it would blind,
// and offers the suggested policy as a download; a policy file loaded instead is checked and
// simulated the same way. What the page shows is checked against the native core's documents
// for the same input (crates/auditlens-wasm/tests/expected/, kept by that crate's parity test),
// and against what the core says of the demo log's exec requests.

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { RESULTS, ROOT, THIRD_PARTY, analyze, browserAndServer, nativeExpected, openPage, singleFileUrl, tempDir } from "./harness.mjs";

const AUDIT2RBAC = path.join(THIRD_PARTY, "audit2rbac/demo.v1beta1.ndjson");
const DEMO = path.join(ROOT, "tests/fixtures/demo/demo-audit.log.gz");
const SECRETS_EXEC = path.join(ROOT, "tests/fixtures/policy/secrets-with-bodies-exec-unlogged.yaml");
const REFUSED = path.join(ROOT, "tests/fixtures/policy/refused.yaml");

const dir = tempDir("policy");
const env = browserAndServer({ dir });

/** Opens the Policy tab and waits for the engine's suggestion to be checked and drawn. */
async function openPolicyTab(page) {
  await page.keyboard.press("5");
  assert.equal(await page.getAttribute("#tab-policy", "aria-selected"), "true");
  await page.waitForSelector("[data-testid=policy-verdict]", { timeout: 60_000 });
}

/** Loads a policy file through the tab's button and waits until it is shown. */
async function loadPolicy(page, file) {
  const [chooser] = await Promise.all([page.waitForEvent("filechooser"), page.click("[data-testid=policy-load]")]);
  await chooser.setFiles(file);
  await page.waitForFunction((name) => document.querySelector("[data-testid=policy-verdict] h2")?.textContent.includes(name), path.basename(file));
}

const lintCodes = (page) => page.$$eval("[data-testid=policy-lints] [data-code]", (els) => els.map((e) => e.dataset.code));

describe("the Policy tab", () => {
  test("starts from the suggested policy, which matches the native core's, and downloads it", async () => {
    const expected = nativeExpected("audit2rbac");
    const { context, page, problems } = await openPage(env.browser, env.server.url);
    assert.equal(await analyze(page, [AUDIT2RBAC]), "done");
    await openPolicyTab(page);
    const shown = await page.textContent("[data-testid=policy-text]");
    assert.equal(shown, expected.policySuggest.yaml);
    assert.ok(shown.startsWith("# Audit policy suggested by `auditlens policy suggest`."), shown);
    assert.ok(shown.includes("\napiVersion: audit.k8s.io/v1\nkind: Policy\n"), shown);
    // It loads, with no error; the volume shown is the native simulation's.
    const verdict = await page.$eval("[data-testid=policy-verdict]", (e) => ({ ...e.dataset }));
    assert.equal(verdict.loads, "true");
    assert.equal(verdict.errors, "0");
    const volume = await page.$eval("[data-testid=policy-volume]", (e) => ({ ...e.dataset }));
    assert.equal(Number(volume.observed), expected.policySuggest.simulation.observedPerDay.bytes);
    assert.equal(Number(volume.simulated), expected.policySuggest.simulation.simulatedPerDay.bytes);
    assert.ok(Number(volume.simulated) < Number(volume.observed));
    // The chart: uPlot's canvas with both series in its legend.
    await page.waitForSelector("[data-testid=policy-chart] canvas");
    const legend = await page.textContent("[data-testid=policy-chart]");
    assert.match(legend, /Observed/);
    assert.match(legend, /With this policy/);
    const [file] = await Promise.all([page.waitForEvent("download"), page.click("[data-testid=policy-download]")]);
    assert.equal(fs.readFileSync(await file.path(), "utf8"), expected.policySuggest.yaml);
    assert.equal(file.suggestedFilename(), "audit-policy.yaml");
    await page.screenshot({ path: path.join(RESULTS, "policy-suggested.png"), fullPage: true });
    assert.deepEqual(problems, []);
    await context.close();
  });

  test("a loaded policy is checked and simulated as the native core does", async () => {
    const expected = nativeExpected("audit2rbac");
    const { context, page, problems } = await openPage(env.browser, env.server.url);
    assert.equal(await analyze(page, [AUDIT2RBAC]), "done");
    await openPolicyTab(page);
    await loadPolicy(page, SECRETS_EXEC);
    const verdict = await page.$eval("[data-testid=policy-verdict]", (e) => ({ ...e.dataset }));
    assert.deepEqual(
      [verdict.loads, Number(verdict.errors), Number(verdict.warnings)],
      [String(expected.policyCheck.loads), expected.policyCheck.errors, expected.policyCheck.warnings],
    );
    assert.deepEqual(await lintCodes(page), expected.policyCheck.lints.map((l) => l.code));
    assert.ok((await lintCodes(page)).includes("secret-bodies"));
    assert.ok((await lintCodes(page)).includes("security-unlogged"));
    const volume = await page.$eval("[data-testid=policy-volume]", (e) => ({ ...e.dataset }));
    assert.equal(Number(volume.simulated), expected.policySimulate.simulatedPerDay.bytes);
    // A policy the server refuses: its reasons, and no simulation.
    await loadPolicy(page, REFUSED);
    const refused = await page.$eval("[data-testid=policy-verdict]", (e) => ({ ...e.dataset }));
    assert.equal(refused.loads, "false");
    assert.ok((await lintCodes(page)).every((code) => ["refused", "no-catch-all", "request-received"].includes(code)));
    assert.match(await page.textContent("#panel-policy"), /no kind "Policy" is registered for version "audit\.k8s\.io\/v1beta1"/);
    assert.equal(await page.$("[data-testid=policy-volume]"), null);
    // Back to the suggested one.
    await page.click("text=Use the suggested policy");
    await page.waitForFunction(() => document.querySelector("[data-testid=policy-verdict]")?.dataset.loads === "true");
    assert.deepEqual(problems, []);
    await context.close();
  });

  test("on the demo log, a policy that leaves exec unlogged shows the exec rule going blind", async () => {
    const { context, page, problems } = await openPage(env.browser, env.server.url);
    assert.equal(await analyze(page, [DEMO]), "done");
    await openPolicyTab(page);
    // The suggested policy blinds no rule that fired.
    assert.match(await page.textContent("[data-testid=policy-blind]"), /Nothing/);
    await loadPolicy(page, SECRETS_EXEC);
    const rows = await page.$$eval("[data-testid=policy-blind-rules] tbody tr", (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
    const exec = rows.find((r) => r[0] === "k8s.pod.exec");
    assert.ok(exec, JSON.stringify(rows));
    assert.equal(exec[1], "Metadata");
    assert.equal(exec[2], exec[3], "every exec hit is lost");
    assert.ok(Number(exec[3].replaceAll(",", "")) > 0);
    await page.screenshot({ path: path.join(RESULTS, "policy-blind.png"), fullPage: true });
    assert.deepEqual(problems, []);
    await context.close();
  });

  test("text of a policy file stays text", async () => {
    const hostile = path.join(dir, "hostile.yaml");
    fs.writeFileSync(
      hostile,
      'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  users: ["<img src=x onerror=window.pwned=1>"]\n  "<b>bold</b>": 1\n- level: Metadata\n',
    );
    const { context, page, problems } = await openPage(env.browser, env.server.url);
    assert.equal(await analyze(page, [AUDIT2RBAC]), "done");
    await openPolicyTab(page);
    await loadPolicy(page, hostile);
    assert.match(await page.textContent("[data-testid=policy-lints]"), /<b>bold<\/b>/);
    assert.equal(await page.$("#panel-policy img, #panel-policy b"), null);
    assert.equal(await page.evaluate(() => window.pwned), undefined);
    assert.deepEqual(problems, []);
    await context.close();
  });

  test("works offline in the single file", async () => {
    const { context, page, problems } = await openPage(env.browser, singleFileUrl());
    assert.equal(await analyze(page, [AUDIT2RBAC]), "done");
    await openPolicyTab(page);
    assert.equal(await page.textContent("[data-testid=policy-text]"), nativeExpected("audit2rbac").policySuggest.yaml);
    await page.waitForSelector("[data-testid=policy-chart] canvas");
    assert.deepEqual(problems, []);
    await context.close();
  });
});
