// The detail of one finding: why it was flagged (the core's reasons, with their baseline
// evidence), the detection rules it hit with their ATT&CK techniques, the raw event re-read from
// its file and pretty-printed, and the identity's requests just before and after it.

import { emptyState, h, replace, table } from "./dom.js";
import { fmtTime, requestKey } from "./format.js";

let token = 0;

/** The raw record as indented JSON; for an EventList record, only the item with this auditID
 * (or, for a request logged without one, the item its key names: `~FILE.OFFSET.INDEX`). */
export function prettyEvent(text, auditID, key = null) {
  try {
    let value = JSON.parse(text);
    if (Array.isArray(value?.items)) {
      const index = auditID == null ? Number(/^~\d+\.\d+\.(\d+)$/.exec(key ?? "")?.[1] ?? 0) : -1;
      const item = auditID == null ? value.items.filter((i) => i?.auditID == null)[index] : value.items.find((i) => i?.auditID === auditID);
      value = item ?? value;
    }
    return JSON.stringify(value, null, 2);
  } catch {
    return text;
  }
}

function attackLink(technique) {
  // Shown as text, not a link: the page makes no requests and opens nothing by itself.
  return h("span", { class: "chip mono", title: "MITRE ATT&CK technique" }, technique);
}

function section(title, ...content) {
  return h("section", { class: "detail-section" }, h("h3", {}, title), ...content);
}

export async function renderDetail(app, container, finding) {
  const mine = ++token;
  const identityLink = h(
    "button",
    { type: "button", class: "link", title: "Open this identity's profile", on: { click: () => app.showProfile(finding.identity) } },
    finding.identity,
  );
  const reasons = (finding.reasons ?? []).length
    ? h(
        "ul",
        { class: "reasons" },
        finding.reasons.map((r) => h("li", {}, h("span", { class: "chip mono" }, r.code), " ", h("span", {}, r.message))),
      )
    : h("p", { class: "muted" }, "No behavioural reason: flagged by detection rules only.");
  const rulesBox = h("div", {}, (finding.rules ?? []).length ? h("p", { class: "muted" }, "Loading rules…") : h("p", { class: "muted" }, "No detection rule matched this request."));
  const raw = h("pre", { class: "raw mono", tabindex: 0, "aria-label": "Raw event" }, "Reading the event from its file…");
  // Shown when secret values were replaced: a choice to see them.
  const rawNote = h("div", {});
  const around = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  replace(
    container,
    h(
      "div",
      { class: "detail-head" },
      h("div", {}, h("span", { class: `badge sev-${finding.severity}` }, finding.severity), h("span", { class: "score-big", title: "Score 0-100" }, String(finding.score ?? ""))),
      h("h2", { class: "mono" }, `${finding.verb} ${finding.resource}`),
      h("p", { class: "mono detail-target" }, [finding.namespace, finding.name].filter(Boolean).join("/") || "(cluster scope)"),
      h(
        "dl",
        { class: "facts" },
        h("div", {}, h("dt", {}, "Identity"), h("dd", {}, identityLink)),
        h("div", {}, h("dt", {}, "Time (UTC)"), h("dd", { class: "mono" }, fmtTime(finding.timestamp))),
        h("div", {}, h("dt", {}, "Source"), h("dd", { class: "mono" }, `${finding.file}:${finding.line}`)),
        h("div", {}, h("dt", {}, "auditID"), h("dd", { class: "mono small" }, finding.auditID ?? "none (logged without one)")),
      ),
    ),
    section("Why it was flagged", reasons),
    section("Detection rules", rulesBox),
    section("Raw event", rawNote, raw),
    section(`What ${finding.identity} did around it`, around),
  );

  const [detail, hits, neighbours] = await Promise.all([
    app.engine.call("raw", { auditID: requestKey(finding) }).catch((e) => ({ error: e.message })),
    (finding.rules ?? []).length ? app.engine.call("ruleHits", { auditID: requestKey(finding) }).catch(() => null) : null,
    app.engine.call("neighbours", { auditID: requestKey(finding), before: 10, after: 10 }).catch(() => []),
  ]);
  if (mine !== token) return;

  raw.textContent = detail.text ? prettyEvent(detail.text, finding.auditID, requestKey(finding)) : `The raw event is not available: ${detail.error}`;
  if (detail.redacted) {
    const reveal = h("input", { type: "checkbox", "data-testid": "reveal-secrets" });
    reveal.addEventListener("change", async () => {
      const again = await app.engine.call("raw", { auditID: requestKey(finding), reveal: reveal.checked }).catch((e) => ({ error: e.message }));
      if (mine !== token) return;
      raw.textContent = again.text ? prettyEvent(again.text, finding.auditID, requestKey(finding)) : `The raw event is not available: ${again.error}`;
    });
    replace(
      rawNote,
      h(
        "p",
        { class: "muted small" },
        "Secret values (Secret data, tokens, bearer tokens, credentials in ConfigMaps) are shown as [redacted]. ",
        h("label", {}, reveal, " Show them"),
      ),
    );
  }

  if ((finding.rules ?? []).length) {
    const byRule = new Map((hits ?? []).map((hit) => [hit.rule, hit]));
    replace(
      rulesBox,
      table(
        ["Rule", "Severity", "ATT&CK", "What matched"],
        finding.rules.map((rule) => {
          const hit = byRule.get(rule);
          return [
            h("span", { class: "mono" }, rule),
            hit ? h("span", { class: `badge sev-${hit.severity}` }, hit.severity) : "–",
            hit ? (hit.techniques ?? []).map(attackLink) : "–",
            hit?.message ?? "",
          ];
        }),
      ),
    );
  }

  if (!neighbours.length) {
    replace(around, emptyState("No other request of this identity", null));
  } else {
    const rows = neighbours.map((r) => {
      const current = r.request === requestKey(finding);
      return [
        h("span", { class: "mono nowrap" }, fmtTime(r.timestamp)),
        h("span", { class: "mono nowrap" }, r.verb),
        h("span", { class: "mono" }, r.resource),
        [r.namespace, r.name].filter(Boolean).join("/"),
        h("span", { class: r.code >= 400 ? "code bad" : "code" }, r.code ? String(r.code) : "–"),
        (r.sourceIps ?? [])[0] ?? "",
        current ? h("strong", {}, "this request") : "",
      ];
    });
    const t = table(["Time", "Verb", "Resource", "Namespace/name", "Code", "Source IP", ""], rows, { class: "table compact" });
    const index = neighbours.findIndex((r) => r.request === requestKey(finding));
    t.tBodies[0].rows[index]?.classList.add("current");
    replace(around, t);
  }
}

export function clearDetail(container) {
  token++;
  replace(container, emptyState("No finding selected", null));
}
