/**
 * Tar streams on modern-tar (zero dependencies, web streams: it runs wherever core runs, with no Node
 * import). Reading detects gzip by its magic and inflates it with the `Inflater` in force (the standard
 * `DecompressionStream` unless the platform supplies its own); writing
 * drives modern-tar's packer from an Effect stream, so a blob is read from disk as the archive is consumed.
 * Nothing here touches a file system: entries are handed to the caller, which decides where bytes go.
 * @internal
 */
import { createTarDecoder, createTarPacker, type TarHeader } from "modern-tar"
import type * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
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
 * stream operator: 64 KiB pieces made more heap garbage than the bytes they carried.
 */
const piece = 256 * 1024
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

/** The header every written entry gets: nothing in it depends on who wrote the archive, or when. */
const fixedHeader = (name: string, size: number): TarHeader => ({
  name,
  size,
  type: "file",
  mode: 0o644,
  uid: 0,
  gid: 0,
  uname: "",
  gname: "",
  mtime: new Date(0)
})

/**
 * A tar of `items`, in their order, as a stream: each body is pulled only when the consumer reaches it.
 * A body that fails (a blob that does not match its digest) fails the stream with its own error.
 * @internal
 */
export const pack = <E>(items: Stream.Stream<OutEntry<E>, E>): Stream.Stream<Uint8Array, E> =>
  Stream.unwrapScoped(
    Effect.gen(function* () {
      const { readable, controller } = createTarPacker()
      let failed: Cause.Cause<E> | undefined
      const write = Stream.runForEach(items, (item) =>
        Effect.gen(function* () {
          const writer = controller.add(fixedHeader(item.name, item.size)).getWriter()
          yield* Stream.runForEach(item.body, (chunk) => Effect.promise(() => writer.write(chunk)))
          yield* Effect.promise(() => writer.close())
        })
      )
      yield* Effect.forkScoped(
        Effect.onExit(write, (exit) =>
          Effect.sync(() => {
            if (Exit.isSuccess(exit)) controller.finalize()
            else {
              failed = exit.cause
              controller.error(new Error("the archive could not be written"))
            }
          })
        )
      )
      return Stream.fromReadableStream({
        evaluate: () => readable,
        onError: (error) => error
      }).pipe(Stream.catchAll((error) => (failed === undefined ? Stream.die(error) : Stream.failCause(failed))))
    })
  )
