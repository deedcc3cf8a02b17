// Numbers, sizes, durations and times, formatted the same way everywhere in the page.

export const SEVERITIES = ["critical", "high", "medium", "low", "info"];

/** Higher for more urgent severities; unknown ones sort last. */
export const severityRank = (s) => {
  const i = SEVERITIES.indexOf(s);
  return i < 0 ? -1 : SEVERITIES.length - i;
};

const integer = new Intl.NumberFormat("en-US");
export const fmtInt = (n) => (Number.isFinite(n) ? integer.format(Math.round(n)) : "–");

export function fmtBytes(n) {
  if (!Number.isFinite(n)) return "–";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0)} ${units[i]}`;
}

export function fmtDuration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "–";
  if (seconds < 1) return "under a second";
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** `2026-03-01T10:00:07.123456Z` → `2026-03-01 10:00:07` (UTC, as logged). */
export function fmtTime(iso) {
  if (!iso) return "–";
  return String(iso).replace("T", " ").replace(/(\.\d+)?(Z|[+-]\d\d:\d\d)$/, "");
}

export function fmtSpan(first, last) {
  if (!first) return "no requests";
  const ms = Date.parse(last) - Date.parse(first);
  return `${fmtTime(first)} → ${fmtTime(last)} UTC (${fmtDuration(ms / 1000)})`;
}

/** What names a finding's or request's request in lookups: its auditID, or for a request
 * logged without one, the key the core gives it (`~FILE.OFFSET[.INDEX]`). */
export const requestKey = (r) => r.auditID ?? r.request;

export const plural = (n, one, many = `${one}s`) => `${fmtInt(n)} ${n === 1 ? one : many}`;
