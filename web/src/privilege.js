// The "Least privilege" section of an identity's profile: the RBAC the engine generated from
// what the identity was allowed to do (YAML to copy or download), what it was refused, and,
// when the cluster's granted RBAC has been loaded, what it holds but never used.
//
//   worker: Session.leastPrivilege(identity) ─▶ {identity, yaml, granted} ─▶ this section
//
// Every string here came from a log or a user's file: text nodes only (dom.js).

import { download, emptyState, h, table } from "./dom.js";
import { fmtInt, fmtTime } from "./format.js";

/** A file name for an identity's manifest. */
function fileName(identity) {
  const slug = identity.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "") || "identity";
  return `rbac-${slug}.yaml`;
}

async function copyText(text, pre) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Without the clipboard API (some file:// pages), copy the selected text the old way.
    const range = document.createRange();
    range.selectNodeContents(pre);
    const selection = getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    const done = document.execCommand("copy");
    selection.removeAllRanges();
    return done;
  }
}

function scope(namespace) {
  return namespace ? namespace : h("span", { class: "muted" }, "cluster-wide");
}

function requestsTable(groups, testid) {
  return table(
    ["Verb", "Resource", "Namespace", "Name", "Requests", "Code", "First (UTC)"],
    groups.map((g) => [
      h("span", { class: "mono" }, g.verb),
      h("span", { class: "mono", title: g.apiGroup ? `group ${g.apiGroup}` : "core group" }, g.resource),
      g.namespace || h("span", { class: "muted" }, "–"),
      h("span", { class: "mono" }, g.name || "–"),
      fmtInt(g.requests),
      String(g.code || "–"),
      h("span", { class: "mono nowrap", title: `auditID ${g.auditID}` }, fmtTime(g.first)),
    ]),
    { class: "table compact", "data-testid": testid },
  );
}

function rulesSummary(identity) {
  const rules = identity.roles.reduce((n, r) => n + r.rules.length, 0);
  const counts = identity.requests;
  const parts = [`${fmtInt(rules)} rules in ${fmtInt(identity.roles.length)} roles from ${fmtInt(counts.allowed)} allowed requests`, `${fmtInt(counts.denied)} refused`];
  if (counts.impersonationChecks) parts.push(`${fmtInt(counts.impersonationChecks)} impersonation checks`);
  if (counts.undetermined) parts.push(`${fmtInt(counts.undetermined)} undetermined`);
  return parts.join(" · ");
}

/** `pods, services (apps) named x`, or the paths of a non-resource rule. */
function unusedWhat(u) {
  if (u.nonResourceURLs?.length) return u.nonResourceURLs.join(", ");
  const groups = (u.apiGroups ?? []).filter((g) => g);
  const names = u.resourceNames?.length ? ` named ${u.resourceNames.join(", ")}` : "";
  return `${(u.resources ?? []).join(", ")}${groups.length ? ` (${groups.join(", ")})` : ""}${names}`;
}

function grantedPart(app, view) {
  const comparison = view.identity.granted;
  if (!comparison) {
    const error = app.granted?.error;
    return h(
      "div",
      { class: "card mini", "data-testid": "rbac-granted-hint" },
      h("h4", {}, "Granted RBAC"),
      error
        ? h("p", { class: "code bad" }, error)
        : h("p", { class: "muted" }, "Load the cluster's RBAC (kubectl get roles,clusterroles,rolebindings,clusterrolebindings -A -o yaml) with Granted RBAC… to see what this identity holds but never uses."),
    );
  }
  const p = comparison.permissions;
  const own = comparison.unused.filter((u) => !u.everyone);
  return h(
    "div",
    { "data-testid": "rbac-granted" },
    h("h4", {}, `Against the granted RBAC (${view.granted?.file ?? "loaded file"})`),
    h(
      "p",
      { "data-testid": "rbac-permissions" },
      p.granted ? `Used ${fmtInt(p.used)} of the ${fmtInt(p.granted)} permissions its own bindings grant (${(100 * p.usedShare).toFixed(1)} %).` : "Its own bindings grant nothing.",
      p.everyone ? ` ${fmtInt(p.everyone)} more come through groups every client has.` : "",
    ),
    comparison.flags.length
      ? h(
          "ul",
          { class: "plain-list", "data-testid": "rbac-flags" },
          comparison.flags.map((f) => h("li", {}, h("span", { class: `badge ${f.kind === "escalation" || f.kind === "cluster-admin" ? "sev-high" : "sev-medium"}` }, f.kind), " ", f.message)),
        )
      : null,
    own.length
      ? [
          h("h4", {}, `Granted but never used (${fmtInt(own.length)})`),
          h(
            "div",
            { class: "scroll-box" },
            table(
              ["Scope", "Unused verbs", "Resources", "Used verbs", "From"],
              own.map((u) => [
                scope(u.namespace),
                h("span", { class: "mono" }, u.verbs.join(", ")),
                h("span", { class: "mono" }, unusedWhat(u)),
                h("span", { class: "mono" }, u.usedVerbs.join(", ") || "–"),
                h("span", { class: "small" }, `${u.binding} → ${u.role}`),
              ]),
              { class: "table compact", "data-testid": "rbac-unused" },
            ),
          ),
        ]
      : h("p", { class: "muted" }, "Every permission its own bindings grant was used."),
    comparison.notGranted.length
      ? [h("h4", {}, "Allowed in the logs, refused by the granted RBAC (another authorizer allowed them)"), requestsTable(comparison.notGranted, "rbac-not-granted")]
      : null,
  );
}

/** The section for one identity, from the engine's view (or null when this build has none). */
export function leastPrivilegeSection(app, identityName, view) {
  if (!view) return null;
  const title = h("h3", { class: "section-title" }, "Least privilege");
  if (!view.identity) return [title, emptyState("Nothing to generate", `No request by ${identityName} was allowed or refused in these logs.`)];
  const identity = view.identity;
  const pre = h("pre", { class: "raw mono small", "data-testid": "rbac-yaml" }, view.yaml);
  const status = h("span", { class: "muted small", role: "status" });
  const copy = h(
    "button",
    {
      type: "button",
      class: "button small",
      "data-testid": "rbac-copy",
      on: {
        click: async () => {
          status.textContent = (await copyText(view.yaml, pre)) ? "Copied." : "Copying is not allowed here: select the text instead.";
        },
      },
    },
    "Copy YAML",
  );
  const save = h(
    "button",
    { type: "button", class: "button small", "data-testid": "rbac-download", on: { click: () => download(fileName(identityName), view.yaml, "application/yaml") } },
    "Download YAML",
  );
  return [
    title,
    h(
      "section",
      { class: "card", "data-testid": "least-privilege" },
      h("p", { "data-testid": "rbac-summary" }, rulesSummary(identity)),
      identity.roles.length ? h("div", { class: "toolbar" }, copy, save, status) : h("p", { class: "muted" }, "No request of this identity was allowed: there is nothing to grant."),
      identity.roles.length ? pre : null,
      identity.notes.length ? h("ul", { class: "plain-list small" }, identity.notes.map((n) => h("li", {}, n))) : null,
      identity.denied.length ? [h("h4", {}, `Refused, not granted (${fmtInt(identity.denied.length)})`), requestsTable(identity.denied, "rbac-denied")] : null,
      identity.refusedButGranted.length
        ? [h("h4", {}, "Refused at times, yet granted: an allowed request needs the same permission"), requestsTable(identity.refusedButGranted, "rbac-refused-granted")]
        : null,
      grantedPart(app, view),
    ),
  ];
}
