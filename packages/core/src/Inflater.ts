/**
 * Gzip inflation of a byte stream, as a service: core's archive reader inflates through it, so a platform
 * with a coarser inflater (Node's zlib, which can emit large outputs) supplies its own; the default runs
 * wherever `DecompressionStream` does.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"

/**
 * Inflates gzip. The result is pulled: input is read only as output is consumed, so a gzip bomb costs the
 * reader time, not memory. A stream cut short fails with an error whose code is `Z_BUF_ERROR` or whose message
 * says the input ended early; other corrupt input fails with any other error.
 *
 * @since 0.1.0
 * @category model
 */
export interface Inflate {
  readonly gunzip: (input: ReadableStream<Uint8Array>) => ReadableStream<Uint8Array>
}

// Input is fed to the inflater in pieces this small: at most ~1000 times as much comes out of each.
const inflateStep = 16 * 1024

/**
 * `input` inflated, pulled: a piece of input is fed only when the output so far has been read. Node's
 * `DecompressionStream` takes its whole input as fast as it is offered and queues what comes out, so piping
 * into it would hold the whole image in memory when the reader (the disk) is slower than the file.
 */
const gunzip = (input: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> => {
  const inflater = new DecompressionStream("gzip")
  const writer = inflater.writable.getWriter()
  const output = inflater.readable.getReader()
  const source = input.getReader()
  let rest: Uint8Array | undefined
  let ended = false
  let feeding: Promise<"fed"> | undefined
  let reading: ReturnType<typeof output.read> | undefined
  const feed = async (): Promise<"fed"> => {
    if (rest === undefined || rest.length === 0) {
      const next = await source.read()
      if (next.done) {
        ended = true
        await writer.close()
        return "fed"
      }
      rest = next.value
    }
    const piece = rest.subarray(0, inflateStep)
    rest = rest.subarray(piece.length)
    await writer.write(piece)
    return "fed"
  }
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      reading ??= output.read()
      const read = reading
      // One marker per read, not one per round of feeding: each round's promises are garbage per 16 KiB.
      const readDone = read.then(() => "read" as const)
      for (;;) {
        if (feeding === undefined && !ended) {
          feeding = feed().finally(() => {
            feeding = undefined
          })
        }
        const won = feeding === undefined ? await readDone : await Promise.race([readDone, feeding])
        if (won === "read") break
      }
      reading = undefined
      const result = await read
      if (result.done) controller.close()
      else controller.enqueue(result.value)
    },
    async cancel(reason) {
      await Promise.allSettled([source.cancel(reason), output.cancel(reason)])
    }
  })
}

/**
 * The portable inflater, on the standard `DecompressionStream`.
 *
 * @since 0.1.0
 * @category constructor
 */
export const portable: Inflate = { gunzip }

/**
 * The inflater in force: `portable` unless a layer or `Effect.provideService` supplies a platform's own.
 *
 * @since 0.1.0
 * @category context
 */
export class Inflater extends Context.Reference<Inflater>()("@ocidx/core/Inflater", {
  defaultValue: (): Inflate => portable
}) {}
