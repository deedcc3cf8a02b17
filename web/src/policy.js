// The policy tab: the API server's audit policy against the logs already analysed. It starts
// from the policy the engine suggests for these logs; a policy file can be loaded instead. For
// the policy shown: whether kube-apiserver loads it and its lints, the volume a day it would
// write against what the logs hold (a chart and tables by level, identity and resource), and
// the detection rules and baseline signals it would blind. Everything is computed in the worker
// (policyCheck, policySimulate, policySuggest on the wasm session); a policy file's text and
// the logs' names are hostile text and only ever become text nodes.

import { disposeCharts, volumeChart } from "./charts.js";
import { download, emptyState, h, replace, table } from "./dom.js";
import { fmtBytes, fmtInt, plural } from "./format.js";

/** Identities and resources listed. */
const TOP = 10;

function card(title, ...content) {
  return h("section", { class: "card" }, h("h2", {}, title), ...content);
}

function change(observed, simulated) {
  if (!observed) return "–";
  const percent = (100 * (simulated - observed)) / observed;
  return `${percent > 0 ? "+" : ""}${percent.toFixed(0)} %`;
}

function stat(label, value, detail) {
  return h("div", { class: "stat" }, h("div", { class: "stat-value" }, value), h("div", { class: "stat-label" }, label), detail ? h("div", { class: "stat-detail muted" }, detail) : null);
}

/** Shows the tab; the first time, asks the engine for its suggestion. */
export async function renderPolicy(app, panel) {
  app.policy ??= { suggested: null, current: null, check: null, simulation: null, error: null };
  const state = app.policy;
  if (!state.suggested) {
    replace(panel, h("p", { class: "muted", "data-testid": "policy-loading" }, "Deriving a policy from these logs…"));
    try {
      state.suggested = await app.engine.call("policySuggest");
    } catch (e) {
      replace(panel, emptyState("No policy could be derived", e.message));
      return;
    }
    state.current = { name: "the suggested policy", text: state.suggested.yaml, suggested: true };
    await evaluate(app);
  }
  draw(app, panel);
}

/** Checks and simulates the current policy in the engine. */
async function evaluate(app) {
  const state = app.policy;
  state.error = null;
  state.simulation = null;
  state.check = await app.engine.call("policyCheck", { text: state.current.text });
  if (!state.check.loads) return;
  try {
    state.simulation = await app.engine.call("policySimulate", { text: state.current.text, top: TOP });
  } catch (e) {
    state.error = e.message;
  }
}

/** Loads a policy file chosen in the page, and shows it. */
export async function loadPolicyFile(app, panel, file) {
  const text = await file.text();
  app.policy.current = { name: file.name, text, suggested: false };
  replace(panel, h("p", { class: "muted", "data-testid": "policy-loading" }, `Checking ${file.name}…`));
  await evaluate(app);
  draw(app, panel);
}

async function useSuggested(app, panel) {
  app.policy.current = { name: "the suggested policy", text: app.policy.suggested.yaml, suggested: true };
  await evaluate(app);
  draw(app, panel);
}

function toolbar(app, panel) {
  return h(
    "div",
    { class: "toolbar" },
    h("button", { type: "button", class: "button small", "data-testid": "policy-load", on: { click: () => document.getElementById("policy-input").click() } }, "Load a policy file…"),
    h("button", { type: "button", class: "button small", disabled: app.policy.current.suggested, on: { click: () => useSuggested(app, panel) } }, "Use the suggested policy"),
    h(
      "button",
      { type: "button", class: "button small", "data-testid": "policy-download", on: { click: () => download("audit-policy.yaml", app.policy.suggested.yaml, "application/yaml") } },
      "Download the suggested policy",
    ),
  );
}

function verdictCard(state) {
  const { check, current } = state;
  const verdict = !check.loads ? "kube-apiserver refuses this policy" : check.errors ? "kube-apiserver loads it, but it does not do what it says" : "kube-apiserver loads it";
  return h(
    "section",
    { class: "card", "data-testid": "policy-verdict", dataset: { loads: String(check.loads), errors: String(check.errors), warnings: String(check.warnings) } },
    h("h2", {}, `Policy: ${current.name}`),
    h("p", { class: check.loads && !check.errors ? null : "warn-text" }, `${verdict}: ${plural(check.errors, "error")}, ${plural(check.warnings, "warning")}.`),
  );
}

function lintsCard(check) {
  return card(
    "Lints",
    check.lints.length
      ? h(
          "div",
          { class: "scroll-box" },
          table(
            ["Severity", "Line", "Where", "Finding", "Fix"],
            check.lints.map((l) => [
              h("span", { class: `badge ${l.severity === "error" ? "sev-high" : "sev-medium"}`, dataset: { code: l.code } }, l.severity),
              l.line ? String(l.line) : "–",
              h("span", { class: "mono" }, l.field || "–"),
              h("span", {}, h("strong", {}, `${l.code}: `), l.message),
              l.fix,
            ]),
            { class: "table compact", "data-testid": "policy-lints" },
          ),
        )
      : h("p", { class: "muted", "data-testid": "policy-lints" }, "No findings: nothing to fix."),
  );
}

function volumeRows(title, rows) {
  return h(
    "section",
    { class: "card mini" },
    h("h3", {}, title),
    table(
      ["", "Requests", "Observed", "Simulated", "Change"],
      rows.map((r) => [h("span", { class: "mono" }, r.key), fmtInt(r.requests), fmtBytes(r.observed.bytes), fmtBytes(r.simulated.bytes), change(r.observed.bytes, r.simulated.bytes)]),
      { class: "table compact" },
    ),
  );
}

function volumeCard(sim) {
  const section = card(
    "Volume a day",
    h(
      "div",
      { class: "stats", "data-testid": "policy-volume", dataset: { observed: String(sim.observedPerDay.bytes), simulated: String(sim.simulatedPerDay.bytes) } },
      stat("observed a day", fmtBytes(sim.observedPerDay.bytes), `${fmtInt(sim.observedPerDay.events)} events`),
      stat("with this policy", fmtBytes(sim.simulatedPerDay.bytes), `${fmtInt(sim.simulatedPerDay.events)} events`),
      stat("change", change(sim.observedPerDay.bytes, sim.simulatedPerDay.bytes), `over ${sim.days.toFixed(1)} days of logs`),
    ),
    h(
      "p",
      { class: "muted small" },
      `Bytes per interval (UTC), estimated from each record's own size: bodies measured while reading, stages the policy omits left out. ${fmtBytes(sim.readBytes)} were read from the files.`,
    ),
  );
  return section;
}

function blindCard(sim) {
  const nothing = !sim.blindRules.length && !sim.blindSignals.length;
  return card(
    "What would go blind",
    h("div", { "data-testid": "policy-blind" }, nothing ? h("p", { class: "muted" }, "Nothing: every detection rule and baseline signal that fired in these logs still sees its requests.") : null),
    sim.blindRules.length
      ? table(
          ["Detection rule", "Needs", "Hits", "Lost"],
          sim.blindRules.map((b) => [h("span", { class: "mono", title: b.title, dataset: { rule: b.rule } }, b.rule), b.level, fmtInt(b.hits), fmtInt(b.lost)]),
          { class: "table compact", "data-testid": "policy-blind-rules" },
        )
      : null,
    sim.blindSignals.length
      ? table(
          ["Baseline signal", "Findings", "Lost"],
          sim.blindSignals.map((s) => [h("span", { class: "mono" }, s.signal), fmtInt(s.findings), fmtInt(s.lost)]),
          { class: "table compact", "data-testid": "policy-blind-signals" },
        )
      : null,
  );
}

function suggestedCard(suggested) {
  const sim = suggested.simulation;
  return card(
    "The suggested policy",
    h(
      "p",
      { class: "muted small" },
      `Derived from these logs: ${fmtBytes(sim.simulatedPerDay.bytes)} a day where they hold ${fmtBytes(sim.observedPerDay.bytes)} (${change(sim.observedPerDay.bytes, sim.simulatedPerDay.bytes)}), ${sim.blindRules.length ? `blinding ${plural(sim.blindRules.length, "rule")}` : "blinding no detection rule that fired"}.`,
    ),
    h("pre", { class: "raw mono", "data-testid": "policy-text" }, suggested.yaml),
  );
}

function draw(app, panel) {
  disposeCharts(panel);
  const state = app.policy;
  const sim = state.simulation;
  const sections = [toolbar(app, panel), verdictCard(state), lintsCard(state.check)];
  let chartHolder = null;
  if (sim) {
    const volume = volumeCard(sim);
    chartHolder = volume;
    sections.push(
      h("div", { class: "grid" }, h("div", { class: "col-wide" }, volume, blindCard(sim)), h("div", { class: "col-side" }, volumeRows("By level", sim.byLevel))),
      h("div", { class: "grid two" }, volumeRows("By identity", sim.byIdentity), volumeRows("By resource", sim.byResource)),
    );
  } else {
    sections.push(
      card(
        "Volume and blind spots",
        emptyState(state.error ? "The policy could not be simulated" : "Not simulated", state.error ?? "kube-apiserver would not start with this policy; fix the errors above first."),
      ),
    );
  }
  sections.push(suggestedCard(state.suggested));
  replace(panel, ...sections);
  if (sim && chartHolder && sim.series.observedBytes.length) volumeChart(chartHolder, sim.series);
}

/** Forgets the policy state of an earlier analysis. */
export function resetPolicy(app, panel) {
  disposeCharts(panel);
  app.policy = null;
  panel.replaceChildren();
}
