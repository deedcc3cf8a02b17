// The engine's thread: the wasm Session lives here, so a multi-GB log never blocks the page.
//
//   page ──{id, op, args}──▶ worker ──▶ Session (wasm, the core)
//   page ◀─{id, ok, value}── worker      one reply per call
//   page ◀─{event: "progress"}─ worker   while files stream in
//
// Files arrive as File objects (no copy of their bytes); they are streamed into one reused
// buffer (read.js) and pushed into the session, so only that buffer is in memory.
//
// A large plain file may come cut into parts (at line starts, planned by the page): this worker
// reads the first part, helper workers (the same script, op "part") read the others into
// Parts, and the page hands each part's bytes here ("partBytes"), where the session appends
// them in file order. A part the session cannot append is read here, in order, with the rest
// of its file. The page's
// copy of each File stays valid, and the raw text of one event is re-read from it on demand
// with the byte range the session gives (decompressing gzip files up to that range).

import init, { GzipRange, Part, Session, lastPanic, redactEvent } from "../pkg/auditlens_wasm.js";
import { isGzip } from "./gzip.js";
import { FileReadError, readBlob } from "./read.js";

let wasm = null;
let session = null;
let files = [];
/** Where reading is, for the message if the engine fails: file name, bytes read, bytes in all. */
let reading = null;
/** Set once the engine has trapped: its memory may be in any state, so it takes no more calls
 *  (the page starts a new worker). */
let broken = null;

// For automated tests and the curious, as `window.auditlens` is on the page: the engine's memory.
self.auditlens = {
  get memory() {
    return wasm?.memory ?? null;
  },
};

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
    policy: has("policySuggest"),
    leastPrivilege: has("leastPrivilege"),
    granted: has("loadGranted"),
    schemaExport: has("exportFindings"),
  };
}

const parse = (text) => JSON.parse(text);

/** A reply whose ArrayBuffers move to the page instead of being copied. */
class Transfer {
  constructor(value, list) {
    this.value = value;
    this.list = list;
  }
}

/** Parts of files read by helpers, by "file:part", and who waits for them; parts are taken
 *  only while files are being read. */
const arrived = new Map();
const waiting = new Map();
let takingParts = false;

function takePart(file, part) {
  const key = `${file}:${part}`;
  if (arrived.has(key)) {
    const bytes = arrived.get(key);
    arrived.delete(key);
    return Promise.resolve(bytes);
  }
  return new Promise((resolve) => waiting.set(key, resolve));
}

/** Appends a part's bytes to the session; false when it cannot (the part is then read here). */
function appendPart(file, bytes) {
  try {
    return session.appendPart(file, new Uint8Array(bytes));
  } catch (e) {
    // Bytes the session refuses as damaged change nothing: reading the part here is as good.
    // A trap (out of memory) is no refusal: it goes up.
    if (isTrap(e)) throw e;
    return false;
  }
}

const ops = {
  async init({ wasm: source }) {
    wasm = await init({ module_or_path: source });
    return { capabilities: capabilities(), memory: memoryBytes() };
  },

  /** Reads every file into a new session; resolves with what the overview needs. */
  async analyze({ files: list, baseline, rules, parts, granted }) {
    session?.free();
    session = new Session();
    // A granted RBAC file the engine cannot read leaves the analysis as it is, with the reason.
    let grantedResult = null;
    if (granted && session.loadGranted) {
      try {
        grantedResult = { info: parse(session.loadGranted(granted.name, granted.text)), error: null };
      } catch (e) {
        grantedResult = { info: null, error: e?.message ?? String(e) };
      }
    }
    arrived.clear();
    waiting.clear();
    takingParts = true;
    if (rules && session.loadRules) session.loadRules(rules);
    if (baseline && session.loadBaseline) session.loadBaseline(baseline);
    files = list;
    const total = list.reduce((sum, f) => sum + f.size, 0);
    const ids = list.map((f) => {
      const id = session.addFile(f.name);
      session.setFileSize(id, f.size);
      return id;
    });
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
    const push = (i) => (chunk) => session.push(ids[i], chunk);
    const progress = (bytes) => {
      done += bytes;
      if (reading) reading.done = done;
      report("reading", done === bytes);
    };
    // Parts helpers read that were appended, and parts read here in order after all.
    const partsRead = { appended: 0, inOrder: 0 };
    // Files that could not be read to their end: named in the result and, as a read-error
    // diagnostic, in the session; what was read of them stays analysed.
    const unreadable = [];
    reading = { file: null, done: 0, total };
    for (let i = 0; i < list.length; i++) {
      const file = list[i];
      reading.file = file.name;
      const starts = parts?.[i] ?? [0];
      const ends = [...starts.slice(1), file.size];
      try {
        await readBlob(file.slice(0, ends[0]), push(i), progress);
        for (let k = 1; k < starts.length; k++) {
          const bytes = await takePart(i, k);
          if (bytes && appendPart(ids[i], bytes)) {
            partsRead.appended += 1;
            continue;
          }
          // Not plain JSON lines of audit events after all: this part and the rest, in order.
          partsRead.inOrder += starts.length - k;
          await readBlob(file.slice(starts[k]), push(i), progress);
          break;
        }
        session.finishFile(ids[i]);
      } catch (e) {
        // The browser refusing the file's bytes (it was changed, moved or removed after it was
        // chosen; permissions); anything else is the engine's and goes up.
        if (!(e instanceof FileReadError)) throw e;
        const reason = e.message;
        unreadable.push({ file: file.name, reason });
        session.readFailed(ids[i], reason);
      }
    }
    // Parts no longer needed (their file was read in order after all) are let go.
    takingParts = false;
    arrived.clear();
    report("analysing", true);
    const readMs = performance.now() - started;
    session.finish();
    const result = {
      summary: parse(session.summary()),
      overview: parse(session.overview()),
      findingCount: session.findingCount(),
      diagnosticCount: session.diagnosticCount(),
      incidents: session.incidents ? parse(session.incidents()) : null,
      elapsed: performance.now() - started,
      memory: memoryBytes(),
      partsRead,
      granted: grantedResult,
      unreadable,
      // Of `elapsed`: reading (with parts appended); the rest is ordering and scoring.
      readMs,
    };
    post({ event: "progress", phase: "done", done, total, elapsed: result.elapsed, memory: result.memory, ...parse(session.progress()) });
    return result;
  },

  /** The bytes of a part a helper read, for the analysis under way. */
  partBytes({ file, part, bytes }) {
    if (!takingParts) return null;
    const key = `${file}:${part}`;
    const resolve = waiting.get(key);
    if (resolve) {
      waiting.delete(key);
      resolve(bytes);
    } else {
      arrived.set(key, bytes);
    }
    return null;
  },

  /** In a helper: reads one part of a file; its bytes for the session, or null. */
  async part({ file, names, index, start, end, last, rules }) {
    const part = new Part(names, index, start, rules ?? "");
    let done = 0;
    let lastReport = 0;
    try {
      await readBlob(
        file.slice(start, end),
        (chunk) => part.push(chunk),
        (bytes) => {
          done += bytes;
          const now = performance.now();
          if (now - lastReport < PROGRESS_EVERY_MS) return;
          lastReport = now;
          post({ event: "part-progress", done });
        },
      );
      post({ event: "part-progress", done });
      const bytes = part.finish(last);
      return bytes ? new Transfer(bytes.buffer, [bytes.buffer]) : null;
    } finally {
      part.free();
    }
  },

  findings: ({ start, count }) => parse(session.findings(start, count)),
  diagnostics: ({ start, count }) => parse(session.diagnostics(start, count)),
  neighbours: ({ auditID, before, after }) => parse(session.neighbours(auditID, before, after)),
  identity: ({ identity }) => ({
    activity: parse(session.identity(identity)),
    profile: session.profile ? parse(session.profile(identity)) : null,
  }),
  ruleHits: ({ auditID }) => (session.ruleHits ? parse(session.ruleHits(auditID)) : null),
  leastPrivilege: ({ identity }) => (session.leastPrivilege ? parse(session.leastPrivilege(identity)) : null),
  /** The cluster's granted RBAC, for the comparison; what it held, or an error. */
  loadGranted: ({ name, text }) => parse(session.loadGranted(name, text)),
  clearGranted: () => session.clearGranted?.() ?? null,
  report: () => session.report(),
  policyCheck: ({ text }) => parse(session.policyCheck(text)),
  policySimulate: ({ text, top }) => parse(session.policySimulate(text, top ?? 10)),
  policySuggest: () => parse(session.policySuggest()),
  baseline: () => (session.baseline ? session.baseline() : null),
  exportFindings: ({ schema }) => (session.exportFindings ? session.exportFindings(schema) : null),

  /** One request and its raw record, re-read from its file; secret values replaced unless
   * `reveal` asks for them. */
  async raw({ auditID, reveal = false }) {
    const row = parse(session.request(auditID));
    if (!row) return { row: null, text: null, error: "no request with this auditID" };
    const file = files[row.fileIndex];
    if (!file) return { row, text: null, error: "its file is no longer open" };
    try {
      const text = await readRange(file, row.offset, row.len);
      const shown = reveal ? text : redactEvent(text);
      return { row, text: shown, redacted: shown !== text, error: null };
    } catch (e) {
      return { row, text: null, error: `could not re-read it from ${file.name}: ${e.message ?? e}` };
    }
  },
};

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
    if (broken) throw new Error("the engine stopped after an earlier failure");
    const value = await handler(args ?? {});
    if (value instanceof Transfer) self.postMessage({ id, ok: true, value: value.value }, value.list);
    else post({ id, ok: true, value });
  } catch (e) {
    post({ id, ok: false, error: e?.message ?? String(e), crash: crashOf(e) });
  }
};

/**
 * What a failure says about the engine, or null when it is an ordinary error (a file or
 * setting the engine refused). A wasm trap is a crash: Rust aborts on a panic and on an
 * allocation the tab's memory cannot grow to hold; a panic leaves its message (`lastPanic`),
 * so a trap without one, or a RangeError about memory, is the tab running out of memory.
 */
function isTrap(e) {
  return e instanceof WebAssembly.RuntimeError || (e instanceof RangeError && /memory|allocat/i.test(e.message)) || TRAPPED_BEFORE.test(e?.message ?? "");
}

/** wasm-bindgen's error for an object still borrowed by a call that trapped: a call after a
 *  trap whose error was lost on the way. */
const TRAPPED_BEFORE = /recursive use of an object detected/;

function crashOf(e) {
  if (!isTrap(e)) return null;
  const memoryError = e instanceof RangeError;
  let panic = null;
  try {
    panic = lastPanic() ?? null;
  } catch {
    panic = null;
  }
  broken = { at: reading };
  return { outOfMemory: memoryError || !panic, panic, memory: memoryBytes(), file: reading?.file ?? null, done: reading?.done ?? 0, total: reading?.total ?? 0 };
}
