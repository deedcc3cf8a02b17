// Charts, drawn by uPlot (bundled, no network): requests over time with denied requests and
// findings marked, for the whole analysis and for one identity; and the bytes an audit policy
// would write against those the logs hold. Colours come from the page's
// CSS variables so the charts follow the light and dark themes.

import uPlot from "uplot";
import { h } from "./dom.js";
import { fmtBytes, fmtInt } from "./format.js";

const charts = new Set();

/** Axis steps for counts: whole numbers only. */
const WHOLE_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 1e6];

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
}

/**
 * A timeline chart in `container`, from a core Timeline ({buckets: {startMs, stepMs, count},
 * requests, denied, findings}). `onSelect(fromMs, toMs)` is called when a range is dragged.
 */
export function timelineChart(container, timeline, { height = 220, onSelect, label = "Requests" } = {}) {
  const { startMs, stepMs, count } = timeline.buckets;
  const xs = Array.from({ length: count }, (_, i) => (startMs + i * stepMs) / 1000);
  const findings = timeline.findings.map((n) => (n > 0 ? n : null));
  const hasFindings = findings.some((n) => n !== null);
  const bars = uPlot.paths.bars({ size: [0.9, 40], align: 1 });
  const holder = h("div", { class: "chart" });
  container.appendChild(holder);
  const opts = {
    width: Math.max(300, holder.clientWidth || container.clientWidth || 600),
    height,
    // Audit timestamps are UTC, and so is every time the page shows.
    tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), "Etc/UTC"),
    cursor: { drag: { x: Boolean(onSelect), y: false } },
    legend: { live: true },
    scales: { x: { time: true }, n: { auto: true }, f: { auto: true, range: (u, min, max) => [0, Math.max(1, max * 1.2)] } },
    axes: [
      { stroke: cssVar("--muted"), grid: { stroke: cssVar("--grid") }, ticks: { stroke: cssVar("--grid") } },
      { scale: "n", incrs: WHOLE_STEPS, stroke: cssVar("--muted"), grid: { stroke: cssVar("--grid") }, ticks: { stroke: cssVar("--grid") }, values: (u, v) => v.map(fmtInt), size: 60 },
      ...(hasFindings ? [{ scale: "f", side: 1, stroke: cssVar("--sev-high"), grid: { show: false }, incrs: WHOLE_STEPS, values: (u, v) => v.map(fmtInt), size: 40 }] : []),
    ],
    series: [
      { value: (u, v) => (v == null ? "–" : new Date(v * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC") },
      { label, scale: "n", stroke: cssVar("--accent"), fill: cssVar("--accent-soft"), paths: bars, points: { show: false }, value: (u, v) => fmtInt(v) },
      { label: "Denied (401/403)", scale: "n", stroke: cssVar("--sev-medium"), width: 1.5, points: { show: false }, value: (u, v) => fmtInt(v) },
      {
        label: "Findings (medium+)",
        scale: "f",
        stroke: cssVar("--sev-high"),
        width: 0,
        paths: () => null,
        points: { show: true, size: 9, fill: cssVar("--sev-high"), stroke: cssVar("--sev-high") },
        value: (u, v) => (v == null ? "0" : fmtInt(v)),
      },
    ],
    hooks: onSelect
      ? {
          setSelect: [
            (u) => {
              if (u.select.width < 2) return;
              const from = u.posToVal(u.select.left, "x") * 1000;
              const to = u.posToVal(u.select.left + u.select.width, "x") * 1000;
              u.setSelect({ width: 0, height: 0 }, false);
              onSelect(from, to);
            },
          ],
        }
      : {},
  };
  const chart = new uPlot(opts, [xs, timeline.requests, timeline.denied, findings], holder);
  const resize = new ResizeObserver(() => {
    const width = holder.clientWidth;
    if (width > 0 && Math.abs(width - chart.width) > 2) chart.setSize({ width, height });
  });
  resize.observe(holder);
  const entry = { chart, resize, holder };
  charts.add(entry);
  return chart;
}

/**
 * The bytes an audit policy would write per interval against those the logs hold, from a core
 * Series ({startMs, stepMs, observedBytes, simulatedBytes}).
 */
export function volumeChart(container, series, { height = 220 } = {}) {
  const { startMs, stepMs, observedBytes, simulatedBytes } = series;
  const xs = observedBytes.map((_, i) => (startMs + i * stepMs) / 1000);
  const holder = h("div", { class: "chart", "data-testid": "policy-chart" });
  container.appendChild(holder);
  const bytes = (u, v) => (v == null ? "–" : fmtBytes(v));
  const opts = {
    width: Math.max(300, holder.clientWidth || container.clientWidth || 600),
    height,
    tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), "Etc/UTC"),
    cursor: { drag: { x: false, y: false } },
    legend: { live: true },
    scales: { x: { time: true }, b: { auto: true, range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
    axes: [
      { stroke: cssVar("--muted"), grid: { stroke: cssVar("--grid") }, ticks: { stroke: cssVar("--grid") } },
      { scale: "b", stroke: cssVar("--muted"), grid: { stroke: cssVar("--grid") }, ticks: { stroke: cssVar("--grid") }, values: (u, v) => v.map((n) => fmtBytes(n)), size: 70 },
    ],
    series: [
      { value: (u, v) => (v == null ? "–" : new Date(v * 1000).toISOString().replace("T", " ").slice(0, 16) + " UTC") },
      { label: "Observed", scale: "b", stroke: cssVar("--muted"), fill: cssVar("--grid"), width: 1.5, paths: uPlot.paths.stepped({ align: 1 }), points: { show: false }, value: bytes },
      { label: "With this policy", scale: "b", stroke: cssVar("--accent"), fill: cssVar("--accent-soft"), width: 2, paths: uPlot.paths.stepped({ align: 1 }), points: { show: false }, value: bytes },
    ],
  };
  const chart = new uPlot(opts, [xs, observedBytes, simulatedBytes], holder);
  const resize = new ResizeObserver(() => {
    const width = holder.clientWidth;
    if (width > 0 && Math.abs(width - chart.width) > 2) chart.setSize({ width, height });
  });
  resize.observe(holder);
  charts.add({ chart, resize, holder });
  return chart;
}

/** Frees the charts under `root` (before its content is replaced). */
export function disposeCharts(root) {
  for (const entry of charts) {
    if (!root || root.contains(entry.holder)) {
      entry.resize.disconnect();
      entry.chart.destroy();
      charts.delete(entry);
    }
  }
}

/** PNG images of the charts under `root`, for the offline report. */
export function chartImages(root) {
  return [...charts]
    .filter((entry) => root.contains(entry.holder))
    .map((entry) => entry.holder.querySelector("canvas")?.toDataURL("image/png"))
    .filter(Boolean);
}
