// The findings tab: filters, a sortable list that stays fast with 100,000 rows (only the rows
// in view exist in the document, placed by @tanstack/virtual-core), and the detail pane.
//
// The findings themselves are plain objects in the core's output schema, fetched once in
// batches after the analysis; filtering and sorting are array operations over them.

import { Virtualizer, elementScroll, observeElementOffset, observeElementRect } from "@tanstack/virtual-core";
import { emptyState, h, replace } from "./dom.js";
import { SEVERITIES, fmtInt, fmtTime, requestKey, severityRank } from "./format.js";
import { renderDetail } from "./detail.js";
import { defaultFilter, includesLower, reviewCounts } from "./review.js";

const ROW_HEIGHT = 36;

const COLUMNS = [
  { key: "severity", title: "Severity", value: (f) => severityRank(f.severity) * 1000 + (f.score ?? 0) },
  { key: "timestamp", title: "Time (UTC)", value: (f) => f.timestamp },
  { key: "identity", title: "Identity", value: (f) => f.identity },
  { key: "verb", title: "Verb", value: (f) => f.verb },
  { key: "resource", title: "Resource", value: (f) => f.resource },
  { key: "namespace", title: "Namespace / name", value: (f) => `${f.namespace}/${f.name}` },
  { key: "reason", title: "Why", value: (f) => f.reasons?.[0]?.message ?? "" },
];

const FILTERS = [
  { key: "severity", label: "Severity at least", options: () => SEVERITIES.slice().reverse(), test: (f, v) => severityRank(f.severity) >= severityRank(v) },
  { key: "class", label: "Class", options: (all) => distinct(all, classOf), test: (f, v) => classOf(f) === v },
  { key: "rule", label: "Rule", options: (all) => distinct(all, (f) => f.rules ?? []), test: (f, v) => (f.rules ?? []).includes(v) },
  { key: "verb", label: "Verb", options: (all) => distinct(all, (f) => f.verb), test: (f, v) => f.verb === v },
  { key: "resource", label: "Resource", options: (all) => distinct(all, (f) => f.resource), test: (f, v) => f.resource === v },
  { key: "namespace", label: "Namespace", options: (all) => distinct(all, (f) => f.namespace), test: (f, v) => f.namespace === v },
];

/** The identity class of a finding's identity, when the engine reports one. */
export const classOf = (f) => f.identityClass ?? f.class ?? "";

function distinct(all, pick) {
  const values = new Set();
  for (const f of all) {
    const v = pick(f);
    for (const x of Array.isArray(v) ? v : [v]) if (x) values.add(x);
  }
  return [...values].sort();
}

const texts = new WeakMap();

/** The lower-case text a search looks in, built once per finding. */
function haystack(f) {
  let text = texts.get(f);
  if (text === undefined) {
    const reasons = (f.reasons ?? []).map((r) => `${r.code} ${r.message}`).join(" ");
    text = [f.auditID ?? "", f.identity, f.verb, f.resource, f.namespace, f.name, (f.rules ?? []).join(" "), reasons, f.file]
      .join(" ")
      .toLowerCase();
    texts.set(f, text);
  }
  return text;
}

export class FindingsPanel {
  constructor(app) {
    this.app = app;
    this.all = [];
    this.rows = [];
    this.filter = {};
    this.sort = { key: "severity", descending: true };
    this.selected = -1;
    this.el = h("div", { class: "findings-layout" });
  }

  /** Shows a new analysis' findings, filtered as `filter` says (by default: what needs
   * review, medium and above). */
  load(findings, filter = defaultFilter()) {
    this.all = findings;
    this.filter = {};
    this.selected = -1;
    this.build();
    this.setFilter(filter);
  }

  build() {
    this.virtualizer?._willUnmount?.();
    this.cleanup?.();
    this.search = h("input", {
      type: "search",
      class: "search",
      placeholder: "Search findings (/)",
      "aria-label": "Search findings",
      on: { input: () => this.debounced() },
    });
    this.identityInput = h("input", {
      type: "search",
      class: "filter-identity",
      placeholder: "Identity",
      "aria-label": "Identity",
      list: "identity-options",
      on: { change: () => this.setFilter({ identity: this.identityInput.value.trim() || undefined }) },
    });
    const identityOptions = h("datalist", { id: "identity-options" }, distinct(this.all, (f) => f.identity).slice(0, 5000).map((v) => h("option", { value: v })));
    this.selects = FILTERS.map((filter) => {
      const options = filter.options(this.all);
      const select = h(
        "select",
        { "aria-label": filter.label, dataset: { filter: filter.key }, disabled: options.length === 0, on: { change: () => this.setFilter({ [filter.key]: select.value || undefined }) } },
        h("option", { value: "" }, `${filter.label}: any`),
        options.map((v) => h("option", { value: v }, v)),
      );
      return select;
    });
    const lower = reviewCounts(this.all).lower;
    this.lowerToggle = h("input", {
      type: "checkbox",
      "data-testid": "include-lower",
      on: { change: () => this.setFilter({ severity: this.lowerToggle.checked ? undefined : "medium" }) },
    });
    const lowerControl = h("label", { class: "toggle", title: "Findings below medium severity: context, not alerts" }, this.lowerToggle, ` Include low and info (${fmtInt(lower)})`);
    this.timeChip = h("span", { class: "chip", hidden: true });
    this.incidentChip = h("span", { class: "chip", hidden: true });
    this.countLine = h("span", { class: "muted count-line", "aria-live": "polite" });
    const toolbar = h(
      "div",
      { class: "toolbar" },
      this.search,
      lowerControl,
      this.identityInput,
      identityOptions,
      this.selects,
      this.timeChip,
      this.incidentChip,
      h("button", { type: "button", class: "button small", on: { click: () => this.clearFilters() } }, "Clear filters"),
      this.countLine,
    );
    this.header = h(
      "div",
      { class: "row header", role: "row" },
      COLUMNS.map((c) =>
        h(
          "button",
          { type: "button", role: "columnheader", class: `cell c-${c.key}`, dataset: { sort: c.key }, on: { click: () => this.sortBy(c.key) } },
          c.title,
        ),
      ),
    );
    this.inner = h("div", { class: "virtual-inner" });
    this.scroller = h("div", { class: "list-scroll", tabindex: 0, role: "grid", "aria-label": "Findings", on: { keydown: (e) => this.onKey(e) } }, this.inner);
    this.empty = h("div", { class: "list-empty", hidden: true });
    this.detail = h("aside", { class: "detail", "aria-label": "Finding detail" }, emptyState("No finding selected", "Pick a row to see why it was flagged, the raw event and what the identity did around it."));
    replace(this.el, toolbar, h("div", { class: "split" }, h("div", { class: "list" }, this.header, this.scroller, this.empty), this.detail));
    this.virtualizer = new Virtualizer({
      count: 0,
      getScrollElement: () => this.scroller,
      estimateSize: () => ROW_HEIGHT,
      overscan: 12,
      observeElementRect,
      observeElementOffset,
      scrollToFn: elementScroll,
      onChange: () => this.renderRows(),
    });
    this.cleanup = this.virtualizer._didMount();
  }

  debounced() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.setFilter({ text: this.search.value.trim().toLowerCase() || undefined }), 120);
  }

  setFilter(partial) {
    this.filter = { ...this.filter, ...partial };
    for (const [k, v] of Object.entries(this.filter)) if (v === undefined) delete this.filter[k];
    for (const select of this.selects) select.value = this.filter[select.dataset.filter] ?? "";
    this.identityInput.value = this.filter.identity ?? "";
    this.lowerToggle.checked = includesLower(this.filter);
    if (this.filter.text === undefined) this.search.value = "";
    else if (this.search.value.trim().toLowerCase() !== this.filter.text) this.search.value = this.filter.text;
    this.apply();
    this.onChange?.(this.filter);
  }

  /** Clears every filter, the severity one too: every finding shows. */
  clearFilters() {
    this.filter = {};
    this.setFilter({});
  }

  /** A short description of the filters in force, for the report. */
  describeFilter() {
    const parts = Object.entries(this.filter).map(([k, v]) => (k === "from" || k === "to" ? `${k} ${new Date(v).toISOString()}` : `${k}: ${v}`));
    return parts.length ? parts.join(", ") : "no filter";
  }

  sortBy(key) {
    this.sort = this.sort.key === key ? { key, descending: !this.sort.descending } : { key, descending: key === "severity" || key === "timestamp" };
    this.apply();
  }

  apply() {
    const { text, identity, from, to, incident } = this.filter;
    const active = FILTERS.filter((f) => this.filter[f.key] !== undefined);
    const rows = this.all.filter(
      (f) =>
        (!identity || f.identity === identity) &&
        (incident === undefined || f.incident === incident) &&
        (!from || Date.parse(f.timestamp) >= from) &&
        (!to || Date.parse(f.timestamp) <= to) &&
        active.every((a) => a.test(f, this.filter[a.key])) &&
        (!text || haystack(f).includes(text)),
    );
    const column = COLUMNS.find((c) => c.key === this.sort.key) ?? COLUMNS[0];
    const sign = this.sort.descending ? -1 : 1;
    const keyed = rows.map((f) => [column.value(f), f]);
    keyed.sort((a, b) => (a[0] < b[0] ? -sign : a[0] > b[0] ? sign : 0));
    this.rows = keyed.map((k) => k[1]);
    for (const button of this.header.children) {
      button.setAttribute("aria-sort", button.dataset.sort === this.sort.key ? (this.sort.descending ? "descending" : "ascending") : "none");
    }
    this.incidentChip.hidden = incident === undefined;
    if (incident !== undefined) {
      replace(
        this.incidentChip,
        `incident ${incident}`,
        h("button", { type: "button", class: "chip-x", "aria-label": "Show all incidents", on: { click: () => this.setFilter({ incident: undefined }) } }, "×"),
      );
    }
    if (from || to) {
      this.timeChip.hidden = false;
      replace(
        this.timeChip,
        `${from ? fmtTime(new Date(from).toISOString()) : "…"} → ${to ? fmtTime(new Date(to).toISOString()) : "…"}`,
        h("button", { type: "button", class: "chip-x", "aria-label": "Clear time range", on: { click: () => this.setFilter({ from: undefined, to: undefined }) } }, "×"),
      );
    } else this.timeChip.hidden = true;
    this.countLine.textContent = `${fmtInt(this.rows.length)} of ${fmtInt(this.all.length)}`;
    this.selected = -1;
    this.empty.hidden = this.rows.length > 0;
    if (this.rows.length === 0) {
      replace(
        this.empty,
        this.all.length === 0
          ? emptyState("No findings", "Nothing in these logs stood out against the identities' own behaviour or matched a detection rule.")
          : emptyState("No finding matches these filters", "Clear a filter or change the search."),
      );
    }
    this.virtualizer.setOptions({ ...this.virtualizer.options, count: this.rows.length });
    this.virtualizer.scrollToOffset(0);
    this.virtualizer._willUpdate();
    this.renderRows();
  }

  renderRows() {
    this.inner.style.setProperty("height", `${this.virtualizer.getTotalSize()}px`);
    const items = this.virtualizer.getVirtualItems();
    replace(this.inner, items.map((item) => this.row(this.rows[item.index], item.index, item.start)));
  }

  row(f, index, top) {
    const reason = f.reasons?.[0]?.message ?? (f.rules ?? []).join(", ");
    const target = [f.namespace, f.name].filter(Boolean).join("/");
    return h(
      "div",
      {
        class: `row${index === this.selected ? " selected" : ""}`,
        role: "row",
        "aria-selected": index === this.selected ? "true" : "false",
        dataset: { auditId: requestKey(f), severity: f.severity, index: String(index) },
        style: { transform: `translateY(${top}px)` },
        on: { click: () => this.select(index, true) },
      },
      h("span", { class: "cell c-severity" }, h("span", { class: `badge sev-${f.severity}` }, f.severity), h("span", { class: "score" }, String(f.score ?? ""))),
      h("span", { class: "cell c-timestamp mono" }, fmtTime(f.timestamp)),
      h("span", { class: "cell c-identity", title: f.identity }, f.identity),
      h("span", { class: "cell c-verb mono" }, f.verb),
      h("span", { class: "cell c-resource mono", title: f.resource }, f.resource),
      h("span", { class: "cell c-namespace", title: target }, target),
      h("span", { class: "cell c-reason", title: reason }, reason),
    );
  }

  select(index, open) {
    if (index < 0 || index >= this.rows.length) return;
    this.selected = index;
    this.virtualizer.scrollToIndex(index, { align: "auto" });
    this.renderRows();
    if (open) this.open();
  }

  /** Selects the finding with this auditID, clearing filters that hide it. */
  selectAuditId(auditID) {
    let index = this.rows.findIndex((f) => requestKey(f) === auditID);
    if (index < 0) {
      this.clearFilters();
      index = this.rows.findIndex((f) => requestKey(f) === auditID);
    }
    this.select(index, true);
  }

  open() {
    const f = this.rows[this.selected];
    if (f) renderDetail(this.app, this.detail, f);
  }

  move(delta) {
    if (this.rows.length === 0) return;
    this.select(Math.min(this.rows.length - 1, Math.max(0, (this.selected < 0 ? -1 : this.selected) + delta)), false);
  }

  onKey(e) {
    const keys = { ArrowDown: 1, j: 1, ArrowUp: -1, k: -1, PageDown: 15, PageUp: -15 };
    if (keys[e.key] !== undefined) {
      e.preventDefault();
      this.move(keys[e.key]);
    } else if (e.key === "Home") {
      e.preventDefault();
      this.select(0, false);
    } else if (e.key === "End") {
      e.preventDefault();
      this.select(this.rows.length - 1, false);
    } else if (e.key === "Enter") {
      e.preventDefault();
      this.open();
    }
  }

  focusSearch() {
    this.search.focus();
    this.search.select();
  }

  focusList() {
    this.scroller.focus();
  }
}
