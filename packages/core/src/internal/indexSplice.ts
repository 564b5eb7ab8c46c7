/**
 * Writes a changed index.json by splicing bytes already written: the bytes before and after the entries, the
 * runs of entries the change kept (copied as blocks from the file it was read from, or from the codec's last
 * write), and the entries it added, rendered one by one. A put
 * into a 10,000-entry index thus renders one entry and copies two blocks, instead of rendering or encoding
 * 10,000 texts. The index codec uses it only where the result is byte for byte what its full render gives
 * (a compact file whose top-level fields the change kept); a property test holds the two to that.
 * @internal
 */
import * as Either from "effect/Either"
import type { Descriptor } from "../Descriptor.js"
import type { DecodeError } from "../Errors.js"

/**
 * A written index's bytes and where its entries (the decoded values, in order) start and end in them. Entries
 * are immutable, so an entry that is still the same object still has those bytes. Entries are separated by a
 * single comma.
 * @internal
 */
export interface Written {
  readonly bytes: Uint8Array
  readonly manifests: ReadonlyArray<Descriptor>
  readonly starts: Int32Array
  readonly ends: Int32Array
}

/**
 * A written index and where its manifests array is: what a change can be spliced into.
 * @internal
 */
export interface Source extends Written {
  /** Just past the `[` of the manifests array. */
  readonly open: number
  /** The `]` of the manifests array. */
  readonly close: number
}

const utf8 = new TextEncoder()

const comma = 0x2c

/**
 * The bytes `head`, then `manifests` joined by commas, then `tail`. Runs of entries of `previous` found again
 * in the same order are copied from its bytes as one block each; every other entry is rendered by `render`,
 * which also validates it, with its position in `manifests`. The search for an entry goes forward only, and
 * at most twice the length of `previous` in all: a reordered index renders entries rather than searching
 * quadratically.
 * @internal
 */
export const write = (
  head: Uint8Array,
  tail: Uint8Array,
  previous: Written | undefined,
  manifests: ReadonlyArray<Descriptor>,
  render: (entry: Descriptor, position: number) => Either.Either<string, DecodeError>
): Either.Either<Source, DecodeError> => {
  const old = previous?.manifests ?? []
  // The pieces between head and tail, in order: a block [start, end) of the previous bytes, or rendered bytes.
  const blockStart: Array<number> = []
  const blockEnd: Array<number> = []
  const fresh: Array<Uint8Array | undefined> = []
  const lengths = new Int32Array(manifests.length)
  let next = 0
  let lookahead = old.length * 2
  for (let i = 0; i < manifests.length; i++) {
    const entry = manifests[i]
    if (entry === undefined) continue
    let found = -1
    for (let k = next; k < old.length && lookahead > 0; k++, lookahead--) {
      if (old[k] === entry) {
        found = k
        break
      }
    }
    if (previous !== undefined && found >= 0) {
      next = found + 1
      const start = previous.starts[found] ?? 0
      const end = previous.ends[found] ?? 0
      lengths[i] = end - start
      const last = blockEnd.length - 1
      // The entry right after the previous block's last, past its comma: the block grows.
      if (last >= 0 && fresh[last] === undefined && blockEnd[last] === start - 1) blockEnd[last] = end
      else {
        blockStart.push(start)
        blockEnd.push(end)
        fresh.push(undefined)
      }
      continue
    }
    const text = render(entry, i)
    if (Either.isLeft(text)) return Either.left(text.left)
    const bytes = utf8.encode(text.right)
    lengths[i] = bytes.length
    blockStart.push(0)
    blockEnd.push(bytes.length)
    fresh.push(bytes)
  }
  let length = head.length + tail.length
  for (let b = 0; b < fresh.length; b++) length += (blockEnd[b] ?? 0) - (blockStart[b] ?? 0) + (b > 0 ? 1 : 0)
  const out = new Uint8Array(length)
  out.set(head, 0)
  let offset = head.length
  for (let b = 0; b < fresh.length; b++) {
    if (b > 0) out[offset++] = comma
    const bytes = fresh[b] ?? previous?.bytes
    if (bytes === undefined) continue
    const start = blockStart[b] ?? 0
    const end = blockEnd[b] ?? 0
    out.set(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end), offset)
    offset += end - start
  }
  const close = offset
  out.set(tail, offset)
  // Where each entry landed: the result is the previous of the next change.
  const starts = new Int32Array(manifests.length)
  const ends = new Int32Array(manifests.length)
  let at = head.length
  for (let i = 0; i < manifests.length; i++) {
    starts[i] = at
    at += lengths[i] ?? 0
    ends[i] = at
    at += 1
  }
  return Either.right({ bytes: out, manifests, starts, ends, open: head.length, close })
}

/**
 * The bytes of `manifests` written in the frame of `source` (what precedes and follows its entries), its
 * entries copied where `write` finds them again.
 * @internal
 */
export const splice = (
  source: Source,
  manifests: ReadonlyArray<Descriptor>,
  render: (entry: Descriptor, position: number) => Either.Either<string, DecodeError>
): Either.Either<Source, DecodeError> =>
  write(source.bytes.subarray(0, source.open), source.bytes.subarray(source.close), source, manifests, render)
