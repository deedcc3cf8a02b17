// The engine's thread: the wasm Session lives here, so a multi-GB log never blocks the page.
//
//   page ──{id, op, args}──▶ worker ──▶ Session (wasm, the core)
//   page ◀─{id, ok, value}── worker      one reply per call
//   page ◀─{event: "progress"}─ worker   while files stream in
//
// Files arrive as File objects (no copy of their bytes); they are read with Blob.stream() chunk
// by chunk and pushed into the session, so only one chunk at a time is in memory. The page's
// copy of each File stays valid, and the raw text of one event is re-read from it on demand
// with the byte range the session gives (decompressing gzip files up to that range).

import init, { GzipRange, Session } from "../pkg/auditlens_wasm.js";

let wasm = null;
let session = null;
let files = [];

const PROGRESS_EVERY_MS = 100;

function post(message) {
  self.postMessage(message);
}

function memoryBytes() {
  return wasm?.memory?.buffer?.byteLength ?? 0;
}

/** What this build of the engine offers beyond the basics, for the page to show or hide. */
function capabilities() {
  const proto = Session.prototype;
  const has = (name) => typeof proto[name] === "function";
  return {
    incidents: has("incidents"),
    profiles: has("profile"),
    baselineExport: has("baseline"),
    baselineImport: has("loadBaseline"),
    rulesConfig: has("loadRules"),
    ruleCatalog: has("rules"),
    ruleHits: has("ruleHits"),
  };
}

const parse = (text) => JSON.parse(text);

const ops = {
  async init({ wasm: source }) {
    wasm = await init({ module_or_path: source });
    return { capabilities: capabilities(), memory: memoryBytes() };
  },

  /** Reads every file into a new session; resolves with what the overview needs. */
  async analyze({ files: list, baseline, rules }) {
    session?.free();
    session = new Session();
    if (rules && session.loadRules) session.loadRules(rules);
    if (baseline && session.loadBaseline) session.loadBaseline(baseline);
    files = list;
    const total = list.reduce((sum, f) => sum + f.size, 0);
    const ids = list.map((f) => session.addFile(f.name));
    const started = performance.now();
    let done = 0;
    let last = 0;
    const report = (phase, force) => {
      const now = performance.now();
      if (!force && now - last < PROGRESS_EVERY_MS) return;
      last = now;
      post({ event: "progress", phase, done, total, elapsed: now - started, memory: memoryBytes(), ...parse(session.progress()) });
    };
    report("reading", true);
    for (let i = 0; i < list.length; i++) {
      const reader = list[i].stream().getReader();
      for (;;) {
        const { done: end, value } = await reader.read();
        if (end) break;
        session.push(ids[i], value);
        done += value.byteLength;
        report("reading", done === value.byteLength);
      }
      session.finishFile(ids[i]);
    }
    report("analysing", true);
    session.finish();
    const result = {
      summary: parse(session.summary()),
      overview: parse(session.overview()),
      findingCount: session.findingCount(),
      diagnosticCount: session.diagnosticCount(),
      incidents: session.incidents ? parse(session.incidents()) : null,
      elapsed: performance.now() - started,
      memory: memoryBytes(),
    };
    post({ event: "progress", phase: "done", done, total, elapsed: result.elapsed, memory: result.memory, ...parse(session.progress()) });
    return result;
  },

  findings: ({ start, count }) => parse(session.findings(start, count)),
  diagnostics: ({ start, count }) => parse(session.diagnostics(start, count)),
  neighbours: ({ auditID, before, after }) => parse(session.neighbours(auditID, before, after)),
  identity: ({ identity }) => ({
    activity: parse(session.identity(identity)),
    profile: session.profile ? parse(session.profile(identity)) : null,
  }),
  ruleHits: ({ auditID }) => (session.ruleHits ? parse(session.ruleHits(auditID)) : null),
  report: () => session.report(),
  baseline: () => (session.baseline ? session.baseline() : null),

  /** One request and its raw record, re-read from its file. */
  async raw({ auditID }) {
    const row = parse(session.request(auditID));
    if (!row) return { row: null, text: null, error: "no request with this auditID" };
    const file = files[row.fileIndex];
    if (!file) return { row, text: null, error: "its file is no longer open" };
    try {
      return { row, text: await readRange(file, row.offset, row.len), error: null };
    } catch (e) {
      return { row, text: null, error: `could not re-read it from ${file.name}: ${e.message ?? e}` };
    }
  },
};

async function isGzip(file) {
  const head = new Uint8Array(await file.slice(0, 2).arrayBuffer());
  return head[0] === 0x1f && head[1] === 0x8b;
}

/**
 * The bytes `offset..offset+len` of a file's decoded stream, as text. For gzip the offsets are
 * in the decompressed data, so the file is decompressed from its start up to the range: first
 * with the browser's DecompressionStream (fast, but it stops after the first gzip member), then,
 * if the range was not reached that way, with the engine's GzipRange, which reads every member
 * as the analysis did.
 */
async function readRange(file, offset, len) {
  if (!(await isGzip(file))) return file.slice(offset, offset + len).text();
  const decoder = new TextDecoder();
  const fast = await readWithDecompressionStream(file, offset, len).catch(() => null);
  if (fast) return decoder.decode(fast);
  const range = new GzipRange(offset, len);
  const reader = file.stream().getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || range.push(value)) break;
    }
    if (!range.complete()) throw new Error("the decompressed file ends before the event");
    return decoder.decode(range.bytes());
  } finally {
    range.free();
    reader.cancel().catch(() => {});
  }
}

/** The range through DecompressionStream, or null when the stream ends or fails before it. */
async function readWithDecompressionStream(file, offset, len) {
  const out = new Uint8Array(len);
  let filled = 0;
  let position = 0;
  const reader = file.stream().pipeThrough(new DecompressionStream("gzip")).getReader();
  try {
    while (filled < len) {
      const { done, value } = await reader.read();
      if (done) break;
      const end = position + value.byteLength;
      if (end > offset) {
        const from = Math.max(0, offset - position);
        const take = Math.min(value.byteLength - from, len - filled);
        out.set(value.subarray(from, from + take), filled);
        filled += take;
      }
      position = end;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  return filled === len ? out : null;
}

self.onmessage = async (message) => {
  const { id, op, args } = message.data;
  try {
    const handler = ops[op];
    if (!handler) throw new Error(`unknown operation ${op}`);
    if (op !== "init" && !wasm) throw new Error("the engine is not loaded");
    const value = await handler(args ?? {});
    post({ id, ok: true, value });
  } catch (e) {
    post({ id, ok: false, error: e?.message ?? String(e) });
  }
};
