// The overview tab: totals, findings and incidents by severity, the activity timeline with
// anomalies marked, the identities most at risk, identity classes, and what the input held
// (files, formats, and the lines skipped and why).

import { timelineChart } from "./charts.js";
import { emptyState, h, replace, table } from "./dom.js";
import { SEVERITIES, fmtBytes, fmtInt, fmtSpan, fmtTime, plural, severityRank } from "./format.js";
import { classOf } from "./findings.js";
import { needsReview, reviewCounts, reviewText } from "./review.js";

/** How many incidents the overview lists. */
const INCIDENT_ROWS = 50;

/**
 * Identities at risk: those with a finding that needs review (medium or above), ranked by their
 * worst finding, then by how many need review, then by the top score and their requests. An
 * identity whose findings are all low or informational is not at risk.
 */
export function identitiesByRisk(findings, topIdentities) {
  const byName = new Map();
  for (const f of findings) {
    if (!needsReview(f)) continue;
    let e = byName.get(f.identity);
    if (!e) byName.set(f.identity, (e = { identity: f.identity, requests: null, denied: null, findings: 0, maxScore: 0, worst: null, class: "" }));
    e.findings++;
    e.maxScore = Math.max(e.maxScore, f.score ?? 0);
    if (!e.worst || severityRank(f.severity) > severityRank(e.worst)) e.worst = f.severity;
    e.class ||= classOf(f);
  }
  for (const t of topIdentities ?? []) {
    const e = byName.get(t.identity);
    if (e) Object.assign(e, { requests: t.requests, denied: t.denied });
  }
  return [...byName.values()].sort(
    (a, b) =>
      severityRank(b.worst) - severityRank(a.worst) ||
      b.findings - a.findings ||
      b.maxScore - a.maxScore ||
      (b.requests ?? 0) - (a.requests ?? 0) ||
      a.identity.localeCompare(b.identity),
  );
}

function stat(label, value, detail) {
  return h("div", { class: "stat" }, h("div", { class: "stat-value" }, value), h("div", { class: "stat-label" }, label), detail ? h("div", { class: "stat-detail muted" }, detail) : null);
}

function severityBar(counts, onPick) {
  return h(
    "div",
    { class: "severity-bar" },
    SEVERITIES.map((s) =>
      h(
        "button",
        { type: "button", class: `sev-count sev-${s}`, disabled: !counts[s], dataset: { severity: s }, on: { click: () => onPick?.(s) } },
        h("span", { class: "sev-n" }, fmtInt(counts[s] ?? 0)),
        h("span", { class: "sev-name" }, s),
      ),
    ),
  );
}

function card(title, ...content) {
  return h("section", { class: "card" }, h("h2", {}, title), ...content);
}

export function renderOverview(app, panel) {
  const { summary, overview, incidents } = app.result;
  const findings = app.findings;
  const severity = {};
  for (const f of findings) severity[f.severity] = (severity[f.severity] ?? 0) + 1;

  const totals = h(
    "div",
    { class: "stats", "data-testid": "summary" },
    stat("requests", fmtInt(summary.requests), `${fmtInt(summary.events)} events`),
    stat("identities", fmtInt(summary.identities)),
    (() => {
      const text = reviewText(reviewCounts(findings));
      const node = stat("to review", fmtInt(reviewCounts(findings).review), text.context);
      node.dataset.testid = "to-review";
      return node;
    })(),
    stat("files", fmtInt(summary.files.length), fmtBytes(summary.files.reduce((n, f) => n + f.bytes, 0))),
    stat("diagnostics", fmtInt(summary.diagnostics), summary.diagnostics ? "lines skipped or repaired" : "every line read"),
  );

  const incidentCounts = {};
  for (const i of incidents ?? []) incidentCounts[i.severity] = (incidentCounts[i.severity] ?? 0) + 1;
  const severities = card(
    "By severity",
    h("h3", {}, "Findings"),
    findings.length ? severityBar(severity, (s) => app.showFindings({ severity: s })) : h("p", { class: "muted" }, "No findings in these logs."),
    h("h3", {}, "Incidents"),
    incidents
      ? incidents.length
        ? severityBar(incidentCounts)
        : h("p", { class: "muted" }, "No incidents.")
      : h("p", { class: "muted" }, "This build of the engine does not group findings into incidents."),
  );

  // The incidents table leads with what needs review; one control adds the lower ones.
  const incidentReview = reviewCounts(incidents ?? []);
  const listed = (incidents ?? []).filter((i) => app.lowerIncidents || needsReview(i));
  const lowerIncidents = h("input", {
    type: "checkbox",
    checked: app.lowerIncidents,
    "data-testid": "incidents-include-lower",
    on: {
      change: () => {
        app.lowerIncidents = lowerIncidents.checked;
        renderOverview(app, panel);
        app.showTab("overview");
      },
    },
  });
  const incidentList = incidents?.length
    ? card(
        `Incidents: ${reviewText(incidentReview).headline}`,
        h("p", { class: "muted small" }, `Findings of one identity close together in time, most urgent first; ${reviewText(incidentReview).context}.`),
        h("label", { class: "toggle small" }, lowerIncidents, ` Include low and info (${fmtInt(incidentReview.lower)})`),
        listed.length
          ? h("div", { class: "scroll-box" }, table(
              ["Severity", "Identity", "What happened", "When (UTC)", "Findings"],
              listed.slice(0, INCIDENT_ROWS).map((i) => [
                h("span", { class: `badge sev-${i.severity}` }, i.severity),
                h("button", { type: "button", class: "link", on: { click: () => app.showProfile(i.identity) } }, i.identity),
                i.summary,
                h("span", { class: "mono nowrap" }, i.first === i.last ? fmtTime(i.first) : `${fmtTime(i.first)} → ${fmtTime(i.last).slice(11)}`),
                h("button", { type: "button", class: "link", dataset: { incident: String(i.id) }, on: { click: () => app.showFindings({ incident: i.id }) } }, fmtInt(i.findings)),
              ]),
              { class: "table compact", "data-testid": "incidents" },
            ))
          : h("p", { class: "muted", "data-testid": "incidents-none" }, "No incident needs review."),
        listed.length > INCIDENT_ROWS ? h("p", { class: "muted small" }, `The ${fmtInt(INCIDENT_ROWS)} most urgent are listed.`) : null,
      )
    : null;

  const timeline = card("Activity over time", h("p", { class: "muted small" }, "Requests per interval (UTC); red points mark findings of medium severity or above. Drag across the chart to list the findings in a time range."));
  const risky = identitiesByRisk(findings, overview.topIdentities).slice(0, 10);
  const top = card(
    "Identities at risk",
    risky.length
      ? table(
          ["Identity", "Worst", "To review", "Requests"],
          risky.map((r) => [
            h("button", { type: "button", class: "link", on: { click: () => app.showProfile(r.identity) } }, r.identity),
            r.worst ? h("span", { class: `badge sev-${r.worst}` }, r.worst) : h("span", { class: "muted" }, "–"),
            fmtInt(r.findings),
            r.requests === null ? "–" : fmtInt(r.requests),
          ]),
          { class: "table compact" },
        )
      : emptyState("No identity at risk", "No identity has a finding of medium severity or above."),
  );

  const classCard = card(
    "Identities by class",
    overview.classes?.length
      ? table(["Class", "Identities"], overview.classes.map((c) => [c.value, fmtInt(c.count)]), { class: "table compact" })
      : h("p", { class: "muted" }, "This build of the engine does not classify identities."),
  );

  const input = card(
    "Input",
    h("p", {}, fmtSpan(summary.first, summary.last)),
    table(
      ["File", "Format", "Size", "Lines", "Events", "Requests", "Diagnostics"],
      summary.files.map((f) => [
        h("span", { class: "mono", title: f.path }, f.path),
        f.format,
        fmtBytes(f.bytes),
        fmtInt(f.lines),
        fmtInt(f.events),
        fmtInt(f.requests),
        f.diagnostics ? h("button", { type: "button", class: "link warn", on: { click: () => app.showTab("input") } }, fmtInt(f.diagnostics)) : "0",
      ]),
      { class: "table compact" },
    ),
    summary.diagnostics
      ? h("p", { class: "muted small" }, `${plural(summary.rejected, "record")} skipped, ${plural(summary.warnings, "warning")}. See the Input tab for each line and why.`)
      : null,
  );

  replace(panel, totals, h("div", { class: "grid" }, h("div", { class: "col-wide" }, timeline, incidentList, input), h("div", { class: "col-side" }, severities, top, classCard)));
  if (overview.timeline) {
    timelineChart(timeline, overview.timeline, {
      onSelect: (from, to) => app.showFindings({ from, to }),
    });
  } else {
    timeline.appendChild(emptyState("No requests to chart", null));
  }
}
