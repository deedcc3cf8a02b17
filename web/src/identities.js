// The identities tab: every identity with findings or heavy traffic, ranked by risk, and the
// profile of one identity: its class and peer group (when the engine reports them), what it did
// (verbs, resources, namespaces, source IPs, clients, response codes), when it is active (an
// hour-of-week heat map), its request rate over time, its findings, and its least privilege
// (privilege.js).

import { disposeCharts, timelineChart } from "./charts.js";
import { emptyState, h, replace, table } from "./dom.js";
import { fmtInt, fmtSpan, fmtTime, requestKey, severityRank } from "./format.js";
import { identitiesByRisk } from "./overview.js";
import { leastPrivilegeSection } from "./privilege.js";

const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

export function renderIdentityList(app, panel) {
  disposeCharts(panel);
  const ranked = identitiesByRisk(app.findings, app.result.overview.topIdentities);
  const search = h("input", { type: "search", class: "search", placeholder: "Open an identity by name", "aria-label": "Identity name", list: "all-identities" });
  const go = () => search.value.trim() && app.showProfile(search.value.trim());
  search.addEventListener("keydown", (e) => e.key === "Enter" && go());
  replace(
    panel,
    h(
      "div",
      { class: "toolbar" },
      search,
      h("datalist", { id: "all-identities" }, ranked.map((r) => h("option", { value: r.identity }))),
      h("button", { type: "button", class: "button small", on: { click: go } }, "Open"),
    ),
    h(
      "section",
      { class: "card" },
      h("h2", {}, "Identities by risk"),
      h("p", { class: "muted small" }, "Identities with findings, then the busiest ones."),
      ranked.length
        ? table(
            ["Identity", "Class", "Worst", "Findings", "Top score", "Requests", "Denied"],
            ranked.map((r) => [
              h("button", { type: "button", class: "link", on: { click: () => app.showProfile(r.identity) } }, r.identity),
              r.class || "–",
              r.worst ? h("span", { class: `badge sev-${r.worst}` }, r.worst) : "–",
              fmtInt(r.findings),
              r.findings ? String(r.maxScore) : "–",
              r.requests === null ? "–" : fmtInt(r.requests),
              r.denied === null ? "–" : fmtInt(r.denied),
            ]),
          )
        : emptyState("No identities", null),
    ),
  );
}

function counts(title, rows, total) {
  if (!rows?.length) return null;
  return h(
    "section",
    { class: "card mini" },
    h("h3", {}, title),
    h(
      "table",
      { class: "table compact bars" },
      h(
        "tbody",
        {},
        rows.map((r) =>
          h(
            "tr",
            {},
            h("td", { class: "mono value", title: r.value }, r.value),
            h("td", { class: "num" }, fmtInt(r.count)),
            h("td", { class: "bar-cell" }, h("span", { class: "bar", style: { "--share": Math.max(0.01, r.count / total).toFixed(4) } })),
          ),
        ),
      ),
    ),
  );
}

function heatMap(grid) {
  const max = Math.max(1, ...grid.flat());
  return h(
    "div",
    { class: "heatmap", role: "table", "aria-label": "Requests by day of week and hour of day (UTC)" },
    h("div", { class: "hm-row", role: "row" }, h("span", { class: "hm-label" }), Array.from({ length: 24 }, (_, hour) => h("span", { class: "hm-hour", role: "columnheader" }, hour % 3 === 0 ? String(hour).padStart(2, "0") : ""))),
    grid.map((row, day) =>
      h(
        "div",
        { class: "hm-row", role: "row" },
        h("span", { class: "hm-label", role: "rowheader" }, DAYS[day]),
        row.map((n, hour) =>
          h("span", {
            class: n ? "hm-cell" : "hm-cell zero",
            role: "cell",
            title: `${DAYS[day]} ${String(hour).padStart(2, "0")}:00–${String(hour).padStart(2, "0")}:59 UTC: ${fmtInt(n)} requests`,
            style: { "--v": (n / max).toFixed(3) },
          }),
        ),
      ),
    ),
  );
}

/** Renders a profile the engine computed (class, peer group, learned baseline), whatever its fields. */
function learnedProfile(profile) {
  const facts = [];
  const lists = [];
  for (const [field, value] of Object.entries(profile)) {
    if (value === null || value === undefined || field === "identity") continue;
    const key = field.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase().replace(/\bips\b/, "IPs");
    if (typeof value !== "object") facts.push(h("div", {}, h("dt", {}, key), h("dd", {}, String(value))));
    else if (Array.isArray(value) && value.every((v) => v && typeof v === "object" && "value" in v && "count" in v)) {
      lists.push(counts(key, value, Math.max(1, ...value.map((v) => v.count))));
    } else lists.push(h("section", { class: "card mini" }, h("h3", {}, key), h("pre", { class: "raw mono small" }, JSON.stringify(value, null, 2))));
  }
  return [h("dl", { class: "facts" }, facts), h("div", { class: "mini-grid" }, lists)];
}

export async function renderProfile(app, panel, identity) {
  disposeCharts(panel);
  replace(panel, h("p", { class: "muted" }, "Loading the profile…"));
  const [{ activity, profile }, privilege] = await Promise.all([
    app.engine.call("identity", { identity }),
    app.engine.capabilities?.leastPrivilege ? app.engine.call("leastPrivilege", { identity }) : null,
  ]);
  disposeCharts(panel);
  const back = h("button", { type: "button", class: "button small", on: { click: () => renderIdentityList(app, panel) } }, "← All identities");
  if (!activity) {
    replace(panel, back, emptyState(`No request by ${identity}`, "Identities are matched by their exact name (the impersonated user, when there was one)."));
    return;
  }
  const findings = app.findings.filter((f) => f.identity === identity).sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || (b.score ?? 0) - (a.score ?? 0));
  const klass = profile?.class ?? profile?.identityClass ?? findings.find((f) => f.identityClass)?.identityClass;
  const peer = profile?.peerGroup ?? profile?.peer_group;
  const rate = h("section", { class: "card" }, h("h3", {}, "Requests over time"));
  const findingList = findings.length
    ? table(
        ["Severity", "Time (UTC)", "Verb", "Resource", "Why"],
        findings.slice(0, 200).map((f) => [
          h("span", { class: `badge sev-${f.severity}` }, f.severity),
          h("span", { class: "mono nowrap" }, fmtTime(f.timestamp)),
          h("span", { class: "mono nowrap" }, f.verb),
          h("button", { type: "button", class: "link mono", on: { click: () => app.showFinding(requestKey(f)) } }, f.resource),
          f.reasons?.[0]?.message ?? (f.rules ?? []).join(", "),
        ]),
        { class: "table compact" },
      )
    : h("p", { class: "muted" }, "No findings for this identity.");
  replace(
    panel,
    back,
    h(
      "div",
      { class: "profile-head" },
      h("h2", { class: "mono", "data-testid": "profile-identity" }, identity),
      h(
        "dl",
        { class: "facts" },
        h("div", {}, h("dt", {}, "Class"), h("dd", {}, klass ?? h("span", { class: "muted" }, "not reported by this build"))),
        h("div", {}, h("dt", {}, "Peer group"), h("dd", {}, peer ?? h("span", { class: "muted" }, "not reported by this build"))),
        h("div", {}, h("dt", {}, "Requests"), h("dd", {}, `${fmtInt(activity.requests)} (${fmtInt(activity.denied)} denied)`)),
        h("div", {}, h("dt", {}, "Active"), h("dd", {}, fmtSpan(activity.first, activity.last))),
        activity.actors.length ? h("div", {}, h("dt", {}, "Impersonated by"), h("dd", { class: "mono" }, activity.actors.map((a) => a.value).join(", "))) : null,
        activity.groups.length ? h("div", {}, h("dt", {}, "Groups"), h("dd", { class: "mono" }, activity.groups.join(", "))) : null,
      ),
    ),
    h("section", { class: "card" }, h("h3", {}, `Findings (${fmtInt(findings.length)})`), h("div", { class: "scroll-box" }, findingList)),
    h("div", { class: "grid two" }, rate, h("section", { class: "card" }, h("h3", {}, "Active hours (UTC)"), heatMap(activity.hourOfWeek))),
    h("h3", { class: "section-title" }, "Observed activity"),
    h(
      "div",
      { class: "mini-grid" },
      counts("Verbs", activity.verbs, activity.requests),
      counts("Resources", activity.resources, activity.requests),
      counts("Verb × resource", activity.verbResources, activity.requests),
      counts("Namespaces", activity.namespaces, activity.requests),
      counts("Source IPs", activity.sourceIps, activity.requests),
      counts("Clients", activity.clients, activity.requests),
      counts("Response codes", activity.codes, activity.requests),
    ),
    leastPrivilegeSection(app, identity, privilege),
    profile ? [h("h3", { class: "section-title" }, "Learned baseline"), learnedProfile(profile)] : null,
  );
  if (activity.rate) timelineChart(rate, activity.rate, { height: 180 });
}
