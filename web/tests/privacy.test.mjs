// Private and safe: during a full analysis (analysis, detail, profile, every export) no request
// leaves the page's own files, and log text holding script and markup is shown as text and never
// runs, in both builds.

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { THIRD_PARTY, RESULTS, SUB_PATH, analyze, browserAndServer, openPage, singleFileUrl, tempDir } from "./harness.mjs";

const dir = tempDir("privacy");

const env = browserAndServer({ dir });

const MODES = { served: () => env.server.url, single: singleFileUrl };

/** Payloads that would run or render if any of them reached the document as HTML. */
const PAYLOADS = {
  username: `<img src=x onerror="window.__pwned='username'">`,
  userAgent: `<script>window.__pwned='userAgent'</script>kubectl/v1.29`,
  namespace: `<b>bold</b><svg onload="window.__pwned='namespace'">`,
  name: `"><iframe srcdoc="<script>parent.__pwned='name'</script>">`,
  uri: `/api/v1/namespaces/x/pods/<img src=x onerror="window.__pwned='uri'">`,
  group: `<style>*{display:none}</style>`,
  ip: `<a href="javascript:window.__pwned='ip'">1.2.3.4</a>`,
  fileName: `<img src=x onerror="window.__pwned='file'">.log`,
};

function hostileLog() {
  const events = [];
  for (let i = 0; i < 40; i++) {
    events.push({
      kind: "Event",
      apiVersion: "audit.k8s.io/v1",
      level: "Request",
      auditID: `hostile-${i}-<script>window.__pwned='auditID'</script>`,
      stage: "ResponseComplete",
      requestURI: PAYLOADS.uri,
      verb: i % 2 ? "get" : "create",
      user: { username: PAYLOADS.username, groups: [PAYLOADS.group, "system:authenticated"] },
      sourceIPs: [PAYLOADS.ip],
      userAgent: PAYLOADS.userAgent,
      objectRef: { resource: i % 3 ? "secrets" : "pods", subresource: i % 5 ? undefined : "exec", namespace: PAYLOADS.namespace, name: PAYLOADS.name, apiVersion: "v1" },
      responseStatus: { code: i % 4 ? 200 : 403 },
      requestReceivedTimestamp: new Date(Date.UTC(2026, 2, 1, 3, i)).toISOString(),
      stageTimestamp: new Date(Date.UTC(2026, 2, 1, 3, i, 1)).toISOString(),
      annotations: { "authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": `<marquee>${PAYLOADS.username}</marquee>` },
    });
  }
  const lines = events.map((e) => JSON.stringify(e));
  lines.push(`not json <script>window.__pwned='diagnostic'</script>`);
  const file = path.join(dir, PAYLOADS.fileName.replaceAll("/", "_"));
  fs.writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

/** Opens every view and export of a finished analysis: the first finding's detail with its raw
 * event read back from the file, an identity's profile, the input tab, each export. */
async function exerciseEverything(page) {
  assert.equal(await page.evaluate(() => document.body.dataset.state), "done");
  await page.click("#tab-findings");
  const row = await page.waitForSelector("[data-audit-id]", { timeout: 10_000 });
  const auditId = await row.getAttribute("data-audit-id");
  await row.click();
  await page.waitForFunction(() => {
    const raw = document.querySelector(".raw")?.textContent;
    return raw && !raw.startsWith("Reading");
  });
  const raw = await page.textContent(".raw");
  assert.ok(raw.includes(auditId), "the detail view shows the finding's raw event");
  await page.click("#tab-identities");
  const back = await page.$("#panel-identities >> text=All identities");
  if (back) await back.click();
  await page.click("#panel-identities table .link");
  await page.waitForSelector("[data-testid=profile-identity]");
  await page.click("#tab-input");
  await page.waitForSelector("#panel-input .card");
  for (const kind of ["findings-json", "findings-csv", "report-html"]) {
    await page.click("#export-button");
    await Promise.all([page.waitForEvent("download"), page.click(`[data-export=${kind}]`)]);
  }
}

for (const [mode, url] of Object.entries(MODES)) {
  describe(`privacy and safety (${mode})`, () => {
    test("no request leaves the page's own files during a full analysis", async () => {
      const { context, page, problems } = await openPage(env.browser, url());
      const seen = [];
      context.on("request", (r) => seen.push(r.url()));
      assert.equal(await analyze(page, [path.join(THIRD_PARTY, "falco/events.ndjson"), path.join(THIRD_PARTY, "audit2rbac/demo.v1beta1.ndjson")]), "done");
      await exerciseEverything(page);
      await page.click("#demo-button");
      // The page is still "done" with the last analysis until the demo's starts.
      await page.waitForFunction(() => document.body.dataset.state === "done" && window.auditlens.files.some((f) => f.name.includes("demo-audit")));
      assert.ok((await page.evaluate(() => window.auditlens.result.summary.requests)) > 1000, "the demo log was analysed");
      const allowed = mode === "served" ? (u) => u.startsWith(env.server.origin + SUB_PATH) : (u) => /^(file|blob|data):/.test(u);
      const outside = seen.filter((u) => !allowed(u));
      assert.deepEqual(outside, [], `requests outside the page: ${outside.join(", ")}`);
      if (mode === "served") assert.ok(env.server.requests.every((u) => u.startsWith(SUB_PATH)), env.server.requests.join(", "));
      assert.deepEqual(problems, []);
      await context.close();
    });

    test("script and markup in log fields and file names show as text and never run", async () => {
      const file = hostileLog();
      const { context, page, problems } = await openPage(env.browser, url());
      const dialogs = [];
      page.on("dialog", (d) => {
        dialogs.push(d.message());
        d.dismiss();
      });
      assert.equal(await analyze(page, [file]), "done");
      const overview = await page.textContent("#panel-overview");
      assert.ok(overview.includes(PAYLOADS.username), "the username shows literally");
      assert.ok(overview.includes(path.basename(file)), "the file name shows literally");
      await page.click("#tab-identities");
      await page.click("#panel-identities .link");
      await page.waitForSelector("[data-testid=profile-identity]");
      assert.equal(await page.textContent("[data-testid=profile-identity]"), PAYLOADS.username);
      const profile = await page.textContent("#panel-identities");
      for (const key of ["group", "ip", "namespace"]) assert.ok(profile.includes(PAYLOADS[key]), `${key} shows literally`);
      await page.screenshot({ path: path.join(RESULTS, `${mode}-hostile-profile.png`), fullPage: true });
      await exerciseEverything(page);
      await page.click("#tab-input");
      assert.ok((await page.textContent("#panel-input")).includes(path.basename(file)));
      // Nothing ran, and none of the payloads' elements exist in the document.
      assert.equal(await page.evaluate(() => window.__pwned), undefined);
      assert.deepEqual(dialogs, []);
      const injected = await page.$$eval("img[src=x], iframe, marquee, svg[onload], main script, main style, a[href^=javascript]", (els) => els.length);
      assert.equal(injected, 0);
      assert.deepEqual(problems, []);
      await context.close();
    });
  });
}
