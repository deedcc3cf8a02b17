// The "Least privilege" section of an identity's profile, in both builds: the generated YAML
// (as the native core wrote it for the same input, crates/auditlens-wasm/tests/expected/), its
// copy and download buttons, the refused requests, and, once the cluster's granted RBAC is
// loaded through its own input, the unused permissions, flags and what RBAC does not explain.

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { ROOT, RESULTS, analyze, browserAndServer, nativeExpected, openPage, singleFileUrl, tempDir } from "./harness.mjs";

const CLUSTER = path.join(ROOT, "tests/fixtures/rbac/cluster.ndjson");
const GRANTED = path.join(ROOT, "tests/fixtures/rbac/granted.yaml");

const dir = tempDir("privilege");
const env = browserAndServer({ dir });

async function openProfile(page, identity) {
  await page.keyboard.press("3");
  // From another profile, back to the list first.
  const back = await page.$("#panel-identities button:has-text('All identities')");
  if (back) await back.click();
  await page.fill("#panel-identities input[type=search]", identity);
  await page.keyboard.press("Enter");
  await page.waitForSelector("[data-testid=least-privilege]");
  assert.equal(await page.textContent("[data-testid=profile-identity]"), identity);
}

const rows = (page, testid) => page.$$eval(`[data-testid=${testid}] tbody tr`, (trs) => trs.length);

for (const mode of ["served", "single"]) {
  describe(`least privilege (${mode === "served" ? "served folder" : "single file over file://"})`, () => {
    const open = () => openPage(env.browser, mode === "served" ? env.server.url : singleFileUrl());

    test("the profile shows the generated YAML, copies and downloads it, and lists refusals", async () => {
      const expected = nativeExpected("rbac-cluster").leastPrivilege.carol;
      const { context, page, problems } = await open();
      if (mode === "served") await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: env.server.origin });
      assert.equal(await analyze(page, [CLUSTER]), "done");
      await openProfile(page, "carol");
      // The manifest, exactly as the native core writes it.
      assert.equal(await page.textContent("[data-testid=rbac-yaml]"), expected.yaml);
      assert.match(await page.textContent("[data-testid=rbac-summary]"), /8 rules in 2 roles from 22 allowed requests · 2 refused/);
      assert.equal(await rows(page, "rbac-denied"), expected.identity.denied.length);
      assert.match(await page.textContent("[data-testid=rbac-denied]"), /payments-db/);
      // Without granted RBAC, the section says how to load it.
      assert.match(await page.textContent("[data-testid=rbac-granted-hint]"), /kubectl get roles,clusterroles,rolebindings,clusterrolebindings/);

      const [file] = await Promise.all([page.waitForEvent("download"), page.click("[data-testid=rbac-download]")]);
      assert.equal(file.suggestedFilename(), "rbac-carol.yaml");
      assert.equal(fs.readFileSync(await file.path(), "utf8"), expected.yaml);

      await page.click("[data-testid=rbac-copy]");
      await page.waitForFunction(() => document.querySelector("[data-testid=least-privilege] [role=status]").textContent !== "");
      assert.equal(await page.textContent("[data-testid=least-privilege] [role=status]"), "Copied.");
      if (mode === "served") assert.equal(await page.evaluate(() => navigator.clipboard.readText()), expected.yaml);
      await page.screenshot({ path: path.join(RESULTS, `${mode}-least-privilege.png`), fullPage: true });
      assert.deepEqual(problems, []);
      await context.close();
    });

    test("granted RBAC loaded beside the logs: unused permissions, flags, what RBAC does not explain", async () => {
      const expected = nativeExpected("rbac-cluster").leastPrivilegeGranted;
      const { context, page, problems } = await open();
      assert.equal(await analyze(page, [CLUSTER]), "done");
      await openProfile(page, "carol");
      await page.setInputFiles("#granted-input", GRANTED);
      await page.waitForSelector("[data-testid=rbac-granted]");
      assert.match(await page.textContent("[data-testid=granted-chip]"), /granted: granted\.yaml/);
      const carol = expected.carol;
      const own = carol.unused.filter((u) => !u.everyone);
      assert.equal(await rows(page, "rbac-unused"), own.length);
      assert.equal(await page.$$eval("[data-testid=rbac-flags] li", (lis) => lis.length), carol.flags.length);
      const permissions = await page.textContent("[data-testid=rbac-permissions]");
      assert.match(permissions, new RegExp(`Used ${carol.permissions.used} of the ${carol.permissions.granted} permissions`));
      for (const flag of carol.flags) assert.ok((await page.textContent("[data-testid=rbac-flags]")).includes(flag.message), flag.message);
      await page.screenshot({ path: path.join(RESULTS, `${mode}-least-privilege-granted.png`), fullPage: true });

      // The kubelet's secrets: allowed by the Node authorizer, refused by RBAC, and shown.
      await openProfile(page, "system:node:n1");
      await page.waitForSelector("[data-testid=rbac-not-granted]");
      assert.equal(await rows(page, "rbac-not-granted"), 3);
      assert.match(await page.textContent("[data-testid=rbac-permissions]"), /Its own bindings grant nothing/);

      // A file that is not RBAC is refused, named, and the comparison goes away.
      const bad = path.join(dir, "not-rbac.yaml");
      fs.writeFileSync(bad, "kind: Pod\nmetadata: {name: p}\n");
      await page.setInputFiles("#granted-input", bad);
      await page.waitForSelector("[data-testid=rbac-granted-hint] .code.bad");
      assert.match(await page.textContent("[data-testid=rbac-granted-hint]"), /not-rbac\.yaml holds no Role/);
      assert.match(await page.textContent("[data-testid=granted-chip]"), /refused/);
      assert.deepEqual(problems, []);
      await context.close();
    });

    test("granted RBAC chosen before the logs applies to their analysis", async () => {
      const expected = nativeExpected("rbac-cluster").leastPrivilegeGranted["system:serviceaccount:monitoring:prometheus"];
      const { context, page, problems } = await open();
      await page.setInputFiles("#granted-input", GRANTED);
      await page.waitForSelector("#idle-notice:not([hidden])");
      assert.equal(await analyze(page, [CLUSTER]), "done");
      await openProfile(page, "system:serviceaccount:monitoring:prometheus");
      await page.waitForSelector("[data-testid=rbac-granted]");
      assert.match(await page.textContent("[data-testid=rbac-permissions]"), new RegExp(`Used ${expected.permissions.used} of the ${expected.permissions.granted} permissions`));
      assert.deepEqual(problems, []);
      await context.close();
    });
  });
}
