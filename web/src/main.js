// The page: takes files (picker, drop, or the demo), has the worker analyse them while showing
// progress, then shows the results in five tabs. `document.body.dataset.state` is idle,
// analyzing, done or error, for people's eyes (styles) and for automated tests alike.
//
//   files ─▶ Engine (worker + wasm) ─▶ result {summary, overview, findings…} ─▶ tabs
//
// Keyboard: / search, j/k or arrows move, Enter opens, Esc closes, 1-5 switch tabs, t theme,
// o open files.

import { disposeCharts } from "./charts.js";
import { byId, h, replace } from "./dom.js";
import { Engine } from "./engine.js";
import { exportBaseline, exportFindingsCsv, exportFindingsJson, exportFindingsSchema, exportReport } from "./exports.js";
import { FindingsPanel } from "./findings.js";
import { fmtBytes, fmtDuration, fmtInt, plural } from "./format.js";
import { renderIdentityList, renderProfile } from "./identities.js";
import { renderInput } from "./input.js";
import { renderOverview } from "./overview.js";
import { defaultFilter, readHash, reviewCounts, reviewText, writeHash } from "./review.js";
import { loadPolicyFile, renderPolicy, resetPolicy } from "./policy.js";

const TABS = ["overview", "findings", "identities", "input", "policy"];

const app = {
  engine: null,
  result: null,
  findings: [],
  files: [],
  started: 0,
  firstProgressMs: null,
  // While files are read: the last progress, and how long without new bytes counts as stalled.
  lastProgress: null,
  stallMs: 120_000,
  baseline: null,
  rules: null,
  // The cluster's granted RBAC: {name, text, info} once read, {name, error} when refused.
  granted: null,
  tab: "overview",
  policy: null,
  findingsPanel: null,
  /** Whether the incidents table lists low and informational incidents too. */
  lowerIncidents: false,
  showTab,
  showFindings,
  showFinding,
  showProfile,
};
// For automated tests and the curious: read-only access to the current result.
window.auditlens = app;

function setState(state) {
  document.body.dataset.state = state;
  byId("idle-view").hidden = state !== "idle";
  byId("progress-view").hidden = state !== "analyzing";
  byId("done-view").hidden = state !== "done";
  byId("error-view").hidden = state !== "error";
  byId("export-button").disabled = state !== "done";
  for (const id of ["demo-button", "demo-button-2"]) byId(id).disabled = state === "analyzing" || !demoSource();
}

function notice(text) {
  const el = byId("idle-notice");
  el.hidden = !text;
  el.textContent = text ?? "";
}

function doneNotice(text) {
  const el = byId("done-notice");
  el.hidden = !text;
  el.textContent = text ?? "";
}

const UNREADABLE_ADVICE = [
  "A file changes under the page when it is moved, renamed, written to or removed after it was chosen, or when the browser may no longer read it: copy the log somewhere stable and drop the copy.",
];

/** The command that reads `files` outside the browser. */
const cliCommand = (files) => `auditlens analyze ${files.length === 1 ? files[0].name : "FILE..."}`;

/** What to try when the tab had too little memory for `files`; `browser` is the last line. */
const lessMemoryAdvice = (files, browser) => [
  "Analyse less at once: fewer files, or a shorter stretch of time (split the log, for example split -l 2000000 audit.log part-, and drop one part).",
  `Use the command-line tool, which reads logs of any size in a fraction of the memory: ${cliCommand(files)}`,
  browser,
];

/** The engine stopped: out of memory, or an internal error. Says what happened, how far it
 *  got, and what to try; the page is ready for the next file at once. */
function showCrash(e, files) {
  const { outOfMemory, panic, memory, file, done, total, uncaught } = e.crash;
  const where = file ? ` while reading ${file} (${fmtBytes(done)} of ${fmtBytes(total)} read)` : "";
  if (outOfMemory) {
    showError(
      "The tab ran out of memory",
      `The analysis needed more memory than the browser gives this tab${where}; its engine had reached ${fmtBytes(memory)}. Your files are unchanged and nothing was sent anywhere; the page is ready for another try.`,
      lessMemoryAdvice(files, "Close other tabs, or use a 64-bit desktop browser: a tab's engine can hold at most 4 GB."),
    );
    return;
  }
  showError(
    "The analysis engine stopped",
    `The engine stopped with an internal error${where}: ${panic ?? e.message}${uncaught ? " (an error the engine did not catch)" : ""}. Your files are unchanged; the page is ready for another try.`,
    [`Try again. If it happens again with the same file, read it with the command-line tool: ${cliCommand(files)}`, "Please report the message above, with the auditlens version, so that it can be fixed."],
  );
}

function showError(title, message, details = []) {
  byId("error-title").textContent = title;
  byId("error-message").textContent = message;
  replace(byId("error-details"), details.map((d) => h("li", {}, d)));
  setState("error");
}

function filesLine(files) {
  const line = byId("files-line");
  if (!files.length) return replace(line);
  const total = files.reduce((n, f) => n + f.size, 0);
  replace(
    line,
    h("span", { class: "file-chip", title: files.map((f) => f.name).join("\n") }, files.length === 1 ? files[0].name : plural(files.length, "file")),
    h("span", { class: "muted" }, fmtBytes(total)),
    app.rules ? h("span", { class: "file-chip", title: "Rules configuration" }, `rules: ${app.rules.name}`) : null,
    app.baseline ? h("span", { class: "file-chip", title: "Baseline from earlier logs" }, `baseline: ${app.baseline.name}`) : null,
    grantedChip(),
  );
}

function grantedChip() {
  const granted = app.granted;
  if (!granted) return null;
  if (granted.error) return h("span", { class: "file-chip warn", title: granted.error, "data-testid": "granted-chip" }, `granted RBAC refused: ${granted.name}`);
  return h("span", { class: "file-chip", title: granted.info?.objects ?? "Granted RBAC, for the next analysis", "data-testid": "granted-chip" }, `granted: ${granted.name}`);
}

// ---- analysis ----------------------------------------------------------------------------

let run = 0;

async function analyze(fileList) {
  const files = [...fileList];
  if (!files.length) return;
  const mine = ++run;
  // From the drop to the first events counted, for the large-log benchmark.
  app.started = performance.now();
  app.firstProgressMs = null;
  app.lastProgress = null;
  app.files = files;
  notice(null);
  doneNotice(null);
  filesLine(files);
  byId("progress-files").textContent = files.length === 1 ? files[0].name : plural(files.length, "file");
  updateProgress({ done: 0, total: files.reduce((n, f) => n + f.size, 0), events: 0, elapsed: 0, phase: "reading" });
  setState("analyzing");
  const watchdog = setInterval(() => checkStalled(mine, files), 1000);
  try {
    const granted = app.granted?.text ? { name: app.granted.name, text: app.granted.text } : undefined;
    const result = await app.engine.analyze(files, { baseline: app.baseline?.text, rules: app.rules?.text, granted });
    if (mine !== run) return;
    if (app.granted && result.granted) Object.assign(app.granted, result.granted);
    filesLine(files);
    byId("progress-phase").textContent = "Loading findings…";
    const findings = await app.engine.findings(result.findingCount);
    if (mine !== run) return;
    app.result = result;
    app.findings = findings;
    const unreadable = result.unreadable ?? [];
    if (result.summary.requests === 0 && unreadable.length) {
      showError(
        unreadable.length === files.length ? "The files could not be read" : "No audit events found",
        unreadable.map(({ file, reason }) => `${file} could not be read: ${reason}.`).join(" "),
        UNREADABLE_ADVICE,
      );
      return;
    }
    if (result.summary.requests === 0) {
      const diagnostics = result.diagnosticCount ? await app.engine.call("diagnostics", { start: 0, count: 5 }) : [];
      showError(
        "No audit events found",
        `${files.map((f) => f.name).join(", ")} held no Kubernetes audit events. auditlens reads API-server audit logs: audit.k8s.io Event objects as JSON lines, a JSON array or EventList batches, plain or gzip.`,
        diagnostics.map((d) => `${d.file}:${d.line}: ${d.message}`),
      );
      return;
    }
    showResults();
    doneNotice(unreadable.length ? `Not read to the end: ${unreadable.map(({ file, reason }) => `${file} (${reason})`).join("; ")}. What was read of it is analysed; the Input tab shows where reading stopped. ${UNREADABLE_ADVICE[0]}` : null);
  } catch (e) {
    if (mine !== run || e.message === "cancelled") return;
    if (e.crash) {
      showCrash(e, files);
      return;
    }
    // A configuration the engine refused is dropped, so the next analysis runs without it.
    if (e.message.includes("rules configuration")) app.rules = null;
    if (e.message.includes("baseline file")) app.baseline = null;
    showError("The analysis stopped", `The engine reported: ${e.message}`, ["Files larger than the tab's memory allows, or a browser without WebAssembly support, can cause this."]);
  } finally {
    clearInterval(watchdog);
  }
}

/**
 * A browser short of memory can stop handing a file's bytes to the engine without any error:
 * reading then just stops. While files are read, bytes arrive every few milliseconds; when none
 * have for `app.stallMs`, the engine is stopped and the page says what happened and what to try,
 * rather than showing a progress bar that never moves.
 */
function checkStalled(mine, files) {
  const last = app.lastProgress;
  if (mine !== run || !last || last.phase !== "reading") return;
  if (performance.now() - last.changedAt < app.stallMs) return;
  run++;
  app.engine.cancel();
  showError(
    "Reading stopped",
    `The browser stopped handing the files to the engine after ${fmtBytes(last.done)} of ${fmtBytes(last.total)}, with no error, and nothing more arrived for ${Math.round(app.stallMs / 1000)} seconds. This happens when the tab runs short of memory. Your files are unchanged; the page is ready for another try.`,
    lessMemoryAdvice(files, "Close other tabs, or use a 64-bit desktop browser with more memory."),
  );
}

function updateProgress(p) {
  const fraction = p.total ? Math.min(1, p.done / p.total) : 0;
  byId("progress-fill").style.setProperty("width", `${(fraction * 100).toFixed(1)}%`);
  byId("progress-bar").setAttribute("aria-valuenow", (fraction * 100).toFixed(0));
  byId("progress-bytes").textContent = `${fmtBytes(p.done)} of ${fmtBytes(p.total)}`;
  byId("progress-events").textContent = fmtInt(p.events ?? 0);
  const seconds = p.elapsed / 1000;
  byId("progress-rate").textContent = seconds > 0.2 && p.events ? `${fmtInt(p.events / seconds)} events/s · ${fmtBytes(p.done / seconds)}/s` : "–";
  byId("progress-eta").textContent = seconds > 0.5 && p.done > 0 && p.phase === "reading" ? fmtDuration(((p.total - p.done) * seconds) / p.done) : "–";
  byId("progress-phase").textContent = p.phase === "analysing" ? "Scoring requests and running the rules…" : p.phase === "done" ? "Done." : "Reading…";
}

function cancel() {
  run++;
  app.engine.cancel();
  notice("Analysis cancelled.");
  filesLine([]);
  setState("idle");
}

// ---- results -------------------------------------------------------------------------------

function showResults() {
  setState("done");
  const counts = reviewCounts(app.findings);
  const text = reviewText(counts);
  byId("findings-count").textContent = fmtInt(counts.review);
  byId("findings-count").title = `${text.headline}, ${text.context}`;
  byId("diagnostics-count").textContent = app.result.summary.diagnostics ? fmtInt(app.result.summary.diagnostics) : "";
  byId("diagnostics-count").classList.toggle("warn", app.result.summary.diagnostics > 0);
  for (const item of document.querySelectorAll("[data-export^=baseline]")) {
    const ready = item.dataset.export === "baseline-json" ? app.engine.capabilities.baselineExport : app.engine.capabilities.baselineImport;
    item.disabled = !ready;
    item.title = ready ? "" : "This build of the engine has no baselines to export or load.";
  }
  for (const item of document.querySelectorAll("[data-export=findings-ocsf], [data-export=findings-ecs]")) {
    item.disabled = !app.engine.capabilities.schemaExport;
  }
  const rules = document.querySelector("[data-export=rules-load]");
  rules.disabled = !app.engine.capabilities.rulesConfig;
  rules.title = rules.disabled ? "This build of the engine takes no rules config." : "";
  disposeCharts();
  // The view the URL names (a shared link, a reload), else what needs review.
  const view = readHash(location.hash);
  app.lowerIncidents = view.lowerIncidents;
  app.findingsPanel.onChange = null;
  app.findingsPanel.load(app.findings, view.filter);
  app.findingsPanel.onChange = () => saveView();
  byId("panel-findings").replaceChildren(app.findingsPanel.el);
  renderOverview(app, byId("panel-overview"));
  renderIdentityList(app, byId("panel-identities"));
  byId("panel-input").replaceChildren();
  resetPolicy(app, byId("panel-policy"));
  byId("tab-policy").hidden = !app.engine.capabilities.policy;
  showTab(TABS.includes(view.tab) ? view.tab : "overview");
}

/** Puts the current view in the URL hash, without a history entry per change. */
function saveView() {
  if (document.body.dataset.state !== "done") return;
  const hash = writeHash({ tab: app.tab, filter: app.findingsPanel.filter, lowerIncidents: app.lowerIncidents });
  if (hash !== location.hash && !(hash === "" && location.hash === "")) {
    history.replaceState(null, "", `${location.pathname}${location.search}${hash}`);
  }
}

/** A hash edited or pasted while results are shown opens that view. */
function applyHash() {
  if (document.body.dataset.state !== "done") return;
  const view = readHash(location.hash);
  app.lowerIncidents = view.lowerIncidents;
  app.findingsPanel.clearFilters();
  app.findingsPanel.setFilter(view.filter);
  renderOverview(app, byId("panel-overview"));
  showTab(TABS.includes(view.tab) ? view.tab : "overview");
}

function showTab(name) {
  app.tab = name;
  for (const tab of TABS) {
    const button = byId(`tab-${tab}`);
    button.setAttribute("aria-selected", String(tab === name));
    button.tabIndex = tab === name ? 0 : -1;
    byId(`panel-${tab}`).hidden = tab !== name;
  }
  if (name === "input" && !byId("panel-input").hasChildNodes()) renderInput(app, byId("panel-input"));
  saveView();
  if (name === "policy" && !byId("panel-policy").hasChildNodes()) renderPolicy(app, byId("panel-policy"));
}

/** Opens the Findings tab on `filter`: what needs review in it, unless the filter names a
 * severity or an incident (whose findings all belong to it). */
function showFindings(filter) {
  showTab("findings");
  app.findingsPanel.clearFilters();
  const review = filter.severity === undefined && filter.incident === undefined ? defaultFilter() : {};
  app.findingsPanel.setFilter({ ...review, ...filter });
  app.findingsPanel.focusList();
}

function showFinding(auditID) {
  showTab("findings");
  app.findingsPanel.selectAuditId(auditID);
}

function showProfile(identity) {
  showTab("identities");
  renderProfile(app, byId("panel-identities"), identity);
}

// ---- inputs: picker, drop, demo ---------------------------------------------------------

function demoSource() {
  const inline = document.getElementById("auditlens-demo");
  if (inline) return { inline };
  const meta = document.querySelector('meta[name="auditlens-demo"]');
  return meta ? { url: meta.content } : null;
}

async function loadDemo() {
  const source = demoSource();
  if (!source) return;
  try {
    let bytes;
    if (source.inline) bytes = Uint8Array.from(atob(source.inline.textContent.trim()), (c) => c.charCodeAt(0));
    else {
      const response = await fetch(source.url);
      if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
      bytes = await response.blob();
    }
    await analyze([new File([bytes], "demo-audit.log.gz", { type: "application/gzip" })]);
  } catch (e) {
    showError("The demo log could not be loaded", e.message);
  }
}

function readTextFile(input, key, label) {
  input.addEventListener("change", async () => {
    const file = input.files?.[0];
    input.value = "";
    if (!file) return;
    app[key] = { name: file.name, text: await file.text() };
    if (app.files.length) await analyze(app.files);
    else notice(`${label} ${file.name} loaded; it applies to the next analysis.`);
  });
}

/** The granted RBAC: read in the worker now when there is an analysis, else with the next. */
function wireGranted() {
  const input = byId("granted-input");
  input.addEventListener("change", async () => {
    const file = input.files?.[0];
    input.value = "";
    if (!file) return;
    app.granted = { name: file.name, text: await file.text(), info: null, error: null };
    if (document.body.dataset.state !== "done") {
      filesLine(app.files);
      notice(`Granted RBAC ${file.name} loaded; it applies to the next analysis.`);
      return;
    }
    try {
      app.granted.info = await app.engine.call("loadGranted", { name: file.name, text: app.granted.text });
    } catch (e) {
      app.granted.error = e.message;
      await app.engine.call("clearGranted").catch(() => null);
    }
    filesLine(app.files);
    const open = byId("panel-identities").querySelector("[data-testid=profile-identity]");
    if (open) showProfile(open.textContent);
  });
}

function wireInputs() {
  wireGranted();
  const picker = byId("file-input");
  picker.addEventListener("change", () => {
    const files = [...picker.files];
    picker.value = "";
    analyze(files);
  });
  byId("demo-button").addEventListener("click", loadDemo);
  byId("demo-button-2").addEventListener("click", loadDemo);
  byId("cancel-button").addEventListener("click", cancel);
  byId("error-back").addEventListener("click", () => {
    filesLine([]);
    setState("idle");
  });
  byId("dropzone").addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      picker.click();
    }
  });
  const overlay = byId("drop-overlay");
  let depth = 0;
  window.addEventListener("dragenter", (e) => {
    if (![...(e.dataTransfer?.types ?? [])].includes("Files")) return;
    depth++;
    overlay.hidden = document.body.dataset.state === "analyzing";
  });
  window.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (!depth) overlay.hidden = true;
  });
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => {
    e.preventDefault();
    depth = 0;
    overlay.hidden = true;
    if (document.body.dataset.state === "analyzing") return;
    const files = [...(e.dataTransfer?.files ?? [])];
    if (files.length) analyze(files);
  });
  readTextFile(byId("baseline-input"), "baseline", "Baseline");
  const policyInput = byId("policy-input");
  policyInput.addEventListener("change", async () => {
    const file = policyInput.files?.[0];
    policyInput.value = "";
    if (!file || !app.policy) return;
    showTab("policy");
    await loadPolicyFile(app, byId("panel-policy"), file);
  });
  readTextFile(byId("rules-input"), "rules", "Rules config");
}

// ---- menus, tabs, keys, theme -----------------------------------------------------------

function wireExportMenu() {
  const button = byId("export-button");
  const list = document.querySelector("#export-menu .menu-list");
  const close = () => {
    list.hidden = true;
    button.setAttribute("aria-expanded", "false");
  };
  button.addEventListener("click", () => {
    list.hidden = !list.hidden;
    button.setAttribute("aria-expanded", String(!list.hidden));
    if (!list.hidden) list.querySelector("button:not([disabled])")?.focus();
  });
  document.addEventListener("click", (e) => !e.target.closest("#export-menu") && close());
  list.addEventListener("keydown", (e) => {
    const items = [...list.querySelectorAll("button:not([disabled])")];
    const i = items.indexOf(document.activeElement);
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      items[(i + (e.key === "ArrowDown" ? 1 : items.length - 1)) % items.length]?.focus();
    } else if (e.key === "Escape") {
      close();
      button.focus();
    }
  });
  list.addEventListener("click", async (e) => {
    const kind = e.target.closest("[data-export]")?.dataset.export;
    if (!kind) return;
    close();
    const panel = app.findingsPanel;
    if (kind === "findings-json") exportFindingsJson(app.findings);
    else if (kind === "findings-csv") exportFindingsCsv(app.findings);
    else if (kind === "findings-ocsf") await exportFindingsSchema(app.engine, "ocsf");
    else if (kind === "findings-ecs") await exportFindingsSchema(app.engine, "ecs");
    else if (kind === "baseline-json") await exportBaseline(app.engine);
    else if (kind === "baseline-load") byId("baseline-input").click();
    else if (kind === "rules-load") byId("rules-input").click();
    else if (kind === "report-html") {
      exportReport({ summary: app.result.summary, all: app.findings, findings: panel.rows, filterText: panel.describeFilter(), root: byId("panel-overview") });
    }
  });
}

function wireTabs() {
  const list = document.querySelector("[role=tablist]");
  for (const tab of TABS) byId(`tab-${tab}`).addEventListener("click", () => showTab(tab));
  list.addEventListener("keydown", (e) => {
    const step = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
    if (!step) return;
    const next = TABS[(TABS.indexOf(app.tab) + step + TABS.length) % TABS.length];
    showTab(next);
    byId(`tab-${next}`).focus();
  });
}

function typing(target) {
  return target.closest("input, select, textarea, [contenteditable]") !== null;
}

function wireKeys() {
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "Escape") {
      if (typing(e.target)) e.target.blur();
      if (app.tab === "findings") app.findingsPanel.focusList();
      return;
    }
    if (typing(e.target)) return;
    if (e.key === "t") toggleTheme();
    else if (e.key === "o") byId("file-input").click();
    else if (document.body.dataset.state !== "done") return;
    else if (/^[1-5]$/.test(e.key)) showTab(TABS[Number(e.key) - 1]);
    else if (e.key === "/") {
      e.preventDefault();
      showTab("findings");
      app.findingsPanel.focusSearch();
    } else if ((e.key === "j" || e.key === "k") && app.tab === "findings" && !e.target.closest(".list-scroll")) {
      app.findingsPanel.focusList();
      app.findingsPanel.move(e.key === "j" ? 1 : -1);
    }
  });
}

function storedTheme() {
  try {
    return localStorage.getItem("auditlens-theme");
  } catch {
    return null;
  }
}

function toggleTheme() {
  const dark = document.documentElement.dataset.theme ? document.documentElement.dataset.theme === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
  const next = dark ? "light" : "dark";
  document.documentElement.dataset.theme = next;
  try {
    localStorage.setItem("auditlens-theme", next);
  } catch {
    // file:// pages may have no storage; the choice then lasts until the tab closes.
  }
  if (document.body.dataset.state === "done") {
    // Charts read their colours when drawn.
    renderOverview(app, byId("panel-overview"));
    if (byId("panel-identities").querySelector("[data-testid=profile-identity]")) showProfile(byId("panel-identities").querySelector("[data-testid=profile-identity]").textContent);
  }
}

function start() {
  const theme = storedTheme();
  if (theme) document.documentElement.dataset.theme = theme;
  byId("theme-button").addEventListener("click", toggleTheme);
  app.engine = new Engine();
  app.engine.onProgress = (p) => {
    if (document.body.dataset.state !== "analyzing") return;
    if (app.firstProgressMs === null && p.events > 0) app.firstProgressMs = performance.now() - app.started;
    const before = app.lastProgress;
    const moved = !before || before.done !== p.done || before.phase !== p.phase;
    app.lastProgress = { phase: p.phase, done: p.done, total: p.total, changedAt: moved ? performance.now() : before.changedAt };
    updateProgress(p);
  };
  app.engine.ready.catch((e) => showError("The engine could not start", e.message, ["This page needs WebAssembly and Web Workers."]));
  app.findingsPanel = new FindingsPanel(app);
  wireInputs();
  wireExportMenu();
  wireTabs();
  wireKeys();
  window.addEventListener("hashchange", applyHash);
  setState("idle");
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
