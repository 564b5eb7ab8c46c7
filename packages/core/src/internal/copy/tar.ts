/**
 * Tar streams on modern-tar (zero dependencies, web streams: it runs wherever core runs, with no Node
 * import). Reading detects gzip by its magic and inflates it with the `Inflater` in force (the standard
 * `DecompressionStream` unless the platform supplies its own); writing
 * drives modern-tar's packer from an Effect stream, so a blob is read from disk as the archive is consumed.
 * Nothing here touches a file system: entries are handed to the caller, which decides where bytes go.
 * @internal
 */
import { createTarDecoder, type TarHeader } from "modern-tar"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Stream from "effect/Stream"
import { ArchiveError } from "../../Errors.js"
import { joined } from "../bytes.js"
import { Inflater } from "../../Inflater.js"

/** One entry of an archive being read; its body must be consumed (or drained) before the next arrives. @internal */
export interface Entry {
  readonly header: TarHeader
  readonly body: Stream.Stream<Uint8Array, ArchiveError>
}

/** Bytes a tar may hold beyond its entries' bodies: headers, long-name and pax records, padding. @internal */
export const overheadPerEntry = 64 * 1024
/** The end-of-archive blocks and the padding some writers add to round a tar to a record size. @internal */
export const trailerAllowance = 1024 * 1024

/**
 * The size the decompressed tar is cut into before it is counted: how a source chunks it does not matter. Each
 * piece costs a round of promises through the web streams and the decoder, and then an Effect step per
 * stream operator: 64 KiB pieces made more heap garbage than the bytes they carried, and 512 KiB pieces cost
 * a tenth less CPU than 256 KiB ones on an import of 128 MiB. Larger ones would loosen the size rule: its
 * read-ahead grows with the piece.
 */
const piece = 512 * 1024
/**
 * How far the count may run ahead of the headers the caller has seen: modern-tar's decoder takes up to 1 MiB
 * (its BUFFER_LIMIT) beyond what it has parsed before it pushes back, plus a few pieces queued in the pipe.
 * The rule is judged only past this, so a valid archive never fails for bytes whose header is still unread.
 */
export const readAhead = 1024 * 1024 + 8 * piece

/**
 * `input` in pieces of `size` bytes (the last may be shorter), cut and joined only when pulled: a large chunk
 * is not queued whole, and small ones (an inflater's 16 KiB) are joined, since every piece costs a round of
 * promises and Effect steps downstream, more than the copy that joins them.
 */
const pieces = (input: ReadableStream<Uint8Array>, size: number): ReadableStream<Uint8Array> => {
  const reader = input.getReader()
  let rest: Uint8Array = new Uint8Array(0)
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (rest.length >= size) {
        controller.enqueue(rest.subarray(0, size))
        rest = rest.subarray(size)
        return
      }
      const parts: Array<Uint8Array> = rest.length > 0 ? [rest] : []
      let total = rest.length
      rest = new Uint8Array(0)
      let done = false
      while (total < size) {
        const read = await reader.read()
        if (read.done) {
          done = true
          break
        }
        parts.push(read.value)
        total += read.value.length
      }
      if (total === 0) {
        controller.close()
        return
      }
      const all = joined(parts)
      controller.enqueue(all.subarray(0, size))
      rest = all.subarray(size)
      if (done && rest.length === 0) controller.close()
    },
    cancel(reason) {
      return reader.cancel(reason)
    }
  })
}

/** A Node system or zlib error's code (`Z_BUF_ERROR`), if the error has one. */
const errorCode = (error: unknown): string | undefined =>
  Predicate.hasProperty(error, "code") && Predicate.isString(error.code) ? error.code : undefined

// Node 24's DecompressionStream fails a truncated gzip with an empty message and only the zlib code.
const errorText = (error: unknown): string => {
  const message = error instanceof Error ? error.message : String(error)
  return message === "" ? (errorCode(error) ?? "no detail given") : message
}

/** zlib's Z_BUF_ERROR at the end of input is a stream cut short; Node 20 also says "unexpected end of file". */
const isTruncation = (error: unknown): boolean =>
  errorCode(error) === "Z_BUF_ERROR" || /truncat|unexpected end|premature/i.test(errorText(error))

/**
 * The entries of `content` in archive order. `budget` caps the bytes the tar (decompressed) may hold up to the
 * headers the caller has seen, judged `readAhead` bytes late since the decoder reads ahead of its headers: a
 * gzip bomb is cut off there, not when the disk is full.
 * @internal
 */
export const entries = <E, R>(
  content: Stream.Stream<Uint8Array, E, R>,
  archive: string,
  budget: () => number
): Stream.Stream<Entry, E | ArchiveError, R> =>
  Stream.unwrapScoped(
    Effect.gen(function* () {
      // The source's own failure (a ReadError, say) is what the caller hears, not the tar's view of it.
      let sourceFailure: Option.Option<E> = Option.none()
      let overBudget: ArchiveError | undefined
      let gzip = false
      const inflater = yield* Inflater
      const raw = yield* Stream.toReadableStreamEffect(
        content.pipe(Stream.tapError((error) => Effect.sync(() => (sourceFailure = Option.some(error)))))
      )
      const reader = raw.getReader()
      // Enough leading bytes to see the magic, then everything as it comes.
      const head: Array<Uint8Array> = []
      let headLength = 0
      while (headLength < 2) {
        const read = yield* Effect.tryPromise(() => reader.read()).pipe(Effect.orElseSucceed(() => undefined))
        if (read === undefined || read.done) break
        head.push(read.value)
        headLength += read.value.length
      }
      if (Option.isSome(sourceFailure)) return Stream.fail(sourceFailure.value)
      const first = head[0]
      gzip = first !== undefined && headLength >= 2 && first[0] === 0x1f && (first[1] ?? head[1]?.[0]) === 0x8b
      const rejoined = new ReadableStream<Uint8Array>({
        start(controller) {
          for (const chunk of head) controller.enqueue(chunk)
        },
        async pull(controller) {
          const read = await reader.read()
          if (read.done) controller.close()
          else controller.enqueue(read.value)
        },
        cancel(reason) {
          return reader.cancel(reason)
        }
      })
      let seen = 0
      const counted = new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          seen += chunk.length
          if (seen > budget() + readAhead) {
            overBudget = new ArchiveError({
              archive,
              entry: "",
              reason: "too-large",
              detail: `it holds more data than its entries declare (over ${seen} bytes${gzip ? " once decompressed" : ""}): a gzip bomb or a corrupt archive`
            })
            controller.error(overBudget)
            return
          }
          controller.enqueue(chunk)
        }
      })
      const tar = pieces(gzip ? inflater.gunzip(rejoined) : rejoined, piece)
        .pipeThrough(counted)
        .pipeThrough(createTarDecoder({ strict: true }))

      const failure = (error: unknown): E | ArchiveError => {
        if (Option.isSome(sourceFailure)) return sourceFailure.value
        if (overBudget !== undefined) return overBudget
        if (error instanceof ArchiveError) return error
        const text = errorText(error)
        const truncated = isTruncation(error)
        return new ArchiveError({
          archive,
          entry: "",
          reason: truncated ? "truncated" : "malformed",
          detail: truncated
            ? `the ${gzip ? "gzip stream" : "tar"} ends early (${text})`
            : `it is not a readable ${gzip ? "gzip-compressed " : ""}tar (${text})`
        })
      }
      return Stream.fromReadableStream({ evaluate: () => tar, onError: failure }).pipe(
        Stream.map(
          (parsed): Entry => ({
            header: parsed.header,
            body: Stream.fromReadableStream({
              evaluate: () => parsed.body,
              onError: (error) => {
                const mapped = failure(error)
                return mapped instanceof ArchiveError
                  ? mapped
                  : new ArchiveError({
                      archive,
                      entry: parsed.header.name,
                      reason: "truncated",
                      detail: errorText(error)
                    })
              },
              releaseLockOnEnd: true
            })
          })
        )
      )
    })
  )

/** An entry to write: a fixed header (uid/gid 0, mtime 0, mode 0644) and its exact bytes. @internal */
export interface OutEntry<E> {
  readonly name: string
  readonly size: number
  readonly body: Stream.Stream<Uint8Array, E>
}

/** Sizes above this do not fit the header's 11 octal digits and are given in a pax record. */
const maxOctalSize = 8589934591
const ustarNameBytes = 100
const ustarPrefixBytes = 155
const encoder = new TextEncoder()

/** `text` (ASCII: entry names are paths of digests and fixed document names) at `offset`, cut at `size` bytes. */
const putString = (block: Uint8Array, offset: number, size: number, text: string) => {
  encoder.encodeInto(text, block.subarray(offset, offset + size))
}

/** `value` in octal, zero-padded, in `size - 1` digits and a NUL; past that, its leading digits (as modern-tar). */
const putOctal = (block: Uint8Array, offset: number, size: number, value: number) => {
  const digits = value.toString(8).padStart(size - 1, "0")
  putString(block, offset, size - 1, digits.length > size - 1 ? digits.slice(0, size - 1) : digits)
}

/** A name too long for the ustar name field, split at a `/` into prefix and name when that fits. */
const ustarSplit = (name: string): { readonly prefix: string; readonly name: string } | undefined => {
  if (name.length <= ustarNameBytes || name.length > ustarPrefixBytes + 1 + ustarNameBytes) return undefined
  for (let i = name.length - 1; i > 0; i--) {
    if (name[i] !== "/") continue
    const prefix = name.slice(0, i)
    const rest = name.slice(i + 1)
    if (prefix.length <= ustarPrefixBytes && rest.length <= ustarNameBytes) return { prefix, name: rest }
  }
  return undefined
}

/** One 512-byte ustar header block with the fixed fields (mode 0644, uid/gid 0, mtime 0, no user names). */
const ustarBlock = (name: string, size: number, type: "0" | "x"): Uint8Array => {
  const block = new Uint8Array(512)
  const split = ustarSplit(name)
  putString(block, 0, ustarNameBytes, split?.name ?? name)
  putOctal(block, 100, 8, 0o644)
  putOctal(block, 108, 8, 0)
  putOctal(block, 116, 8, 0)
  putOctal(block, 124, 12, size)
  putOctal(block, 136, 12, 0)
  putString(block, 156, 1, type)
  putString(block, 257, 6, "ustar\0")
  putString(block, 263, 2, "00")
  if (split !== undefined) putString(block, 345, ustarPrefixBytes, split.prefix)
  block.fill(0x20, 148, 156)
  let sum = 0
  for (const byte of block) sum += byte
  putString(block, 148, 6, sum.toString(8).padStart(6, "0").slice(-6))
  block[154] = 0
  block[155] = 0x20
  return block
}

/** A pax record, `<length> <key>=<value>\n`, its length counting its own digits. */
const paxRecord = (key: string, value: string): string => {
  const record = `${key}=${value}\n`
  const part = encoder.encode(record).length + 1
  const total = part + String(part + String(part).length).length
  return `${total} ${record}`
}

/**
 * The header blocks of a regular file, as modern-tar writes them for the fixed header: a ustar block, led by
 * a pax header and its records when the name does not fit ustar or the size does not fit 11 octal digits.
 * @internal
 */
export const headerBlocks = (name: string, size: number): ReadonlyArray<Uint8Array> => {
  const records: Array<string> = []
  if (name.length > ustarNameBytes && ustarSplit(name) === undefined) records.push(paxRecord("path", name))
  if (size > maxOctalSize) records.push(paxRecord("size", String(size)))
  const header = ustarBlock(name, size, "0")
  if (records.length === 0) return [header]
  const body = encoder.encode(records.join(""))
  const paxName = `PaxHeader/${name}`.slice(0, ustarNameBytes)
  return [ustarBlock(paxName, body.length, "x"), body, new Uint8Array(padding(body.length)), header]
}

/** The zero bytes after a body of `size` bytes, to the next 512-byte block. @internal */
export const padding = (size: number): number => -size & 511

/** The two zero blocks that end an archive. @internal */
export const endBlocks = (): Uint8Array => new Uint8Array(1024)

const bodyOf = <E>(item: OutEntry<E>): Stream.Stream<Uint8Array, E> =>
  Stream.suspend(() => {
    let written = 0
    // A body must be exactly its declared size: a tar with another is unreadable, and the bodies here are
    // verified blobs and documents, so a difference is a defect.
    return item.body.pipe(
      Stream.mapChunks((chunk) => {
        for (const buffer of chunk) written += buffer.length
        if (written > item.size) throw new Error(`the tar entry ${item.name} exceeds its size, ${item.size} bytes`)
        return chunk
      }),
      Stream.concat(
        Stream.suspend(() =>
          written === item.size
            ? Stream.make(new Uint8Array(padding(item.size)))
            : Stream.dieMessage(`the tar entry ${item.name} is ${written} bytes, not its size, ${item.size} bytes`)
        )
      )
    )
  })

/**
 * A tar of `items`, in their order, as a stream: each body is pulled only when the consumer reaches it, and
 * its buffers are passed on as they are (headers and padding are buffers of their own). A body that fails (a
 * blob that does not match its digest) fails the stream with its own error.
 * @internal
 */
export const pack = <E>(items: Stream.Stream<OutEntry<E>, E>): Stream.Stream<Uint8Array, E> =>
  items.pipe(
    Stream.flatMap((item) => Stream.concat(Stream.fromIterable(headerBlocks(item.name, item.size)), bodyOf(item))),
    Stream.concat(Stream.sync(endBlocks)),
    Stream.filter((buffer) => buffer.length > 0)
  )
