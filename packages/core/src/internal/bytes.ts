/** @internal */

/**
 * Byte-for-byte equality. Compares 32-bit words where both buffers allow it: this runs on every write to a
 * 1 MB index.json, and a byte loop costs milliseconds there.
 * @internal
 */
export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  let i = 0
  if (a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0) {
    const words = a.length >>> 2
    const wa = new Uint32Array(a.buffer, a.byteOffset, words)
    const wb = new Uint32Array(b.buffer, b.byteOffset, words)
    for (let w = 0; w < words; w++) if (wa[w] !== wb[w]) return false
    i = words << 2
  }
  for (; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** The chunks one after another, in one new buffer. @internal */
export const concat = (chunks: ReadonlyArray<Uint8Array>): Uint8Array => {
  const all = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0))
  let offset = 0
  for (const chunk of chunks) {
    all.set(chunk, offset)
    offset += chunk.length
  }
  return all
}

/** The chunks as one buffer: the only chunk itself, not copied, or `concat` of them all. @internal */
export const joined = (chunks: ReadonlyArray<Uint8Array>): Uint8Array => {
  const only = chunks.length === 1 ? chunks[0] : undefined
  return only ?? concat(chunks)
}
