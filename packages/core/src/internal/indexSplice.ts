/**
 * Writes a changed index.json by splicing the bytes it was read from: the bytes before and after the entries,
 * the runs of entries the change kept (copied as blocks), and the entries it added, rendered one by one. A put
 * into a 10,000-entry index thus renders one entry and copies two blocks, instead of rendering or encoding
 * 10,000 texts. The index codec uses it only where the result is byte for byte what its full render gives
 * (a compact file whose top-level fields the change kept); a property test holds the two to that.
 * @internal
 */
import { Either } from "effect"
import type { Descriptor } from "../Descriptor.js"
import type { DecodeError } from "../Errors.js"

/**
 * An index's bytes and where its parts are in them: its entries (the decoded values, in order), where each
 * starts and ends, and the `[` and `]` of the manifests array. Entries are separated by a single comma.
 * @internal
 */
export interface Source {
  readonly bytes: Uint8Array
  readonly manifests: ReadonlyArray<Descriptor>
  readonly starts: Int32Array
  readonly ends: Int32Array
  /** Just past the `[` of the manifests array. */
  readonly open: number
  /** The `]` of the manifests array. */
  readonly close: number
}

const utf8 = new TextEncoder()

const comma = 0x2c

/**
 * The bytes of `manifests` written in the frame of `source` (what precedes and follows its entries). Entries of
 * the source found again in the same order are copied from its bytes; the first that is not (a new entry, or
 * an old one moved) and every entry after it are rendered by `render`, which also validates them, with their
 * position in `manifests`. Linear: the source is searched forward only, and not at all after the first miss.
 * @internal
 */
export const splice = (
  source: Source,
  manifests: ReadonlyArray<Descriptor>,
  render: (entry: Descriptor, position: number) => Either.Either<string, DecodeError>
): Either.Either<Source, DecodeError> => {
  const old = source.manifests
  // The pieces between the brackets, in order: a block [start, end) of the source bytes, or rendered bytes.
  const blockStart: Array<number> = []
  const blockEnd: Array<number> = []
  const fresh: Array<Uint8Array | undefined> = []
  const lengths = new Int32Array(manifests.length)
  let next = 0
  let searching = true
  for (let i = 0; i < manifests.length; i++) {
    const entry = manifests[i]
    if (entry === undefined) continue
    let found = -1
    if (searching) {
      for (let k = next; k < old.length; k++) {
        if (old[k] === entry) {
          found = k
          break
        }
      }
      if (found < 0) searching = false
    }
    if (found >= 0) {
      next = found + 1
      const start = source.starts[found] ?? 0
      const end = source.ends[found] ?? 0
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
  const head = source.bytes.subarray(0, source.open)
  const tail = source.bytes.subarray(source.close)
  let length = head.length + tail.length
  for (let b = 0; b < fresh.length; b++) length += (blockEnd[b] ?? 0) - (blockStart[b] ?? 0) + (b > 0 ? 1 : 0)
  const out = new Uint8Array(length)
  out.set(head, 0)
  let offset = head.length
  for (let b = 0; b < fresh.length; b++) {
    if (b > 0) out[offset++] = comma
    const bytes = fresh[b] ?? source.bytes
    const start = blockStart[b] ?? 0
    const end = blockEnd[b] ?? 0
    out.set(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end), offset)
    offset += end - start
  }
  const close = offset
  out.set(tail, offset)
  // Where each entry landed: the result is the source of the next change.
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
