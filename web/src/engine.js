// The page's side of the worker: starts it (from assets/worker.js in the folder build, or from
// the source inlined in the single-file build), hands it the wasm, and turns its messages into
// promises. Cancelling an analysis ends the worker and starts a fresh one.

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
  constructor() {
    this.sources = sources();
    this.nextId = 1;
    this.pending = new Map();
    this.onProgress = () => {};
    this.start();
  }

  start() {
    this.worker = this.sources.worker();
    this.worker.onmessage = (e) => this.receive(e.data);
    this.worker.onerror = (e) => this.failAll(e.message || "the engine stopped");
    const wasm = this.sources.wasm();
    this.ready = this.call("init", { wasm }, wasm instanceof ArrayBuffer ? [wasm] : []).then((info) => {
      this.capabilities = info.capabilities;
      return info;
    });
  }

  receive(message) {
    if (message.event === "progress") {
      this.onProgress(message);
      return;
    }
    const waiter = this.pending.get(message.id);
    if (!waiter) return;
    this.pending.delete(message.id);
    if (message.ok) waiter.resolve(message.value);
    else waiter.reject(new Error(message.error));
  }

  failAll(reason) {
    for (const waiter of this.pending.values()) waiter.reject(new Error(reason));
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
    return this.call("analyze", { files, ...options });
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
    this.worker.terminate();
    this.failAll("cancelled");
    this.start();
  }
}
