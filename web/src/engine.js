// The page's side of the worker: starts it (from assets/worker.js in the folder build, or from
// the source inlined in the single-file build), hands it the wasm, and turns its messages into
// promises. Cancelling an analysis ends the worker and starts a fresh one.
//
// Where the machine has cores to spare, a large plain file is cut into parts at line starts:
// the engine's worker reads the first, helper workers (the same script) read the others, and
// each part's bytes are handed to the engine's worker, which appends them in file order. The
// helpers end with the analysis, and their memory with them.

import { isGzip } from "./gzip.js";

/** Files smaller than this are read by one worker. */
const MIN_PARALLEL_BYTES = 64 * 1024 * 1024;
/** Analyses larger than this (all files together) are read by one worker. Two workers need
 *  about twice the memory (0.43 to 0.49 of the input against 0.21), and past about 8 GB the
 *  workers of one tab together reach what Chromium gives a tab's WebAssembly: a 12 GB log with
 *  two workers stalled there (docs/robustness.md), with one it completes. */
const MAX_PARALLEL_BYTES = 4 * 1024 * 1024 * 1024;
/** How much past a planned cut is read at a time while looking for the next line start, and
 *  how far at most (a longer line is not cut: the part before it grows). */
const CUT_SEARCH_STEP = 64 * 1024;
const CUT_SEARCH_LIMIT = 16 * 1024 * 1024;

/** The offset of the first line start after `at`, or -1 within the search limit. */
async function lineStartAfter(file, at) {
  for (let from = at; from < Math.min(file.size, at + CUT_SEARCH_LIMIT); from += CUT_SEARCH_STEP) {
    const window = new Uint8Array(await file.slice(from, from + CUT_SEARCH_STEP).arrayBuffer());
    const newline = window.indexOf(0x0a);
    if (newline >= 0) return from + newline + 1;
  }
  return -1;
}

/** Where to cut `file` into at most `count` parts, each starting a line: part starts, 0 first. */
export async function planParts(file, count, minBytes = MIN_PARALLEL_BYTES) {
  if (count < 2 || file.size < minBytes || (await isGzip(file))) return [0];
  const starts = [0];
  for (let k = 1; k < count; k++) {
    const at = Math.floor((file.size * k) / count);
    if (at <= starts[starts.length - 1]) continue;
    const start = await lineStartAfter(file, at);
    if (start < 0 || start >= file.size) continue;
    starts.push(start);
  }
  return starts;
}

/** Where the worker and the wasm come from, in this build. */
function sources() {
  const inlineWorker = document.getElementById("auditlens-worker");
  if (inlineWorker) {
    const base64 = document.getElementById("auditlens-wasm").textContent.trim();
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    return {
      worker: () => new Worker(URL.createObjectURL(new Blob([inlineWorker.textContent], { type: "text/javascript" }))),
      wasm: () => bytes.slice().buffer,
    };
  }
  const base = document.baseURI;
  return {
    worker: () => new Worker(new URL("assets/worker.js", base)),
    wasm: () => new URL("assets/auditlens_wasm_bg.wasm", base).href,
  };
}

export class Engine {
  constructor(shared = sources()) {
    this.sources = shared;
    this.nextId = 1;
    this.pending = new Map();
    this.onProgress = () => {};
    this.helpers = [];
    this.helperBytes = 0;
    // Workers besides this one that may read parts of a file; `minBytes` is the smallest file
    // worth cutting, `maxBytes` the most all files may hold for helpers to be used. Each may be
    // changed before an analysis (the tests do).
    this.parallelism = { helpers: Math.min(3, Math.max(0, (navigator.hardwareConcurrency || 1) - 1)), minBytes: MIN_PARALLEL_BYTES, maxBytes: MAX_PARALLEL_BYTES };
    this.start();
  }

  start() {
    this.worker = this.sources.worker();
    this.worker.onmessage = (e) => this.receive(e.data);
    // An error the worker did not catch: it may be in any state, so it is replaced.
    this.worker.onerror = (e) => {
      e.preventDefault?.();
      this.restart(e.message || "the engine stopped", { outOfMemory: false, panic: null, uncaught: true });
    };
    const wasm = this.sources.wasm();
    this.ready = this.call("init", { wasm }, wasm instanceof ArrayBuffer ? [wasm] : []).then((info) => {
      this.capabilities = info.capabilities;
      return info;
    });
  }

  receive(message) {
    if (message.event === "progress") {
      if (message.done > 0 || message.phase !== "reading") this.started?.();
      this.lastProgress = message;
      this.showProgress();
      return;
    }
    if (message.event === "part-progress") {
      this.onPartProgress?.(message.done);
      return;
    }
    const waiter = this.pending.get(message.id);
    if (!waiter) return;
    this.pending.delete(message.id);
    if (message.ok) {
      waiter.resolve(message.value);
      return;
    }
    const error = new Error(message.error);
    // What helpers read counts as read.
    error.crash = message.crash ? { ...message.crash, done: message.crash.done + this.helperBytes } : null;
    waiter.reject(error);
    // A worker whose engine crashed takes no more calls: a fresh one takes its place.
    if (message.crash) this.restart(message.error, message.crash);
  }

  /** Ends this worker after a crash, fails what waits on it, and starts a fresh one. */
  restart(reason, crash) {
    this.worker.terminate();
    this.failAll(reason, crash);
    this.start();
  }

  /** The last progress of this engine's worker, with the bytes helpers read counted as read. */
  showProgress() {
    const message = this.lastProgress;
    if (!message) return;
    const done = Math.min(message.total ?? Infinity, message.done + this.helperBytes);
    this.onProgress({ ...message, done });
  }

  failAll(reason, crash = null) {
    for (const waiter of this.pending.values()) waiter.reject(Object.assign(new Error(reason), { crash }));
    this.pending.clear();
  }

  call(op, args = {}, transfer = []) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, op, args }, transfer);
    });
  }

  async analyze(files, options = {}) {
    await this.ready;
    this.helperBytes = 0;
    this.lastProgress = null;
    const { minBytes, maxBytes = Infinity } = this.parallelism;
    const totalBytes = files.reduce((sum, f) => sum + f.size, 0);
    const helpers = totalBytes > maxBytes ? 0 : this.parallelism.helpers;
    const parts = [];
    for (const file of files) parts.push(await planParts(file, helpers + 1, minBytes));
    // Where each file was cut, for the tests and the curious.
    this.lastParts = parts;
    const jobs = [];
    parts.forEach((starts, index) => {
      const file = files[index];
      starts.slice(1).forEach((start, k) => {
        const end = starts[k + 2] ?? file.size;
        jobs.push({ index, part: k + 1, file, start, end, last: end === file.size });
      });
    });
    if (!jobs.length) return this.call("analyze", { files, ...options });
    // Helpers start once this worker has read its first bytes, so that their start-up does
    // not delay the first progress.
    const started = new Promise((resolve) => {
      this.started = resolve;
    });
    const analysis = this.call("analyze", { files, parts, ...options });
    await Promise.race([started, analysis.catch(() => {})]);
    this.started = null;
    const reading = this.readParts(files, jobs, options.rules ?? "", Math.min(helpers, jobs.length));
    try {
      const [result] = await Promise.all([analysis, reading]);
      return result;
    } finally {
      this.closeHelpers();
    }
  }

  /** Reads `jobs` (parts of files) on `count` helper workers, handing each part's bytes to this
   *  engine's worker as it comes. */
  async readParts(files, jobs, rules, count) {
    const names = files.map((f) => f.name);
    this.helpers = Array.from({ length: count }, () => new Engine(this.sources));
    const queue = [...jobs];
    await Promise.all(
      this.helpers.map(async (helper) => {
        // A helper that cannot start leaves its parts to the engine's worker.
        const ready = await helper.ready.then(
          () => true,
          () => false,
        );
        let counted = 0;
        helper.onPartProgress = (done) => {
          this.helperBytes += done - counted;
          counted = done;
          if (this.lastProgress?.phase === "reading") this.showProgress();
        };
        for (let job = queue.shift(); job; job = queue.shift()) {
          counted = 0;
          const { index, part, file, start, end, last } = job;
          // A part a helper could not read is read by the engine's worker instead.
          const bytes = ready ? await helper.call("part", { file, names, index, start, end, last, rules }).catch(() => null) : null;
          await this.call("partBytes", { file: index, part, bytes }, bytes ? [bytes] : []);
        }
      }),
    );
  }

  closeHelpers() {
    for (const helper of this.helpers) helper.worker.terminate();
    this.helpers = [];
  }

  /** All findings, fetched in batches (one message per batch, not per finding). */
  async findings(count, batch = 20_000) {
    const all = [];
    for (let start = 0; start < count; start += batch) {
      all.push(...(await this.call("findings", { start, count: batch })));
    }
    return all;
  }

  /** Stops whatever the worker is doing and starts a fresh one. */
  cancel() {
    this.closeHelpers();
    this.worker.terminate();
    this.failAll("cancelled");
    this.start();
  }
}
