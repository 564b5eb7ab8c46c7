/**
 * The conformance suite every `LayoutFiles` implementation passes: core's portable one on the in-memory file
 * system and on the real disk, and @ocidx/node's synchronous one. `register` adds its tests to the calling
 * file; the layer under test is built fresh for each test.
 */
import { FileSystem, Path } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import * as Digest from "@ocidx/core/Digest"
import { CurrentDurability } from "@ocidx/core/Durability"
import * as Hasher from "@ocidx/core/Hasher"
import * as LayoutFiles from "@ocidx/core/LayoutFiles"
import { Deferred, Effect, Either, Exit, Fiber, type Layer, Option, type Scope } from "effect"

export interface Target {
  /** The implementation under test, with the FileSystem and Path the suite sets its files up with. */
  readonly layer: () => Layer.Layer<LayoutFiles.LayoutFiles | FileSystem.FileSystem | Path.Path>
  /** A fresh, empty directory to work in. */
  readonly directory: Effect.Effect<string, never, FileSystem.FileSystem | Scope.Scope>
  /** Makes a FIFO at a path, where the platform can. */
  readonly makeFifo?: ((file: string) => Effect.Effect<void>) | undefined
  /** Whether to copy files past 64 MiB, where the background flush starts: slow on the in-memory file system. */
  readonly largeFiles?: boolean | undefined
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const digestOf = (algorithm: "sha256" | "sha512", text: string) =>
  Effect.gen(function* () {
    const hash = Hasher.webCrypto.make(algorithm)
    hash.update(encoder.encode(text))
    return yield* digest(`${algorithm}:${yield* hash.digest}`)
  })

const digest = (text: string) => Effect.sync(() => Option.getOrThrow(Digest.parse(text)))

/** The hex digest WebCrypto computes for `bytes`, independently of the implementation under test. */
const hexOf = (algorithm: "sha256" | "sha512", bytes: Uint8Array) =>
  Effect.promise(() => globalThis.crypto.subtle.digest(algorithm === "sha256" ? "SHA-256" : "SHA-512", bytes)).pipe(
    Effect.map((buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join(""))
  )

const MiB = 1024 * 1024

/** `size` bytes of a pattern that repeats only every 251 bytes, so a chunk out of place changes the digest. */
const patterned = (size: number) => new Uint8Array(size).map((_, i) => (i * 7) % 251)

/** Where two byte arrays first differ (-1: nowhere): a deep equality of MiBs takes the matcher seconds. */
const firstDifference = (a: Uint8Array, b: Uint8Array): number => {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i
  return a.length === b.length ? -1 : n
}

/** Sets up a directory, runs `body` in it with the service, and gives it the FileSystem and Path to look. */
const inDirectory = <A, E>(
  target: Target,
  body: (
    dir: string,
    files: LayoutFiles.LayoutFiles
  ) => Effect.Effect<A, E, FileSystem.FileSystem | Path.Path | LayoutFiles.LayoutFiles>
) =>
  Effect.scoped(
    Effect.gen(function* () {
      const dir = yield* target.directory
      const files = yield* LayoutFiles.LayoutFiles
      return yield* body(dir, files)
    })
  ).pipe(Effect.provide(target.layer()))

/** Registers the suite for the implementation `name`. */
export const register = (name: string, target: Target): void => {
  describe(`LayoutFiles conformance: ${name}`, () => {
    describe("writeAtomic", () => {
      it.live("creates a file with the content and mode 0644, and leaves no temp file", () =>
        inDirectory(target, (dir, files) =>
          Effect.gen(function* () {
            const fs = yield* FileSystem.FileSystem
            const path = yield* Path.Path
            const file = path.join(dir, "index.json")
            yield* files.writeAtomic(file, encoder.encode("new"), { previous: Option.none() })
            expect(decoder.decode(yield* fs.readFile(file))).toBe("new")
            expect((yield* fs.stat(file)).mode & 0o777).toBe(0o644)
            expect(yield* fs.readDirectory(dir)).toEqual(["index.json"])
          })
        )
      )

      it.live("replaces a file, keeping its mode; with durability none too", () =>
        inDirectory(target, (dir, files) =>
          Effect.gen(function* () {
            const fs = yield* FileSystem.FileSystem
            const path = yield* Path.Path
            const file = path.join(dir, "index.json")
            yield* fs.writeFileString(file, "old")
            yield* fs.chmod(file, 0o600)
            yield* files.writeAtomic(file, encoder.encode("new"), { previous: Option.some(encoder.encode("old")) })
            expect(decoder.decode(yield* fs.readFile(file))).toBe("new")
            expect((yield* fs.stat(file)).mode & 0o777).toBe(0o600)
            yield* files
              .writeAtomic(file, encoder.encode("newer"), { previous: Option.none() })
              .pipe(Effect.provideService(CurrentDurability, "none"))
            expect(decoder.decode(yield* fs.readFile(file))).toBe("newer")
            expect(yield* fs.readDirectory(dir)).toEqual(["index.json"])
          })
        )
      )

      it.live("a replace that fails leaves the old content and no temp file (a WriteError naming the target)", () =>
        inDirectory(target, (dir, files) =>
          Effect.gen(function* () {
            const fs = yield* FileSystem.FileSystem
            const path = yield* Path.Path
            // rename(2) cannot put a file over a non-empty directory: the last step fails.
            const file = path.join(dir, "index.json")
            yield* fs.makeDirectory(file)
            yield* fs.writeFileString(path.join(file, "inside"), "kept")
            const error = yield* Effect.flip(
              files.writeAtomic(file, encoder.encode("new"), { previous: Option.none() })
            )
            expect(error._tag).toBe("WriteError")
            expect(error.path).toBe(file)
            expect((yield* fs.stat(file)).type).toBe("Directory")
            expect(yield* fs.readDirectory(file)).toEqual(["inside"])
            expect(yield* fs.readDirectory(dir)).toEqual(["index.json"])
          })
        )
      )

      it.live("a missing directory fails with a WriteError and creates nothing", () =>
        inDirectory(target, (dir, files) =>
          Effect.gen(function* () {
            const fs = yield* FileSystem.FileSystem
            const path = yield* Path.Path
            const file = path.join(dir, "missing", "index.json")
            const error = yield* Effect.flip(
              files.writeAtomic(file, encoder.encode("new"), { previous: Option.none() })
            )
            expect(error).toMatchObject({ _tag: "WriteError", reason: "not-found" })
            expect(yield* fs.readDirectory(dir)).toEqual([])
          })
        )
      )

      it.live("temp names are the ones gc and verify know: `.<name>.<token>.ocidx-tmp` beside the target", () =>
        Effect.gen(function* () {
          const path = yield* Path.Path
          const temp = yield* LayoutFiles.tempPathFor("/layout/index.json")
          expect(path.dirname(temp)).toBe("/layout")
          expect(LayoutFiles.isTempNameFor("index.json", path.basename(temp))).toBe(true)
          expect(LayoutFiles.isTempNameFor("oci-layout", path.basename(temp))).toBe(false)
          expect(LayoutFiles.isTempNameFor("index.json", ".index.json.x-y.ocidx-tmp")).toBe(false)
          expect(yield* LayoutFiles.tempPathFor("/layout/index.json")).not.toBe(temp)
        }).pipe(Effect.provide(target.layer()))
      )
    })

    describe("readRegularFile", () => {
      it.live("a missing file is Missing, a regular one is Read, one over the limit is TooLarge", () =>
        inDirectory(target, (dir, files) =>
          Effect.gen(function* () {
            const fs = yield* FileSystem.FileSystem
            const path = yield* Path.Path
            const file = path.join(dir, "oci-layout")
            expect(yield* files.readRegularFile(file, 100)).toEqual({ _tag: "Missing" })
            expect(yield* files.readRegularFile(path.join(dir, "no", "such"), 100)).toEqual({ _tag: "Missing" })
            yield* fs.writeFileString(file, "0123456789")
            const read = yield* files.readRegularFile(file, 10)
            expect(read._tag === "Read" && decoder.decode(read.bytes)).toBe("0123456789")
            expect(yield* files.readRegularFile(file, 9)).toEqual({ _tag: "TooLarge", size: 10 })
            const empty = path.join(dir, "empty")
            yield* fs.writeFileString(empty, "")
            const none = yield* files.readRegularFile(empty, 10)
            expect(none._tag === "Read" && none.bytes.length).toBe(0)
          })
        )
      )

      it.live("a symbolic link, to a file or dangling, is a ReadError symlink; a directory is not-a-file", () =>
        inDirectory(target, (dir, files) =>
          Effect.gen(function* () {
            const fs = yield* FileSystem.FileSystem
            const path = yield* Path.Path
            const real = path.join(dir, "real")
            yield* fs.writeFileString(real, "{}")
            const link = path.join(dir, "link")
            yield* fs.symlink(real, link)
            expect(yield* Effect.flip(files.readRegularFile(link, 100))).toMatchObject({
              _tag: "ReadError",
              reason: "symlink",
              path: link
            })
            const dangling = path.join(dir, "dangling")
            yield* fs.symlink(path.join(dir, "nowhere"), dangling)
            expect(yield* Effect.flip(files.readRegularFile(dangling, 100))).toMatchObject({ reason: "symlink" })
            const sub = path.join(dir, "sub")
            yield* fs.makeDirectory(sub)
            expect(yield* Effect.flip(files.readRegularFile(sub, 100))).toMatchObject({
              _tag: "ReadError",
              reason: "not-a-file",
              path: sub
            })
          })
        )
      )

      const makeFifo = target.makeFifo
      if (makeFifo !== undefined) {
        it.live("a FIFO is refused at once (not-a-file), not waited on", () =>
          inDirectory(target, (dir, files) =>
            Effect.gen(function* () {
              const path = yield* Path.Path
              const fifo = path.join(dir, "fifo")
              yield* makeFifo(fifo)
              expect(yield* Effect.flip(files.readRegularFile(fifo, 100))).toMatchObject({
                _tag: "ReadError",
                reason: "not-a-file"
              })
              const [hashed] = yield* files.hashBlobs([{ path: fifo, digest: yield* digestOf("sha256", "") }])
              expect(hashed).toMatchObject({ _tag: "Failed", error: { reason: "not-a-file" } })
            })
          )
        )
      }
    })

    describe("requireDirectory", () => {
      it.live("a directory, or a link to one, passes; anything else is a ReadError naming it", () =>
        inDirectory(target, (dir, files) =>
          Effect.gen(function* () {
            const fs = yield* FileSystem.FileSystem
            const path = yield* Path.Path
            yield* files.requireDirectory(dir)
            const sub = path.join(dir, "sub")
            yield* fs.makeDirectory(sub)
            const link = path.join(dir, "link")
            yield* fs.symlink(sub, link)
            yield* files.requireDirectory(link)
            const missing = path.join(dir, "missing")
            expect(yield* Effect.flip(files.requireDirectory(missing))).toMatchObject({
              _tag: "ReadError",
              reason: "not-found",
              path: missing
            })
            const file = path.join(dir, "file")
            yield* fs.writeFileString(file, "{}")
            expect(yield* Effect.flip(files.requireDirectory(file))).toMatchObject({
              _tag: "ReadError",
              reason: "not-a-file",
              path: file
            })
            const dangling = path.join(dir, "dangling")
            yield* fs.symlink(missing, dangling)
            expect(yield* Effect.flip(files.requireDirectory(dangling))).toMatchObject({
              _tag: "ReadError",
              reason: "not-found",
              path: dangling
            })
          })
        )
      )
    })

    describe("readRegularFiles", () => {
      it.live(
        "reads each file as readRegularFile does, in order: Missing, TooLarge, Read, a link or a directory refused",
        () =>
          inDirectory(target, (dir, files) =>
            Effect.gen(function* () {
              const fs = yield* FileSystem.FileSystem
              const path = yield* Path.Path
              const small = path.join(dir, "small")
              yield* fs.writeFileString(small, "0123456789")
              const empty = path.join(dir, "empty")
              yield* fs.writeFileString(empty, "")
              // Past the block small files share: a buffer of its own.
              const large = path.join(dir, "large")
              const content = patterned(200 * 1024)
              yield* fs.writeFile(large, content)
              const link = path.join(dir, "link")
              yield* fs.symlink(small, link)
              const sub = path.join(dir, "sub")
              yield* fs.makeDirectory(sub)
              const missing = path.join(dir, "missing")
              const asked = [
                { path: small, maxBytes: 10 },
                { path: missing, maxBytes: 10 },
                { path: small, maxBytes: 9 },
                { path: link, maxBytes: 100 },
                { path: empty, maxBytes: 10 },
                { path: large, maxBytes: MiB },
                { path: sub, maxBytes: 100 },
                { path: path.join(dir, "no", "such"), maxBytes: 10 }
              ]
              const results = yield* files.readRegularFiles(asked)
              expect(results.length).toBe(asked.length)
              // Each the same as the single read's success or failure.
              for (const [i, { maxBytes, path: file }] of asked.entries()) {
                const single = yield* Effect.either(files.readRegularFile(file, maxBytes))
                expect(results[i]).toEqual(single)
              }
              const text = (i: number) => {
                const result = results[i]
                return result?._tag === "Right" && result.right._tag === "Read"
                  ? decoder.decode(result.right.bytes)
                  : undefined
              }
              expect(text(0)).toBe("0123456789")
              expect(results[1]).toEqual(Either.right({ _tag: "Missing" }))
              expect(results[2]).toEqual(Either.right({ _tag: "TooLarge", size: 10 }))
              expect(results[3]).toMatchObject({
                _tag: "Left",
                left: { _tag: "ReadError", reason: "symlink", path: link }
              })
              expect(text(4)).toBe("")
              const read = results[5]
              // A plain copy: an implementation may hand back a Buffer.
              expect(read?._tag === "Right" && read.right._tag === "Read" && new Uint8Array(read.right.bytes)).toEqual(
                content
              )
              expect(results[6]).toMatchObject({
                _tag: "Left",
                left: { _tag: "ReadError", reason: "not-a-file", path: sub }
              })
              expect(results[7]).toEqual(Either.right({ _tag: "Missing" }))
              expect(yield* files.readRegularFiles([])).toEqual([])
            })
          )
      )

      it.live("many small files: each its own bytes, unchanged by the reads after it", () =>
        inDirectory(target, (dir, files) =>
          Effect.gen(function* () {
            const fs = yield* FileSystem.FileSystem
            const path = yield* Path.Path
            const texts = Array.from({ length: 300 }, (_, i) => `{"n":${i}}`.padEnd(100 + ((i * 37) % 700), " "))
            const asked = []
            for (const [i, text] of texts.entries()) {
              const file = path.join(dir, `m${i}`)
              yield* fs.writeFileString(file, text)
              asked.push({ path: file, maxBytes: 4096 })
            }
            const results = yield* files.readRegularFiles(asked)
            expect(
              results.map((result) =>
                result._tag === "Right" && result.right._tag === "Read" ? decoder.decode(result.right.bytes) : result
              )
            ).toEqual(texts)
          })
        )
      )

      it.live(
        "with `hash`, a Read carries the hex digest of exactly its bytes (sha256, sha512; empty, small, shared-block and large files)",
        () =>
          inDirectory(target, (dir, files) =>
            Effect.gen(function* () {
              const fs = yield* FileSystem.FileSystem
              const path = yield* Path.Path
              const contents = [
                new Uint8Array(0),
                encoder.encode('{"schemaVersion":2}'),
                patterned(5000),
                patterned(200 * 1024),
                patterned(3 * MiB + 17)
              ]
              const asked: Array<LayoutFiles.FileToRead> = []
              const expected: Array<{ readonly bytes: Uint8Array; readonly hex: string | undefined }> = []
              for (const [i, bytes] of contents.entries()) {
                const file = path.join(dir, `f${i}`)
                yield* fs.writeFile(file, bytes)
                for (const algorithm of ["sha256", "sha512", undefined] as const) {
                  asked.push({ path: file, maxBytes: 4 * MiB, hash: algorithm })
                  expected.push({ bytes, hex: algorithm === undefined ? undefined : yield* hexOf(algorithm, bytes) })
                }
              }
              const results = yield* files.readRegularFiles(asked)
              expect(results.length).toBe(asked.length)
              for (const [i, result] of results.entries()) {
                const want = expected[i]
                if (result._tag !== "Right" || result.right._tag !== "Read" || want === undefined) {
                  return yield* Effect.dieMessage(`file ${i} was not read`)
                }
                expect(firstDifference(result.right.bytes, want.bytes)).toBe(-1)
                expect(result.right.hex).toBe(want.hex)
              }
              // Asked for a hash, what is not read is as without one.
              const missing = path.join(dir, "missing")
              const link = path.join(dir, "link")
              yield* fs.symlink(path.join(dir, "f1"), link)
              const [gone, tooLarge, refused] = yield* files.readRegularFiles([
                { path: missing, maxBytes: 10, hash: "sha256" },
                { path: path.join(dir, "f2"), maxBytes: 10, hash: "sha256" },
                { path: link, maxBytes: 100, hash: "sha512" }
              ])
              expect(gone).toEqual(Either.right({ _tag: "Missing" }))
              expect(tooLarge).toEqual(Either.right({ _tag: "TooLarge", size: 5000 }))
              expect(refused).toMatchObject({
                _tag: "Left",
                left: { _tag: "ReadError", reason: "symlink", path: link }
              })
            })
          )
      )

      const fifo = target.makeFifo
      if (fifo !== undefined) {
        it.live("a FIFO is refused at once (not-a-file), the files around it read", () =>
          inDirectory(target, (dir, files) =>
            Effect.gen(function* () {
              const fs = yield* FileSystem.FileSystem
              const path = yield* Path.Path
              const pipe = path.join(dir, "fifo")
              yield* fifo(pipe)
              const file = path.join(dir, "file")
              yield* fs.writeFileString(file, "{}")
              const [before, refused, after] = yield* files.readRegularFiles([
                { path: file, maxBytes: 10 },
                { path: pipe, maxBytes: 10 },
                { path: file, maxBytes: 10 }
              ])
              expect(refused).toMatchObject({ _tag: "Left", left: { _tag: "ReadError", reason: "not-a-file" } })
              expect(before).toEqual(after)
              expect(before?._tag === "Right" && before.right._tag).toBe("Read")
            })
          )
        )
      }
    })

    describe("ingestFile", () => {
      it.live(
        "copies a file to a new temp file with its size and digest, across chunks; progress counts up to it",
        () =>
          inDirectory(target, (dir, files) =>
            Effect.gen(function* () {
              const fs = yield* FileSystem.FileSystem
              const path = yield* Path.Path
              for (const [size, algorithm] of [
                [0, "sha256"],
                [5, "sha512"],
                [3 * MiB + 5, "sha256"],
                [2 * MiB, "sha512"]
              ] as const) {
                const content = patterned(size)
                const source = path.join(dir, `source-${size}`)
                yield* fs.writeFile(source, content)
                const temp = yield* LayoutFiles.tempPathFor(path.join(dir, "blob"))
                const progress: Array<number> = []
                const ingested = yield* files.ingestFile(source, temp, {
                  algorithm,
                  onProgress: (written) => progress.push(written)
                })
                expect(ingested).toEqual({ size, hex: yield* hexOf(algorithm, content) })
                const copy = yield* fs.readFile(temp)
                expect(copy.length).toBe(size)
                expect(yield* hexOf(algorithm, copy)).toBe(ingested.hex)
                // At least one report per MiB, rising, the last one the size.
                expect(progress.length).toBeGreaterThanOrEqual(Math.floor(size / MiB))
                expect(progress).toEqual([...progress].sort((a, b) => a - b))
                expect(progress.at(-1) ?? 0).toBe(size)
                expect((yield* fs.stat(source)).size).toBe(BigInt(size))
                yield* fs.remove(temp)
              }
            })
          )
      )

      it.live.skipIf(target.largeFiles !== true)(
        "past the background-flush size (64 MiB) with durability full, and with none",
        () =>
          inDirectory(target, (dir, files) =>
            Effect.gen(function* () {
              const fs = yield* FileSystem.FileSystem
              const path = yield* Path.Path
              const content = patterned(65 * MiB + 3)
              const source = path.join(dir, "source")
              yield* fs.writeFile(source, content)
              const hex = yield* hexOf("sha256", content)
              for (const durability of ["full", "none"] as const) {
                const temp = yield* LayoutFiles.tempPathFor(path.join(dir, "blob"))
                const ingested = yield* files
                  .ingestFile(source, temp, { algorithm: "sha256" })
                  .pipe(Effect.provideService(CurrentDurability, durability))
                expect(ingested).toEqual({ size: content.length, hex })
                expect(yield* hexOf("sha256", yield* fs.readFile(temp))).toBe(hex)
                yield* fs.remove(temp)
              }
            })
          )
      )

      it.live("a link (to a file or dangling), a directory or a missing source is refused and nothing is created", () =>
        inDirectory(target, (dir, files) =>
          Effect.gen(function* () {
            const fs = yield* FileSystem.FileSystem
            const path = yield* Path.Path
            const file = (name: string) => path.join(dir, name)
            yield* fs.writeFileString(file("real"), "content")
            yield* fs.symlink(file("real"), file("link"))
            yield* fs.symlink(file("nowhere"), file("dangling"))
            yield* fs.makeDirectory(file("dir"))
            const before = (yield* fs.readDirectory(dir)).sort()
            for (const [name, reason] of [
              ["link", "symlink"],
              ["dangling", "symlink"],
              ["dir", "not-a-file"],
              ["missing", "not-found"]
            ] as const) {
              const temp = yield* LayoutFiles.tempPathFor(file("blob"))
              const error = yield* Effect.flip(files.ingestFile(file(name), temp, { algorithm: "sha256" }))
              expect(error).toMatchObject({ _tag: "ReadError", reason, path: file(name) })
            }
            expect((yield* fs.readDirectory(dir)).sort()).toEqual(before)
            expect(yield* fs.readFileString(file("real"))).toBe("content")
          })
        )
      )

      const makeFifo = target.makeFifo
      if (makeFifo !== undefined) {
        it.live("a FIFO source is refused at once (not-a-file), not waited on, and nothing is created", () =>
          inDirectory(target, (dir, files) =>
            Effect.gen(function* () {
              const fs = yield* FileSystem.FileSystem
              const path = yield* Path.Path
              const fifo = path.join(dir, "fifo")
              yield* makeFifo(fifo)
              const temp = yield* LayoutFiles.tempPathFor(path.join(dir, "blob"))
              const error = yield* Effect.flip(files.ingestFile(fifo, temp, { algorithm: "sha256" }))
              expect(error).toMatchObject({ _tag: "ReadError", reason: "not-a-file", path: fifo })
              expect(yield* fs.readDirectory(dir)).toEqual(["fifo"])
            })
          )
        )
      }

      it.live("a temp name that exists is a WriteError naming it, and that file is left as it was", () =>
        inDirectory(target, (dir, files) =>
          Effect.gen(function* () {
            const fs = yield* FileSystem.FileSystem
            const path = yield* Path.Path
            const source = path.join(dir, "source")
            yield* fs.writeFileString(source, "new content")
            const taken = path.join(dir, "taken")
            yield* fs.writeFileString(taken, "someone else's")
            const error = yield* Effect.flip(files.ingestFile(source, taken, { algorithm: "sha256" }))
            expect(error).toMatchObject({ _tag: "WriteError", path: taken })
            expect(yield* fs.readFileString(taken)).toBe("someone else's")
            const nowhere = path.join(dir, "missing", "temp")
            expect(yield* Effect.flip(files.ingestFile(source, nowhere, { algorithm: "sha256" }))).toMatchObject({
              _tag: "WriteError",
              reason: "not-found",
              path: nowhere
            })
            expect((yield* fs.readDirectory(dir)).sort()).toEqual(["source", "taken"])
          })
        )
      )

      it.live("interrupted mid-copy, it removes the temp file", () =>
        inDirectory(target, (dir, files) =>
          Effect.gen(function* () {
            const fs = yield* FileSystem.FileSystem
            const path = yield* Path.Path
            const source = path.join(dir, "source")
            yield* fs.writeFile(source, patterned(16 * MiB))
            const temp = yield* LayoutFiles.tempPathFor(path.join(dir, "blob"))
            const started = yield* Deferred.make<void>()
            const fiber = yield* Effect.fork(
              files.ingestFile(source, temp, {
                algorithm: "sha256",
                onProgress: () => Deferred.unsafeDone(started, Exit.void)
              })
            )
            // Interrupted after its first MiB, with 15 more to go.
            yield* Deferred.await(started)
            const exit = yield* Fiber.interrupt(fiber)
            expect(Exit.isInterrupted(exit)).toBe(true)
            expect(yield* fs.readDirectory(dir)).toEqual(["source"])
          })
        )
      )
    })

    describe("hashBlobs", () => {
      it.live("reports each blob in order: Ok, Mismatch, Missing, a link, a directory, an unknown algorithm", () =>
        inDirectory(target, (dir, files) =>
          Effect.gen(function* () {
            const fs = yield* FileSystem.FileSystem
            const path = yield* Path.Path
            const file = (name: string) => path.join(dir, name)
            // Bigger than any one read, so a blob is hashed across chunks.
            const large = "x".repeat(3 * 1024 * 1024 + 5)
            yield* fs.writeFileString(file("a"), "hello")
            yield* fs.writeFileString(file("b"), large)
            yield* fs.writeFileString(file("c"), "tampered")
            yield* fs.symlink(file("a"), file("link"))
            yield* fs.makeDirectory(file("dir"))
            const sha256 = yield* digestOf("sha256", "hello")
            const sha512 = yield* digestOf("sha512", large)
            const results = yield* files.hashBlobs([
              { path: file("a"), digest: sha256 },
              { path: file("b"), digest: sha512 },
              { path: file("c"), digest: sha256 },
              { path: file("missing"), digest: sha256 },
              { path: file("link"), digest: sha256 },
              { path: file("dir"), digest: sha256 },
              { path: file("a"), digest: yield* digest(`blake3:${"ab".repeat(32)}`) }
            ])
            expect(results).toMatchObject([
              { _tag: "Ok", size: 5 },
              { _tag: "Ok", size: large.length },
              { _tag: "Mismatch", size: 8, actualDigest: yield* digestOf("sha256", "tampered") },
              { _tag: "Missing" },
              { _tag: "Failed", error: { _tag: "ReadError", reason: "symlink", path: file("link") } },
              { _tag: "Failed", error: { _tag: "ReadError", reason: "not-a-file", path: file("dir") } },
              { _tag: "Ok", size: 5 }
            ])
          })
        )
      )

      it.live("blobs either side of 4 MiB (where node:fs reads large ones asynchronously), mixed, in order", () =>
        inDirectory(target, (dir, files) =>
          Effect.gen(function* () {
            const fs = yield* FileSystem.FileSystem
            const path = yield* Path.Path
            const file = (name: string) => path.join(dir, name)
            const MiB = 1024 * 1024
            const under = "u".repeat(4 * MiB - 1)
            const at = "a".repeat(4 * MiB)
            // Several chunks, the last one short.
            const over = "o".repeat(9 * MiB + 3)
            const flipped = `${over.slice(0, -1)}x`
            for (const [name, text] of [
              ["under", under],
              ["at", at],
              ["over", over],
              ["flipped", flipped],
              ["small", "small"]
            ] as const) {
              yield* fs.writeFileString(file(name), text)
            }
            const results = yield* files.hashBlobs([
              { path: file("under"), digest: yield* digestOf("sha256", under) },
              { path: file("at"), digest: yield* digestOf("sha256", at) },
              { path: file("small"), digest: yield* digestOf("sha256", "small") },
              { path: file("over"), digest: yield* digestOf("sha512", over) },
              { path: file("flipped"), digest: yield* digestOf("sha256", over) },
              { path: file("over"), digest: yield* digest(`blake3:${"ab".repeat(32)}`) },
              { path: file("under"), digest: yield* digestOf("sha256", at) }
            ])
            expect(results).toEqual([
              { _tag: "Ok", size: under.length },
              { _tag: "Ok", size: at.length },
              { _tag: "Ok", size: 5 },
              { _tag: "Ok", size: over.length },
              { _tag: "Mismatch", size: flipped.length, actualDigest: yield* digestOf("sha256", flipped) },
              { _tag: "Ok", size: over.length },
              { _tag: "Mismatch", size: under.length, actualDigest: yield* digestOf("sha256", under) }
            ])
          })
        )
      )

      it.live("blobs that end where a read ends or just past it are hashed whole: empty, one byte, about 1 MiB", () =>
        inDirectory(target, (dir, files) =>
          Effect.gen(function* () {
            const fs = yield* FileSystem.FileSystem
            const path = yield* Path.Path
            // node:fs reads a small blob in 1 MiB reads and stops at the size its fstat gave.
            const sizes = [0, 1, MiB - 1, MiB, MiB + 1, 2 * MiB]
            const blobs: Array<LayoutFiles.BlobToHash> = []
            for (const size of sizes) {
              const file = path.join(dir, `blob-${size}`)
              const content = patterned(size)
              yield* fs.writeFile(file, content)
              blobs.push({ path: file, digest: yield* digest(`sha256:${yield* hexOf("sha256", content)}`) })
            }
            const results = yield* files.hashBlobs(blobs)
            expect(results).toEqual(sizes.map((size) => ({ _tag: "Ok", size })))
          })
        )
      )

      it.live("an empty batch is an empty result", () =>
        inDirectory(target, (_dir, files) => Effect.map(files.hashBlobs([]), (results) => expect(results).toEqual([])))
      )
    })

    describe("removeFiles", () => {
      it.live("removes old regular files; reports missing ones; refuses links and directories, untouched", () =>
        inDirectory(target, (dir, files) =>
          Effect.gen(function* () {
            const fs = yield* FileSystem.FileSystem
            const path = yield* Path.Path
            const file = (name: string) => path.join(dir, name)
            yield* fs.writeFileString(file("garbage"), "12345")
            yield* fs.writeFileString(file("outside"), "keep me")
            yield* fs.symlink(file("outside"), file("link"))
            yield* fs.makeDirectory(file("dir"))
            // Every file is older than a minute from now.
            const olderThan = Date.now() + 60_000
            const results = yield* files.removeFiles([file("garbage"), file("missing"), file("link"), file("dir")], {
              olderThan,
              dryRun: false
            })
            expect(results).toEqual([
              { _tag: "Removed", size: 5 },
              { _tag: "Missing" },
              { _tag: "Refused", reason: "symlink" },
              { _tag: "Refused", reason: "not-a-file" }
            ])
            expect((yield* fs.readDirectory(dir)).sort()).toEqual(["dir", "link", "outside"])
            expect(yield* fs.readFileString(file("outside"))).toBe("keep me")
            expect(yield* fs.readLink(file("link"))).toBe(file("outside"))
          })
        )
      )

      it.live("keeps young files, and a dry run removes nothing", () =>
        inDirectory(target, (dir, files) =>
          Effect.gen(function* () {
            const fs = yield* FileSystem.FileSystem
            const path = yield* Path.Path
            const garbage = path.join(dir, "garbage")
            yield* fs.writeFileString(garbage, "123")
            expect(yield* files.removeFiles([garbage], { olderThan: 0, dryRun: false })).toEqual([{ _tag: "Young" }])
            expect(yield* files.removeFiles([garbage], { olderThan: Date.now() + 60_000, dryRun: true })).toEqual([
              { _tag: "Removed", size: 3 }
            ])
            expect(yield* fs.exists(garbage)).toBe(true)
          })
        )
      )
    })
  })
}
