import { FileSystem } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import * as BlobStore from "@ocidx/core/BlobStore"
import * as Digest from "@ocidx/core/Digest"
import * as testing from "@ocidx/core/testing"
import { CurrentDurability } from "@ocidx/core/Durability"
import { Chunk, Deferred, Effect, Exit, Fiber, Option, Stream } from "effect"
import { blobsDir, directory, provideFresh } from "./support/layouts.js"

const encoder = new TextEncoder()

/** The digest WebCrypto computes, independently of the store. */
const webDigest = (algorithm: "sha256" | "sha512", bytes: Uint8Array) =>
  Effect.promise(() => globalThis.crypto.subtle.digest(algorithm === "sha256" ? "SHA-256" : "SHA-512", bytes)).pipe(
    Effect.map(
      (buffer) => `${algorithm}:${Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("")}`
    )
  )

const digestOf = (value: string): Digest.Digest =>
  Option.getOrThrowWith(Digest.parse(value), () => new Error(`not a digest: ${value}`))

const content = encoder.encode("hello, blobs\n".repeat(100))
const chunks = [content.slice(0, 7), content.slice(7, 500), content.slice(500)]

const env = Effect.gen(function* () {
  const memory = yield* testing.MemoryFileSystem
  const store = yield* BlobStore.make({ directory })
  return { memory, store }
})

/** Files under blobs/, temp files included. */
const blobFiles = (memory: testing.MemoryFileSystem) =>
  Object.keys(memory.files())
    .filter((path) => path.startsWith(`${blobsDir}/`))
    .sort()

const mutatingCalls = (memory: testing.MemoryFileSystem) =>
  memory.calls().filter((call) => !["readFile", "stat", "readDirectory", "open-read"].includes(call.op))

describe("BlobStore", () => {
  describe("put", () => {
    for (const algorithm of ["sha256", "sha512"] as const) {
      it.effect(`bytes and a stream of chunks give the ${algorithm} digest WebCrypto computes`, () =>
        Effect.gen(function* () {
          const { memory, store } = yield* env
          const expected = yield* webDigest(algorithm, content)
          const fromBytes = yield* store.put(content, { algorithm })
          expect(fromBytes).toEqual({ digest: expected, size: content.length })
          const fromStream = yield* store.put(Stream.fromIterable(chunks), { algorithm })
          expect(fromStream).toEqual(fromBytes)
          const file = store.pathOf(fromBytes.digest)
          expect(file).toBe(`${blobsDir}/${algorithm}/${expected.slice(algorithm.length + 1)}`)
          expect(memory.files()[file]).toEqual(content)
          expect(blobFiles(memory)).toEqual([file])
        }).pipe(provideFresh)
      )
    }

    it.effect("the empty blob has the well-known digest", () =>
      Effect.gen(function* () {
        const { store } = yield* env
        const info = yield* store.put(new Uint8Array())
        expect(info).toEqual({
          digest: "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
          size: 0
        })
      }).pipe(provideFresh)
    )

    it.effect("is idempotent: a second put with the expected digest of a present blob writes nothing", () =>
      Effect.gen(function* () {
        const { memory, store } = yield* env
        const first = yield* store.put(content)
        const before = mutatingCalls(memory).length
        const again = yield* store.put(Stream.fromIterable(chunks), {
          expected: { digest: first.digest, size: first.size }
        })
        expect(again).toEqual(first)
        expect(mutatingCalls(memory).slice(before)).toEqual([])
        const noSize = yield* store.put(content, { expected: { digest: first.digest } })
        expect(noSize).toEqual(first)
        expect(mutatingCalls(memory).slice(before)).toEqual([])
      }).pipe(provideFresh)
    )

    it.effect("an expected digest that does not match: DigestMismatch, and no blob and no temp file remain", () =>
      Effect.gen(function* () {
        const { memory, store } = yield* env
        const other = digestOf(yield* webDigest("sha256", encoder.encode("something else")))
        const error = yield* store.put(content, { expected: { digest: other } }).pipe(Effect.flip)
        expect(error._tag).toBe("DigestMismatch")
        if (error._tag !== "DigestMismatch") return
        expect(error.expectedDigest).toBe(other)
        expect(error.actualDigest).toBe(yield* webDigest("sha256", content))
        expect(error.actualSize).toBe(content.length)
        expect(blobFiles(memory)).toEqual([])
      }).pipe(provideFresh)
    )

    it.effect("an expected size that does not match: DigestMismatch, and nothing remains", () =>
      Effect.gen(function* () {
        const { memory, store } = yield* env
        const digest = digestOf(yield* webDigest("sha256", content))
        const error = yield* store
          .put(Stream.fromIterable(chunks), { expected: { digest, size: content.length + 1 } })
          .pipe(Effect.flip)
        expect(error._tag).toBe("DigestMismatch")
        if (error._tag !== "DigestMismatch") return
        expect(error.expectedSize).toBe(content.length + 1)
        expect(error.actualSize).toBe(content.length)
        expect(error.message).toContain(`size is ${content.length} bytes, expected ${content.length + 1}`)
        expect(blobFiles(memory)).toEqual([])
      }).pipe(provideFresh)
    )

    it.effect("an expected digest of an algorithm ocidx cannot compute: DecodeError, nothing written", () =>
      Effect.gen(function* () {
        const { memory, store } = yield* env
        const error = yield* store
          .put(content, { expected: { digest: digestOf(`sha1:${"a".repeat(40)}`) } })
          .pipe(Effect.flip)
        expect(error._tag).toBe("DecodeError")
        expect(error.message).toContain("cannot compute sha1")
        expect(blobFiles(memory)).toEqual([])
      }).pipe(provideFresh)
    )

    for (const op of ["write", "rename", "open"] as const) {
      it.effect(`a fault on ${op} fails with WriteError and leaves no blob and no temp file`, () =>
        Effect.gen(function* () {
          const { memory, store } = yield* env
          memory.inject(op, "EIO")
          const error = yield* store.put(Stream.fromIterable(chunks)).pipe(Effect.flip)
          expect(error._tag).toBe("WriteError")
          if (error._tag === "WriteError") expect(error.reason).toBe("io")
          expect(blobFiles(memory)).toEqual([])
        }).pipe(provideFresh)
      )
    }

    it.effect("a full disk is WriteError no-space", () =>
      Effect.gen(function* () {
        const { memory, store } = yield* env
        memory.inject("write", "ENOSPC", { nth: 2 })
        // Small buffers are joined into batches of 256 KiB: three 1 MiB buffers make the second write fail.
        const mib = new Uint8Array(1024 * 1024).fill(7)
        const error = yield* store.put(Stream.fromIterable([mib, mib, mib]).pipe(Stream.rechunk(1))).pipe(Effect.flip)
        expect(error._tag === "WriteError" && error.reason).toBe("no-space")
        expect(blobFiles(memory)).toEqual([])
      }).pipe(provideFresh)
    )

    // Past 64 MiB, the written part is flushed in the background while the rest is read and hashed.
    const longStream = () => {
      const mib = new Uint8Array(1024 * 1024).map((_, i) => (i * 7) % 256)
      return { mib, stream: Stream.fromIterable(Array.from({ length: 65 }, () => mib)), size: 65 * mib.length }
    }

    it.effect("a stream past the background-flush size is written whole, in order, with its digest", () =>
      Effect.gen(function* () {
        const { memory, store } = yield* env
        const { mib, size, stream } = longStream()
        const whole = new Uint8Array(size)
        for (let i = 0; i < 65; i++) whole.set(mib, i * mib.length)
        const info = yield* store.put(stream)
        const digest = yield* webDigest("sha256", whole)
        expect(info).toEqual({ digest, size })
        // Compared by digest: an element-wise toEqual of 65 MiB takes minutes.
        const stored = memory.files()[store.pathOf(info.digest)] ?? new Uint8Array(0)
        expect(stored.length).toBe(size)
        expect(yield* webDigest("sha256", stored)).toBe(digest)
        expect(memory.calls().filter((call) => call.op === "sync").length).toBeGreaterThanOrEqual(2)
      }).pipe(provideFresh)
    )

    it.effect("keeps no buffer past the pull that delivered it: a source may refill one buffer for every chunk", () =>
      Effect.gen(function* () {
        const { memory, store } = yield* env
        // Sizes below, at and above a write batch (256 KiB), so some are gathered and some written as they are.
        const sizes = [7, 300 * 1024, 100 * 1024, 256 * 1024, 1, 200 * 1024, 90 * 1024, 512 * 1024 + 3]
        const shared = new Uint8Array(Math.max(...sizes))
        const whole = new Uint8Array(sizes.reduce((sum, n) => sum + n, 0))
        let at = 0
        sizes.forEach((n, i) => {
          for (let j = 0; j < n; j++) whole[at + j] = (i * 37 + j * 11) & 0xff
          at += n
        })
        let index = 0
        let offset = 0
        const reused = Stream.repeatEffectOption(
          Effect.suspend(() => {
            const n = sizes[index]
            if (n === undefined) return Effect.fail(Option.none())
            shared.set(whole.subarray(offset, offset + n))
            index++
            offset += n
            return Effect.succeed(shared.subarray(0, n))
          })
        )
        const digest = yield* webDigest("sha256", whole)
        const info = yield* store.put(reused, { expected: { digest: digestOf(digest), size: whole.length } })
        expect(info).toEqual({ digest, size: whole.length })
        expect(yield* webDigest("sha256", memory.files()[store.pathOf(info.digest)] ?? new Uint8Array(0))).toBe(digest)
      }).pipe(provideFresh)
    )

    it.effect("a failing background flush is WriteError, and no blob and no temp file remain", () =>
      Effect.gen(function* () {
        const { memory, store } = yield* env
        memory.inject("sync", "EIO", { nth: 1 })
        const error = yield* store.put(longStream().stream).pipe(Effect.flip)
        expect(error).toMatchObject({ _tag: "WriteError", reason: "io" })
        expect(blobFiles(memory)).toEqual([])
      }).pipe(provideFresh)
    )

    it.effect("a failing input stream leaves nothing and fails with the stream's error", () =>
      Effect.gen(function* () {
        const { memory, store } = yield* env
        const broken = Stream.concat(Stream.fromIterable(chunks), Stream.fail("network went away" as const))
        const error = yield* store.put(broken).pipe(Effect.flip)
        expect(error).toBe("network went away")
        expect(blobFiles(memory)).toEqual([])
      }).pipe(provideFresh)
    )
  })

  describe("putFile", () => {
    const source = "/input/content"
    const sourceEnv = Effect.tap(env, ({ memory }) => memory.writeText(source, content))

    for (const algorithm of ["sha256", "sha512"] as const) {
      it.effect(`adds a file as put adds its bytes: the ${algorithm} digest, the content, nothing else`, () =>
        Effect.gen(function* () {
          const { memory, store } = yield* sourceEnv
          const info = yield* store.putFile(source, { algorithm })
          expect(info).toEqual({ digest: yield* webDigest(algorithm, content), size: content.length })
          expect(memory.files()[store.pathOf(info.digest)]).toEqual(content)
          expect(blobFiles(memory)).toEqual([store.pathOf(info.digest)])
          expect(memory.files()[source]).toEqual(content)
        }).pipe(provideFresh)
      )
    }

    it.effect("tells its progress, up to the size; fsyncs the blob and blobs/<alg>, or with durability none not", () =>
      Effect.gen(function* () {
        const { memory, store } = yield* env
        const fs = yield* FileSystem.FileSystem
        const big = new Uint8Array(2 * 1024 * 1024 + 9).map((_, i) => (i * 13) % 256)
        memory.writeText(source, big)
        const progress: Array<number> = []
        const info = yield* store.putFile(source, { onProgress: (written) => progress.push(written) })
        expect(info.size).toBe(big.length)
        expect(progress.at(-1)).toBe(big.length)
        expect(progress.length).toBeGreaterThanOrEqual(2)
        const syncs = () => memory.calls().filter((call) => call.op === "sync").length
        expect(syncs()).toBe(2)
        yield* fs.remove(store.pathOf(info.digest))
        yield* store.putFile(source).pipe(Effect.provideService(CurrentDurability, "none"))
        expect(syncs()).toBe(2)
        expect(blobFiles(memory)).toEqual([store.pathOf(info.digest)])
      }).pipe(provideFresh)
    )

    it.effect("a blob already there with the expected digest: nothing is read or written", () =>
      Effect.gen(function* () {
        const { memory, store } = yield* sourceEnv
        const first = yield* store.putFile(source)
        const before = memory.calls().length
        // The file is not even looked at: it need not exist.
        expect(yield* store.putFile("/input/gone", { expected: first })).toEqual(first)
        expect(
          memory
            .calls()
            .slice(before)
            .filter((call) => call.op !== "stat")
        ).toEqual([])
      }).pipe(provideFresh)
    )

    it.effect("an expected digest or size that does not match: DigestMismatch, and no blob and no temp file", () =>
      Effect.gen(function* () {
        const { memory, store } = yield* sourceEnv
        const digest = digestOf(yield* webDigest("sha256", content))
        const other = digestOf(yield* webDigest("sha256", encoder.encode("something else")))
        const wrongDigest = yield* store.putFile(source, { expected: { digest: other } }).pipe(Effect.flip)
        expect(wrongDigest).toMatchObject({ _tag: "DigestMismatch", expectedDigest: other, actualDigest: digest })
        const wrongSize = yield* store
          .putFile(source, { expected: { digest, size: content.length + 1 } })
          .pipe(Effect.flip)
        expect(wrongSize).toMatchObject({
          _tag: "DigestMismatch",
          expectedSize: content.length + 1,
          actualSize: content.length
        })
        const unsupported = yield* store
          .putFile(source, { expected: { digest: digestOf(`sha1:${"a".repeat(40)}`) } })
          .pipe(Effect.flip)
        expect(unsupported._tag).toBe("DecodeError")
        expect(blobFiles(memory)).toEqual([])
      }).pipe(provideFresh)
    )

    it.effect("a link, a directory or a missing file: ReadError naming it, and nothing is written", () =>
      Effect.gen(function* () {
        const { memory, store } = yield* sourceEnv
        const fs = yield* FileSystem.FileSystem
        yield* fs.symlink(source, "/input/link")
        yield* fs.makeDirectory("/input/dir")
        for (const [file, reason] of [
          ["/input/link", "symlink"],
          ["/input/dir", "not-a-file"],
          ["/input/missing", "not-found"]
        ] as const) {
          expect(yield* store.putFile(file).pipe(Effect.flip)).toMatchObject({ _tag: "ReadError", reason, path: file })
        }
        expect(blobFiles(memory).filter((file) => file.endsWith(".ocidx-tmp"))).toEqual([])
        expect(memory.calls().filter((call) => call.op === "open" || call.op === "rename")).toEqual([])
      }).pipe(provideFresh)
    )

    for (const op of ["open", "write", "sync", "rename"] as const) {
      it.effect(`a fault on ${op} fails with WriteError and leaves no blob and no temp file`, () =>
        Effect.gen(function* () {
          const { memory, store } = yield* sourceEnv
          memory.inject(op, "EIO")
          const error = yield* store.putFile(source).pipe(Effect.flip)
          expect(error).toMatchObject({ _tag: "WriteError", reason: "io" })
          expect(blobFiles(memory)).toEqual([])
        }).pipe(provideFresh)
      )
    }

    it.effect("a failed read of the file: ReadError naming it, and no blob and no temp file", () =>
      Effect.gen(function* () {
        const { memory, store } = yield* sourceEnv
        memory.inject("open-read", "EACCES", { path: source })
        const error = yield* store.putFile(source).pipe(Effect.flip)
        expect(error).toMatchObject({ _tag: "ReadError", reason: "permission", path: source })
        expect(blobFiles(memory)).toEqual([])
      }).pipe(provideFresh)
    )

    it.effect("interrupted mid-copy: no blob and no temp file", () =>
      Effect.gen(function* () {
        const { memory, store } = yield* env
        memory.writeText(source, new Uint8Array(3 * 1024 * 1024).fill(1))
        // The second chunk's write never completes, as on a disk that hangs.
        memory.inject("write", "hang", { nth: 2 })
        const copying = yield* Deferred.make<void>()
        const fiber = yield* Effect.fork(
          store.putFile(source, { onProgress: () => Deferred.unsafeDone(copying, Exit.void) })
        )
        yield* Deferred.await(copying)
        expect(blobFiles(memory).length).toBe(1)
        expect(Exit.isInterrupted(yield* Fiber.interrupt(fiber))).toBe(true)
        expect(blobFiles(memory)).toEqual([])
      }).pipe(provideFresh)
    )
  })

  describe("get and stream", () => {
    it.effect("return the content, verified", () =>
      Effect.gen(function* () {
        const { store } = yield* env
        const { digest, size } = yield* store.put(content)
        expect(yield* store.get(digest)).toEqual(content)
        expect(yield* store.get(digest, { size })).toEqual(content)
        const streamed = yield* Stream.runCollect(store.stream(digest, { size }))
        expect(Buffer.concat(Chunk.toReadonlyArray(streamed))).toEqual(Buffer.from(content))
      }).pipe(provideFresh)
    )

    it.effect("a flipped byte in the stored file: DigestMismatch from get and at the end of stream", () =>
      Effect.gen(function* () {
        const { memory, store } = yield* env
        const { digest } = yield* store.put(content)
        const file = store.pathOf(digest)
        const flipped = content.slice()
        flipped[100] = (flipped[100] ?? 0) ^ 0x01
        memory.writeText(file, flipped)
        const fromGet = yield* store.get(digest).pipe(Effect.flip)
        expect(fromGet._tag).toBe("DigestMismatch")
        if (fromGet._tag === "DigestMismatch") {
          expect(fromGet.path).toBe(file)
          expect(fromGet.actualDigest).toBe(yield* webDigest("sha256", flipped))
        }
        const fromStream = yield* Stream.runDrain(store.stream(digest)).pipe(Effect.flip)
        expect(fromStream._tag).toBe("DigestMismatch")
      }).pipe(provideFresh)
    )

    it.effect("stream with reuseBuffers: chunks read into one buffer, refilled for each, verified", () =>
      Effect.gen(function* () {
        const { memory, store } = yield* env
        const large = new Uint8Array(2.5 * 1024 * 1024)
        for (let i = 0; i < large.length; i++) large[i] = (i * 7 + (i >> 12)) & 0xff
        const { digest, size } = yield* store.put(large)
        const buffers: Array<ArrayBufferLike> = []
        // Each chunk is copied at its pull: it is valid only until the next.
        const copies = yield* Stream.runCollect(
          store.stream(digest, { size, reuseBuffers: true }).pipe(
            Stream.map((chunk) => {
              buffers.push(chunk.buffer)
              return chunk.slice()
            })
          )
        )
        expect(Buffer.concat(Chunk.toReadonlyArray(copies)).equals(large)).toBe(true)
        expect(buffers.length).toBeGreaterThan(2)
        expect(new Set(buffers).size).toBe(1)
        const flipped = large.slice()
        flipped[2 * 1024 * 1024 + 5] = (flipped[2 * 1024 * 1024 + 5] ?? 0) ^ 0x01
        memory.writeText(store.pathOf(digest), flipped)
        const error = yield* Stream.runDrain(store.stream(digest, { size, reuseBuffers: true })).pipe(Effect.flip)
        expect(error).toMatchObject({ _tag: "DigestMismatch", actualDigest: yield* webDigest("sha256", flipped) })
      }).pipe(provideFresh)
    )

    it.effect("a size that is not the descriptor's: DigestMismatch", () =>
      Effect.gen(function* () {
        const { store } = yield* env
        const { digest } = yield* store.put(content)
        const error = yield* store.get(digest, { size: 3 }).pipe(Effect.flip)
        expect(error._tag === "DigestMismatch" && error.expectedSize).toBe(3)
      }).pipe(provideFresh)
    )

    it.effect("an absent blob: BlobNotFound", () =>
      Effect.gen(function* () {
        const { store } = yield* env
        const digest = digestOf(yield* webDigest("sha256", content))
        const error = yield* store.get(digest).pipe(Effect.flip)
        expect(error).toMatchObject({ _tag: "BlobNotFound", digest, path: store.pathOf(digest) })
        const fromStream = yield* Stream.runDrain(store.stream(digest)).pipe(Effect.flip)
        expect(fromStream._tag).toBe("BlobNotFound")
      }).pipe(provideFresh)
    )

    it.effect("a symlinked blob is refused: ReadError symlink, from get, stream, has and stat", () =>
      Effect.gen(function* () {
        const { memory, store } = yield* env
        const fs = yield* FileSystem.FileSystem
        const { digest } = yield* store.put(content)
        const file = store.pathOf(digest)
        memory.writeText("/elsewhere/blob", content)
        yield* fs.remove(file)
        yield* fs.symlink("/elsewhere/blob", file)
        const fromGet = yield* store.get(digest).pipe(Effect.flip)
        expect(fromGet).toMatchObject({ _tag: "ReadError", reason: "symlink", path: file })
        const fromStream = yield* Stream.runDrain(store.stream(digest)).pipe(Effect.flip)
        expect(fromStream).toMatchObject({ _tag: "ReadError", reason: "symlink" })
        expect(yield* store.has(digest).pipe(Effect.flip)).toMatchObject({ _tag: "ReadError", reason: "symlink" })
        expect(yield* store.stat(digest).pipe(Effect.flip)).toMatchObject({ _tag: "ReadError", reason: "symlink" })
      }).pipe(provideFresh)
    )

    it.effect("a directory where the blob should be: ReadError not-a-file", () =>
      Effect.gen(function* () {
        const { store } = yield* env
        const fs = yield* FileSystem.FileSystem
        const digest = digestOf(yield* webDigest("sha256", content))
        yield* fs.makeDirectory(store.pathOf(digest), { recursive: true })
        const error = yield* store.get(digest).pipe(Effect.flip)
        expect(error).toMatchObject({ _tag: "ReadError", reason: "not-a-file" })
        expect(yield* store.stat(digest).pipe(Effect.flip)).toMatchObject({ _tag: "ReadError", reason: "not-a-file" })
      }).pipe(provideFresh)
    )
  })

  describe("has and stat", () => {
    it.effect("tell whether a blob is there and its size, without reading it", () =>
      Effect.gen(function* () {
        const { memory, store } = yield* env
        const digest = digestOf(yield* webDigest("sha256", content))
        expect(yield* store.has(digest)).toBe(false)
        expect(yield* store.stat(digest)).toEqual(Option.none())
        yield* store.put(content)
        const reads = memory.calls().filter((call) => call.op === "readFile" || call.op === "open-read").length
        expect(yield* store.has(digest)).toBe(true)
        expect(yield* store.stat(digest)).toEqual(Option.some({ digest, size: content.length }))
        expect(memory.calls().filter((call) => call.op === "readFile" || call.op === "open-read").length).toBe(reads)
      }).pipe(provideFresh)
    )
  })

  it("isTempFile recognises ocidx's temp files only", () => {
    expect(BlobStore.isTempFile(".blob.k2j3h4.ocidx-tmp")).toBe(true)
    expect(BlobStore.isTempFile("sha256")).toBe(false)
    expect(BlobStore.isTempFile("blob.tmp")).toBe(false)
  })
})
