// What needs review: findings of medium severity and above lead everywhere (the overview's
// headline, the Findings tab's badge and list, the incidents table, the report); low and
// informational notes are context beside them, one control away. The view's state (tab,
// findings filter, whether incidents include the lower ones) lives in the URL hash, so a
// shared link or a reload opens the same view of the next analysis.

import { fmtInt, plural, severityRank } from "./format.js";

/** The lowest severity that needs review. */
export const REVIEW_SEVERITY = "medium";

export const needsReview = (f) => severityRank(f.severity) >= severityRank(REVIEW_SEVERITY);

/** How many findings (or incidents) need review, and how many lower ones there are. */
export function reviewCounts(items) {
  let review = 0;
  for (const item of items) if (needsReview(item)) review++;
  return { review, lower: items.length - review };
}

/** "260 to review" and "and 30,414 low or informational notes". */
export function reviewText({ review, lower }) {
  return {
    headline: `${fmtInt(review)} to review`,
    context: lower ? `and ${plural(lower, "low or informational note")}` : "nothing lower",
  };
}

/** The filter a findings list opens with. */
export const defaultFilter = () => ({ severity: REVIEW_SEVERITY });

/** True when the filter lets low and informational findings through. */
export const includesLower = (filter) => !filter.severity || severityRank(filter.severity) < severityRank(REVIEW_SEVERITY);

const FILTER_KEYS = ["severity", "class", "rule", "verb", "resource", "namespace", "identity", "text", "incident", "from", "to"];
const NUMBERS = new Set(["incident", "from", "to"]);

/**
 * The view the hash names: `{ tab, filter, lowerIncidents }`. An empty hash is the default view:
 * the overview, findings of medium and above, incidents of medium and above.
 */
export function readHash(hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const filter = defaultFilter();
  if (params.has("severity")) {
    const severity = params.get("severity");
    if (severity === "all") delete filter.severity;
    else filter.severity = severity;
  }
  for (const key of FILTER_KEYS) {
    if (key === "severity" || !params.has(key)) continue;
    const value = params.get(key);
    if (NUMBERS.has(key)) {
      const n = Number(value);
      if (Number.isFinite(n)) filter[key] = n;
    } else filter[key] = value;
  }
  return { tab: params.get("tab") || "overview", filter, lowerIncidents: params.get("incidents") === "all" };
}

/** The hash of a view; the default view is the empty hash. */
export function writeHash({ tab, filter, lowerIncidents }) {
  const params = new URLSearchParams();
  if (tab && tab !== "overview") params.set("tab", tab);
  if (filter.severity !== REVIEW_SEVERITY) params.set("severity", filter.severity ?? "all");
  for (const key of FILTER_KEYS) {
    if (key !== "severity" && filter[key] !== undefined) params.set(key, String(filter[key]));
  }
  if (lowerIncidents) params.set("incidents", "all");
  const text = params.toString();
  return text ? `#${text}` : "";
}
