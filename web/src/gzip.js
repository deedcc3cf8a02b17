// Whether a file is gzip, from its magic bytes: shared by the page (which does not cut gzip
// files into parts) and the worker (which decompresses them to re-read an event).

/** True when `blob` starts with gzip's magic bytes. */
export async function isGzip(blob) {
  const head = new Uint8Array(await blob.slice(0, 2).arrayBuffer());
  return head[0] === 0x1f && head[1] === 0x8b;
}
