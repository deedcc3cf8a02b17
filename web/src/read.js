// Reading a File (or any Blob) from start to end, a buffer at a time, without holding more
// than that buffer: how the engine's worker and its helpers read multi-GB logs.

/** Bytes read at a time into the one buffer `readBlob` reuses. */
export const READ_BYTES = 1 << 20;

/** Streams `blob` into `push`, calling `progress(bytes)` after each chunk.
 *
 *  Reads into one reused buffer (a BYOB reader), so that reading a multi-GB file leaves no
 *  chunk behind for the garbage collector: with a chunk allocated per read, the tab's memory
 *  grew by gigabytes before a collection. `push` must be done with a chunk when it returns
 *  (the session copies it): the next read overwrites it. Falls back to the stream's own
 *  chunks where a BYOB reader is not offered. */
export async function readBlob(blob, push, progress) {
  const stream = blob.stream();
  let reader = null;
  try {
    reader = stream.getReader({ mode: "byob" });
  } catch {
    reader = null;
  }
  if (!reader) {
    const chunks = stream.getReader();
    for (;;) {
      const { done, value } = await chunks.read();
      if (done) return;
      push(value);
      progress(value.byteLength);
    }
  }
  let buffer = new ArrayBuffer(READ_BYTES);
  for (;;) {
    const { done, value } = await reader.read(new Uint8Array(buffer));
    if (done) return;
    push(value);
    progress(value.byteLength);
    buffer = value.buffer;
  }
}
