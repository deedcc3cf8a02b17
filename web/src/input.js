// The input tab: every file with its detected format and counts, and the diagnostics (lines
// skipped or repaired, and why), grouped by kind and listed with file and line.

import { emptyState, h, replace, table } from "./dom.js";
import { fmtBytes, fmtInt } from "./format.js";

/** At most this many diagnostics are listed one by one; the counts cover all of them. */
const LISTED = 2000;

export async function renderInput(app, panel) {
  const { summary, diagnosticCount } = app.result;
  const diagnostics = diagnosticCount ? await app.engine.call("diagnostics", { start: 0, count: LISTED }) : [];
  const kinds = new Map();
  for (const d of diagnostics) kinds.set(`${d.severity} ${d.kind}`, (kinds.get(`${d.severity} ${d.kind}`) ?? 0) + 1);
  replace(
    panel,
    h(
      "section",
      { class: "card" },
      h("h2", {}, "Files"),
      table(
        ["File", "Detected as", "Size", "Decoded", "Lines", "Blank", "Records", "Events", "Requests", "Skipped", "Warnings"],
        summary.files.map((f) => [
          h("span", { class: "mono" }, f.path),
          f.detected ?? f.format,
          fmtBytes(f.bytes),
          fmtBytes(f.decoded_bytes),
          fmtInt(f.lines),
          fmtInt(f.blank_lines),
          fmtInt(f.records),
          fmtInt(f.events),
          fmtInt(f.requests),
          fmtInt(f.rejected),
          fmtInt(f.warnings),
        ]),
        { class: "table compact" },
      ),
      h("p", { class: "muted small" }, "Every line is accounted for: lines = blank lines + records (for line-delimited files); records = events read + records skipped."),
    ),
    h(
      "section",
      { class: "card" },
      h("h2", {}, "Diagnostics"),
      diagnostics.length
        ? [
            h("div", { class: "chips" }, [...kinds].map(([k, n]) => h("span", { class: "chip" }, `${k}: ${fmtInt(n)}`))),
            summary.diagnostics > diagnostics.length ? h("p", { class: "muted small" }, `Listing the first ${fmtInt(diagnostics.length)} of ${fmtInt(summary.diagnostics)}.`) : null,
            table(
              ["File", "Line", "Offset", "Kind", "", "Message"],
              diagnostics.map((d) => [
                h("span", { class: "mono" }, d.file),
                fmtInt(d.line),
                fmtInt(d.offset),
                h("span", { class: "mono" }, d.kind),
                h("span", { class: `badge ${d.severity === "error" ? "sev-high" : "sev-medium"}` }, d.severity),
                d.message,
              ]),
              { class: "table compact", "data-testid": "diagnostics" },
            ),
          ]
        : emptyState("No diagnostics", "Every line was read as an audit event or was blank."),
    ),
  );
}
