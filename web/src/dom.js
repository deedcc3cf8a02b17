// Building DOM nodes from data. Everything shown in the page that comes from a log (names,
// user agents, URIs, messages, file names) is hostile text: it only ever reaches the document
// through text nodes and attribute values set here, never as HTML.

/**
 * Creates an element. `props` may hold:
 *   class, text, title, id, role, tabindex, hidden, type, and any other attribute;
 *   dataset: {key: value} for data-* attributes; on: {event: handler};
 *   style: {"--var": value} custom properties (set through the CSSOM, allowed by the CSP).
 * Children are nodes, strings (become text nodes), numbers, arrays of those, or null (skipped).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = String(value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "on") for (const [event, handler] of Object.entries(value)) el.addEventListener(event, handler);
    else if (key === "style") for (const [name, v] of Object.entries(value)) el.style.setProperty(name, String(v));
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/** Replaces the children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const byId = (id) => document.getElementById(id);

/** A table from column titles and rows of cells (strings or nodes). */
export function table(columns, rows, props = {}) {
  return h(
    "table",
    { class: "table", ...props },
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((c) => h("td", {}, c))))),
  );
}

/** A message shown where there is nothing to show, saying why. */
export function emptyState(title, detail) {
  return h("div", { class: "empty" }, h("p", { class: "empty-title" }, title), detail ? h("p", { class: "muted" }, detail) : null);
}

/** Saves bytes or text as a download, without any request. */
export function download(name, content, type) {
  const url = URL.createObjectURL(new Blob([content], { type }));
  const link = h("a", { href: url, download: name, hidden: true });
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
