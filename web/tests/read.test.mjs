// Reading a Blob a buffer at a time (src/read.js): every byte arrives once, in order, through
// one reused buffer, or through the stream's own chunks where a BYOB reader is not offered.

import assert from "node:assert/strict";
import { test } from "node:test";
import { READ_BYTES, readBlob } from "../src/read.js";

/** 3.5 buffers of bytes that differ from one position to the next. */
function sample() {
  const bytes = new Uint8Array(3 * READ_BYTES + READ_BYTES / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + (i >> 10)) & 0xff;
  return bytes;
}

/** Reads `blob` as the session would (copying each chunk); the bytes, chunks and progress. */
async function readAll(blob) {
  const copies = [];
  const views = [];
  const buffers = [];
  let progressed = 0;
  await readBlob(
    blob,
    (chunk) => {
      copies.push(chunk.slice());
      views.push(chunk);
      buffers.push(chunk.buffer.byteLength);
    },
    (n) => (progressed += n),
  );
  const bytes = new Uint8Array(copies.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of copies) {
    bytes.set(c, at);
    at += c.length;
  }
  return { bytes, views, buffers, chunks: copies.length, progressed };
}

test("a byte stream is read into one reused buffer, every byte once and in order", async () => {
  const expected = sample();
  const { bytes, views, buffers, chunks, progressed } = await readAll(new Blob([expected]));
  assert.deepEqual(bytes, expected);
  assert.equal(progressed, expected.length);
  assert.ok(chunks >= 4, `${chunks} chunks`);
  // Every chunk was a view of the one buffer, which then went back to the reader for the next
  // read (leaving the view detached): no chunk is left behind for the garbage collector.
  assert.ok(buffers.every((n) => n === READ_BYTES), `${buffers}`);
  assert.ok(views.every((v) => v.byteLength === 0));
});

test("a stream without a BYOB reader is read through its own chunks", async () => {
  const expected = sample();
  const plain = {
    stream: () =>
      new ReadableStream({
        start(controller) {
          for (let at = 0; at < expected.length; at += 100_000) {
            controller.enqueue(expected.slice(at, at + 100_000));
          }
          controller.close();
        },
      }),
  };
  const { bytes, views, chunks, progressed } = await readAll(plain);
  assert.deepEqual(bytes, expected);
  assert.ok(views.every((v) => v.byteLength > 0));
  assert.equal(progressed, expected.length);
  assert.equal(chunks, Math.ceil(expected.length / 100_000));
});

test("an empty file pushes nothing", async () => {
  const { chunks, progressed } = await readAll(new Blob([]));
  assert.equal(chunks, 0);
  assert.equal(progressed, 0);
});
