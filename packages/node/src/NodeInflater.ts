/**
 * The `Inflater` on Node: `node:zlib`'s gunzip with large outputs. The portable `DecompressionStream`
 * emits 16 KiB at a time, each with its own promises and buffer, which on a large import is more garbage
 * than the bytes moved; zlib fills a 256 KiB buffer per output and takes input only as output is read.
 *
 * @since 0.1.0
 */
import { createGunzip } from "node:zlib"
import { type Inflate, Inflater } from "@ocidx/core/Inflater"
import * as Layer from "effect/Layer"

// Each output is one buffer this large (the last may be shorter): one step downstream per 256 KiB.
const outputSize = 256 * 1024

const gunzip = (input: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> => {
  const zlib = createGunzip({ chunkSize: outputSize })
  const source = input.getReader()
  let failure: { readonly error: unknown } | undefined
  let ended = false
  let inputDone = false
  let feeding = false
  // The pull waiting for zlib to have output, end or fail: woken by any of them, it then looks again.
  let wake: (() => void) | undefined
  const signal = () => {
    const waiting = wake
    wake = undefined
    waiting?.()
  }
  zlib.on("readable", signal)
  zlib.on("end", () => {
    ended = true
    signal()
  })
  zlib.on("error", (error) => {
    failure ??= { error }
    signal()
  })
  // One input chunk at a time, and only once zlib has taken the last: zlib pauses inflating a chunk when its
  // output is unread, so a gzip bomb waits on the reader instead of filling memory.
  const feed = async () => {
    feeding = true
    try {
      const next = await source.read()
      if (next.done) {
        inputDone = true
        zlib.end()
      } else {
        zlib.write(next.value, signal)
      }
    } catch (error) {
      failure ??= { error }
    } finally {
      feeding = false
      signal()
    }
  }
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        if (failure !== undefined) {
          controller.error(failure.error)
          return
        }
        const output: Uint8Array | null = zlib.read()
        if (output !== null) {
          controller.enqueue(output)
          return
        }
        if (ended) {
          controller.close()
          return
        }
        const woken = new Promise<void>((resolve) => {
          wake = resolve
        })
        if (!feeding && !inputDone && zlib.writableLength === 0) void feed()
        await woken
      }
    },
    async cancel(reason) {
      zlib.destroy()
      await source.cancel(reason)
    }
  })
}

/**
 * An `Inflate` on `node:zlib`'s `createGunzip`, pulled: input is read only as output is consumed. A stream
 * cut short fails with zlib's `Z_BUF_ERROR` ("unexpected end of file").
 *
 * @since 0.1.0
 * @category constructor
 */
export const inflate: Inflate = { gunzip }

/**
 * Provides the `node:zlib` `Inflater`.
 *
 * @since 0.1.0
 * @category layer
 */
export const layer: Layer.Layer<Inflater> = Layer.succeed(Inflater, inflate)
