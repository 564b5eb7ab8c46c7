/**
 * The zlib inflater: large outputs, pulled (a bomb's input is read only as its output is), zlib's codes on
 * failure, and core's archive reader on it still telling a truncated gzip from a bomb.
 */
import * as NodeZlib from "node:zlib"
import { describe, expect, it } from "@effect/vitest"
import * as Archive from "@ocidx/core/Archive"
import { noise } from "@ocidx/testkit/Bytes"
import { tempDir } from "@ocidx/testkit/TempDir"
import { Effect, Either, Layer, Stream } from "effect"
import * as NodeHasher from "../src/NodeHasher.js"
import * as NodeInflater from "../src/NodeInflater.js"
import * as NodeServices from "../src/NodeServices.js"

/** `bytes` in chunks of `size`, counting how many were pulled. */
const source = (bytes: Uint8Array, size: number) => {
  const pulled = { count: 0 }
  let offset = 0
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.length) {
        controller.close()
        return
      }
      pulled.count += 1
      controller.enqueue(bytes.subarray(offset, offset + size))
      offset += size
    }
  })
  return { stream, pulled }
}

const readAll = async (stream: ReadableStream<Uint8Array>) => {
  const outputs: Array<Uint8Array> = []
  for await (const output of stream) outputs.push(output)
  return outputs
}

const failureOf = (stream: ReadableStream<Uint8Array>) =>
  readAll(stream).then(
    () => undefined,
    (error: unknown) => error
  )

describe("NodeInflater", () => {
  it.effect("inflates 1 MiB input chunks in 256 KiB outputs, not the 16 KiB a DecompressionStream gives", () =>
    Effect.promise(async () => {
      const plain = noise(3 * 1024 * 1024 + 5)
      const outputs = await readAll(NodeInflater.inflate.gunzip(source(NodeZlib.gzipSync(plain), 1024 * 1024).stream))
      expect(Buffer.concat(outputs).equals(plain)).toBe(true)
      expect(Math.max(...outputs.map((output) => output.length))).toBe(256 * 1024)
      expect(outputs.length).toBeLessThan(20)
    })
  )

  it.effect("reads a bomb's input only as its output is read", () =>
    Effect.promise(async () => {
      const compressed = NodeZlib.gzipSync(new Uint8Array(64 * 1024 * 1024))
      const { stream, pulled } = source(compressed, 1024)
      const reader = NodeInflater.inflate.gunzip(stream).getReader()
      const first = await reader.read()
      expect(first.value?.length).toBe(256 * 1024)
      expect(pulled.count).toBeLessThanOrEqual(2)
      expect(compressed.length / 1024).toBeGreaterThan(50)
      await reader.cancel()
    })
  )

  it.effect("fails a stream cut short with Z_BUF_ERROR, and garbage with another code", () =>
    Effect.promise(async () => {
      const compressed = NodeZlib.gzipSync(noise(100_000))
      const truncated = await failureOf(
        NodeInflater.inflate.gunzip(source(compressed.subarray(0, 50_000), 4096).stream)
      )
      expect(truncated).toMatchObject({ code: "Z_BUF_ERROR" })
      const garbage = new Uint8Array([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
      const malformed = await failureOf(NodeInflater.inflate.gunzip(source(garbage, 4096).stream))
      expect(malformed).toHaveProperty("code")
      expect(malformed).not.toMatchObject({ code: "Z_BUF_ERROR" })
    })
  )

  describe("under Archive.read", () => {
    /** A one-entry ustar archive (oci-layout), built by hand: header, body padded to 512, two zero blocks. */
    const tar = () =>
      Effect.sync(() => {
        const body = Buffer.from('{"imageLayoutVersion":"1.0.0"}')
        const header = Buffer.alloc(512)
        const field = (offset: number, text: string) => header.write(text, offset, "latin1")
        field(0, "oci-layout")
        field(100, "0000644\0")
        field(108, "0000000\0")
        field(116, "0000000\0")
        field(124, `${body.length.toString(8).padStart(11, "0")}\0`)
        field(136, "00000000000\0")
        field(156, "0")
        field(257, "ustar\u000000")
        header.fill(0x20, 148, 156)
        const checksum = header.reduce((sum, byte) => sum + byte, 0)
        field(148, `${checksum.toString(8).padStart(6, "0")}\0 `)
        return new Uint8Array(Buffer.concat([header, body, Buffer.alloc(512 - body.length), Buffer.alloc(1024)]))
      })
    const reasonOf = (bytes: Uint8Array) =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const result = yield* Effect.either(Archive.read(Stream.make(bytes), "image.tar", `${dir}/out`))
        return Either.isLeft(result) && result.left._tag === "ArchiveError" ? result.left.reason : "read"
      }).pipe(
        Effect.provide(Layer.mergeAll(NodeServices.layer({ durability: "none" }), NodeHasher.layer, NodeInflater.layer))
      )

    it.scoped("a truncated gzip is truncated", () =>
      Effect.gen(function* () {
        const compressed = NodeZlib.gzipSync(yield* tar())
        expect(yield* reasonOf(compressed.subarray(0, compressed.length - 20))).toBe("truncated")
      })
    )

    it.scoped("a gzip bomb is too large", () =>
      Effect.gen(function* () {
        const bytes = yield* tar()
        const bomb = new Uint8Array(64 * 1024 * 1024)
        bomb.set(bytes.subarray(0, bytes.length - 1024))
        expect(yield* reasonOf(NodeZlib.gzipSync(bomb))).toBe("too-large")
      })
    )
  })
})
