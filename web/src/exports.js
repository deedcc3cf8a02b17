// Exports: the findings as JSON (the core's schema), CSV, OCSF and ECS, the baseline as JSON, and a
// self-contained HTML report of the current view that opens anywhere offline. All are built in
// the tab and saved as downloads; nothing is sent anywhere.

import { chartImages } from "./charts.js";
import { download, h } from "./dom.js";
import { fmtInt, fmtSpan, fmtTime } from "./format.js";
import { reviewCounts, reviewText } from "./review.js";

const CSV_COLUMNS = ["auditID", "timestamp", "identity", "verb", "resource", "namespace", "name", "severity", "score", "rules", "reasons", "file", "line"];

/** A CSV cell: quoted, and a leading = + - @ neutralised so a spreadsheet never runs it. */
function csvCell(value) {
  let text = value === null || value === undefined ? "" : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n']/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function findingsCsv(findings) {
  const lines = [CSV_COLUMNS.join(",")];
  for (const f of findings) {
    const row = { ...f, rules: (f.rules ?? []).join(" "), reasons: (f.reasons ?? []).map((r) => r.message).join("; ") };
    lines.push(CSV_COLUMNS.map((c) => csvCell(row[c])).join(","));
  }
  return `${lines.join("\r\n")}\r\n`;
}

const stamp = () => new Date().toISOString().slice(0, 19).replaceAll(":", "-");

export function exportFindingsJson(findings) {
  download(`auditlens-findings-${stamp()}.json`, `${JSON.stringify(findings, null, 2)}\n`, "application/json");
}

export function exportFindingsCsv(findings) {
  download(`auditlens-findings-${stamp()}.csv`, findingsCsv(findings), "text/csv");
}

/** The findings as OCSF Detection Findings or ECS alert documents, one per line, as the CLI's
 *  `analyze --format ocsf|ecs` writes them (the engine builds them). */
export async function exportFindingsSchema(engine, schema) {
  const text = await engine.call("exportFindings", { schema });
  if (text !== null) download(`auditlens-findings-${schema}-${stamp()}.jsonl`, text, "application/x-ndjson");
  return text !== null;
}

export async function exportBaseline(engine) {
  const text = await engine.call("baseline");
  if (text) download(`auditlens-baseline-${stamp()}.json`, text, "application/json");
  return Boolean(text);
}

/** Styles of the report: a copy of the page's look, small enough to inline. */
const REPORT_CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;color:#1b1f24;background:#fff}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
.muted{color:#5b6470}.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.92em}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e3e6ea;vertical-align:top}
th{background:#f4f6f8}.badge{display:inline-block;padding:0 6px;border-radius:4px;font-size:12px;font-weight:600;color:#fff}
.sev-critical{background:#7f1d1d}.sev-high{background:#c2410c}.sev-medium{background:#b45309}.sev-low{background:#1d4ed8}.sev-info{background:#64748b}
.stats{display:flex;gap:1.5rem;flex-wrap:wrap}.stat b{display:block;font-size:1.4rem}img{max-width:100%;border:1px solid #e3e6ea}
@media (prefers-color-scheme:dark){body{background:#111418;color:#e6e9ed}th{background:#1b2026}th,td{border-color:#2a3038}.muted{color:#9aa4af}}
`;

/** At most this many findings go into a report; the report says when more were left out. */
const REPORT_ROWS = 5000;

/** The report's head: constant text only (no log-derived text), so a string is safe here. */
const REPORT_HEAD = `<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>auditlens report</title>
<style>${REPORT_CSS}</style>`;

/**
 * A standalone HTML document of what is on screen: the totals, the timeline as an image, and
 * the findings that pass the current filters. Its body is built with DOM nodes (log text
 * stays text) and serialized; it holds no script at all, and its own CSP allows only its
 * inline style and images.
 */
export function buildReport({ summary, findings, all = findings, filterText, root }) {
  const shown = findings.slice(0, REPORT_ROWS);
  const review = reviewText(reviewCounts(all));
  const body = h(
    "body",
    {},
    h("h1", {}, "auditlens report"),
    h("p", { class: "muted" }, `${summary.files.map((f) => f.path).join(", ")} · ${fmtSpan(summary.first, summary.last)}`),
    h("p", { class: "headline" }, h("b", {}, review.headline), ` (medium severity and above), ${review.context}.`),
    h(
      "div",
      { class: "stats" },
      [
        ["requests", summary.requests],
        ["events", summary.events],
        ["identities", summary.identities],
        ["findings shown", findings.length],
        ["diagnostics", summary.diagnostics],
      ].map(([label, n]) => h("div", { class: "stat" }, h("b", {}, fmtInt(n)), label)),
    ),
    chartImages(root).map((src) => h("p", {}, h("img", { src, alt: "Requests over time" }))),
    h("h2", {}, `Findings (${filterText})`),
    findings.length > shown.length ? h("p", { class: "muted" }, `The first ${fmtInt(shown.length)} of ${fmtInt(findings.length)} are listed.`) : null,
    shown.length
      ? h(
          "table",
          {},
          h("thead", {}, h("tr", {}, ["Severity", "Score", "Time (UTC)", "Identity", "Verb", "Resource", "Namespace/name", "Why", "Rules", "Source"].map((t) => h("th", {}, t)))),
          h(
            "tbody",
            {},
            shown.map((f) =>
              h(
                "tr",
                {},
                h("td", {}, h("span", { class: `badge sev-${f.severity}` }, f.severity)),
                h("td", {}, String(f.score ?? "")),
                h("td", { class: "mono" }, fmtTime(f.timestamp)),
                h("td", {}, f.identity),
                h("td", { class: "mono" }, f.verb),
                h("td", { class: "mono" }, f.resource),
                h("td", {}, [f.namespace, f.name].filter(Boolean).join("/")),
                h("td", {}, (f.reasons ?? []).map((r) => r.message).join(" ")),
                h("td", { class: "mono" }, (f.rules ?? []).join(" ")),
                h("td", { class: "mono" }, `${f.file}:${f.line}`),
              ),
            ),
          ),
        )
      : h("p", { class: "muted" }, "No findings."),
    h("p", { class: "muted" }, `Made by auditlens in the browser, ${new Date().toISOString().slice(0, 19)}Z. Nothing was uploaded.`),
  );
  return `<!doctype html>\n<html lang="en">\n<head>\n${REPORT_HEAD}\n</head>\n${body.outerHTML}\n</html>\n`;
}

export function exportReport(args) {
  download(`auditlens-report-${stamp()}.html`, buildReport(args), "text/html");
}
