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
  for (const kind of ["findings-json", "findings-csv", "findings-ocsf", "findings-ecs", "report-html"]) {
    await page.click("#export-button");
    await Promise.all([page.waitForEvent("download"), page.click(`[data-export=${kind}]`)]);
  }
}

/** Events whose bodies and addresses carry payloads into rule messages: a privileged pod
 * whose container name and image are markup, from an address on an indicator list whose name
 * is markup too (set by the rules config). */
function hostileBodies() {
  const events = [];
  for (let i = 0; i < 6; i++) {
    events.push({
      kind: "Event",
      apiVersion: "audit.k8s.io/v1",
      level: "Request",
      auditID: `body-${i}`,
      stage: "ResponseComplete",
      requestURI: "/api/v1/namespaces/shop/pods",
      verb: "create",
      user: { username: "alice@example.com", groups: ["system:authenticated"] },
      sourceIPs: ["10.9.9.9"],
      userAgent: "kubectl/v1.29.2",
      objectRef: { resource: "pods", namespace: "shop", name: `p${i}`, apiVersion: "v1" },
      responseStatus: { code: 201 },
      requestReceivedTimestamp: new Date(Date.UTC(2026, 2, 1, 3, i)).toISOString(),
      requestObject: {
        kind: "Pod",
        spec: {
          containers: [{
            name: `<img src=x onerror="window.__pwned='container'">`,
            image: `evil/<svg onload="window.__pwned='image'">:1`,
            securityContext: { privileged: true },
          }],
        },
      },
    });
  }
  const file = path.join(dir, "bodies.log");
  fs.writeFileSync(file, `${events.map((e) => JSON.stringify(e)).join("\n")}\n`);
  return file;
}

const CONFIG_PAYLOAD = `<iframe srcdoc="<script>parent.__pwned='config'</script>">`;

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

    test("secret values in a raw event show as [redacted] unless the user asks for them", async () => {
      const secret = "aHVudGVyMi1kYi1wYXNzd29yZA==";
      const token = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXRva2Vu.sig";
      const event = {
        kind: "Event",
        apiVersion: "audit.k8s.io/v1",
        level: "RequestResponse",
        auditID: "secret-1",
        stage: "ResponseComplete",
        requestURI: "/api/v1/namespaces/shop/secrets",
        verb: "create",
        user: { username: "system:anonymous", groups: ["system:unauthenticated"] },
        sourceIPs: ["198.51.100.23"],
        userAgent: "curl/8.5.0",
        objectRef: { resource: "secrets", namespace: "shop", name: "db", apiVersion: "v1" },
        responseStatus: { code: 201 },
        requestReceivedTimestamp: "2026-03-01T03:00:00Z",
        annotations: { "example.com/copied-header": `Bearer ${token}` },
        requestObject: { kind: "Secret", metadata: { name: "db" }, data: { password: secret } },
        responseObject: { kind: "Secret", metadata: { name: "db" }, data: { password: secret } },
      };
      const file = path.join(dir, "secret.log");
      fs.writeFileSync(file, `${JSON.stringify(event)}\n`);
      const { context, page, problems } = await openPage(env.browser, url());
      assert.equal(await analyze(page, [file]), "done");
      await page.click("#tab-findings");
      await page.click(`[data-audit-id="secret-1"]`);
      await page.waitForSelector("[data-testid=reveal-secrets]");
      const shown = await page.textContent(".raw");
      assert.ok(shown.includes('"password": "[redacted]"'), shown);
      assert.ok(!shown.includes(secret) && !shown.includes(token), "no secret value on the screen");
      assert.ok(shown.includes('"name": "db"'), "what the secret is stays");
      await page.check("[data-testid=reveal-secrets]");
      await page.waitForFunction((s) => document.querySelector(".raw").textContent.includes(s), secret);
      assert.ok((await page.textContent(".raw")).includes(token));
      await page.uncheck("[data-testid=reveal-secrets]");
      await page.waitForFunction((s) => !document.querySelector(".raw").textContent.includes(s), secret);
      // No export carries the value either.
      for (const kind of ["findings-json", "findings-csv", "findings-ocsf", "findings-ecs", "report-html"]) {
        await page.click("#export-button");
        const [download] = await Promise.all([page.waitForEvent("download"), page.click(`[data-export=${kind}]`)]);
        const text = fs.readFileSync(await download.path(), "utf8");
        assert.ok(!text.includes(secret) && !text.includes(token), `${kind} leaks nothing`);
      }
      assert.deepEqual(problems, []);
      await context.close();
    });

    test("markup in bodies, in rules config text and in the exported HTML report shows as text and never runs", async () => {
      const file = hostileBodies();
      const config = path.join(dir, "hostile-rules.toml");
      fs.writeFileSync(config, `[[indicators]]\nname = ${JSON.stringify(CONFIG_PAYLOAD)}\nnetworks = ["10.9.9.9"]\n`);
      const { context, page, problems } = await openPage(env.browser, url());
      const dialogs = [];
      page.on("dialog", (d) => {
        dialogs.push(d.message());
        d.dismiss();
      });
      assert.equal(await analyze(page, [file]), "done");
      await page.click("#export-button");
      const [chooser] = await Promise.all([page.waitForEvent("filechooser"), page.click("[data-export=rules-load]")]);
      await chooser.setFiles(config);
      await page.waitForFunction(() => document.querySelector(".files-line").textContent.includes("rules: hostile-rules.toml") && document.body.dataset.state === "done");
      const findings = await page.evaluate(() => window.auditlens.findings);
      const messages = findings.flatMap((f) => f.reasons.map((r) => r.message)).join("\n");
      // The list's name is quoted in the message, its own quotes escaped.
      const quoted = JSON.stringify(CONFIG_PAYLOAD);
      assert.ok(messages.includes(quoted), "the indicator list's name reaches a finding");
      assert.ok(messages.includes(`onerror="window.__pwned='container'"`), "the container name reaches a finding");
      // The detail view of a finding shows both messages as text.
      await page.click("#tab-findings");
      await page.click("[data-testid=include-lower]").catch(() => {});
      const row = await page.waitForSelector("[data-audit-id]", { timeout: 10_000 });
      await row.click();
      await page.waitForFunction(() => {
        const raw = document.querySelector(".raw")?.textContent;
        return raw && !raw.startsWith("Reading");
      });
      const detail = await page.textContent("main");
      assert.ok(detail.includes(quoted), "the list's name shows literally");
      assert.ok(detail.includes("window.__pwned='image'"), "the image shows literally");
      // The exported HTML report, opened on its own: the same text, nothing runs.
      await page.click("#export-button");
      const [download] = await Promise.all([page.waitForEvent("download"), page.click("[data-export=report-html]")]);
      const report = path.join(dir, `hostile-report-${mode}.html`);
      fs.copyFileSync(await download.path(), report);
      const reportPage = await context.newPage();
      reportPage.on("dialog", (d) => {
        dialogs.push(d.message());
        d.dismiss();
      });
      await reportPage.goto(`file://${report}`);
      const reportText = await reportPage.textContent("body");
      assert.ok(reportText.includes(quoted), "the report shows the list's name literally");
      assert.equal(await reportPage.evaluate(() => window.__pwned), undefined);
      const injectedInReport = await reportPage.$$eval("img[src=x], iframe, svg[onload]", (els) => els.length);
      assert.equal(injectedInReport, 0);
      assert.equal(await page.evaluate(() => window.__pwned), undefined);
      const injected = await page.$$eval("img[src=x], iframe, svg[onload]", (els) => els.length);
      assert.equal(injected, 0);
      assert.deepEqual(dialogs, []);
      assert.deepEqual(problems, []);
      await context.close();
    });
  });
}
