// Reading a File (or any Blob) from start to end, a buffer at a time, without holding more
// than that buffer: how the engine's worker and its helpers read multi-GB logs.

/** Bytes read at a time into the one buffer `readBlob` reuses. */
export const READ_BYTES = 1 << 20;

/** The browser refused a file's bytes while it was read: it changed, moved or was removed after
 *  it was chosen, or may no longer be read. Errors of `push` (the engine's) are not wrapped. */
export class FileReadError extends Error {
  constructor(cause) {
    super(`the browser could not read it (${cause?.name ?? "Error"}: ${cause?.message ?? cause})`);
    this.name = "FileReadError";
    this.cause = cause;
  }
}

/** `read()` of a stream reader, with its failure as a FileReadError. */
async function readFrom(reader, ...args) {
  try {
    return await reader.read(...args);
  } catch (e) {
    throw new FileReadError(e);
  }
}

/** Streams `blob` into `push`, calling `progress(bytes)` after each chunk.
 *
 *  Reads into one reused buffer (a BYOB reader), so that reading a multi-GB file leaves no
 *  chunk behind for the garbage collector: with a chunk allocated per read, the tab's memory
 *  grew by gigabytes before a collection. `push` must be done with a chunk when it returns
 *  (the session copies it): the next read overwrites it. Falls back to the stream's own
 *  chunks where a BYOB reader is not offered. */
export async function readBlob(blob, push, progress) {
  let stream;
  try {
    stream = blob.stream();
  } catch (e) {
    throw new FileReadError(e);
  }
  let reader = null;
  try {
    reader = stream.getReader({ mode: "byob" });
  } catch {
    reader = null;
  }
  if (!reader) {
    const chunks = stream.getReader();
    for (;;) {
      const { done, value } = await readFrom(chunks);
      if (done) return;
      push(value);
      progress(value.byteLength);
    }
  }
  let buffer = new ArrayBuffer(READ_BYTES);
  for (;;) {
    const { done, value } = await readFrom(reader, new Uint8Array(buffer));
    if (done) return;
    push(value);
    progress(value.byteLength);
    buffer = value.buffer;
  }
}
