import { createHash } from "node:crypto"
import { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { describe, expect, it } from "@effect/vitest"
import * as Annotations from "@ocidx/core/Annotations"
import * as Descriptor from "@ocidx/core/Descriptor"
import * as Digest from "@ocidx/core/Digest"
import * as IndexLock from "@ocidx/core/IndexLock"
import * as Layout from "@ocidx/core/Layout"
import * as MediaType from "@ocidx/core/MediaType"
import * as Reference from "@ocidx/core/Reference"
import * as testing from "@ocidx/core/testing"
import { Cause, Chunk, Effect, Exit, Fiber, Option, Predicate, Schema, Scope, Stream } from "effect"
import { isDone, settle } from "./support/store.js"

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** The errno behind a platform error, as the memory file system reports it. */
const errnoOf = (error: PlatformError): string | undefined =>
  error._tag === "SystemError" && Predicate.hasProperty(error.cause, "code") && typeof error.cause.code === "string"
    ? error.cause.code
    : undefined

const failure = (error: PlatformError) => ({
  tag: error._tag,
  reason: error._tag === "SystemError" ? error.reason : undefined,
  errno: errnoOf(error)
})

const memoryFs = Effect.gen(function* () {
  const memory = yield* testing.MemoryFileSystem
  const fs = yield* FileSystem.FileSystem
  return { memory, fs }
}).pipe(Effect.provide(testing.layerMemoryFileSystem))

const read = (fs: FileSystem.FileSystem, path: string) =>
  Effect.map(fs.readFile(path), (bytes) => decoder.decode(bytes))

const writeString = (fs: FileSystem.FileSystem, path: string, text: string, options?: FileSystem.WriteFileOptions) =>
  fs.writeFile(path, encoder.encode(text), options)

describe("testing.makeMemoryFileSystem", () => {
  it.effect("starts with an empty root and the layer is fresh each time it is built", () =>
    Effect.gen(function* () {
      const first = yield* memoryFs
      expect(yield* first.fs.readDirectory("/")).toEqual([])
      expect(first.memory.files()).toEqual({})
      first.memory.writeText("/a/b.txt", "x")
      const second = yield* memoryFs
      expect(second.memory.files()).toEqual({})
      expect(Object.keys(first.memory.files())).toEqual(["/a/b.txt"])
    })
  )

  it.effect("writes and reads files; a missing parent is NotFound", () =>
    Effect.gen(function* () {
      const { fs, memory } = yield* memoryFs
      yield* fs.makeDirectory("/d")
      yield* writeString(fs, "/d/f", "hello")
      expect(yield* read(fs, "/d/f")).toBe("hello")
      expect(memory.readText("/d/./../d/f")).toBe("hello")
      expect(failure(yield* Effect.flip(writeString(fs, "/missing/f", "x")))).toEqual({
        tag: "SystemError",
        reason: "NotFound",
        errno: "ENOENT"
      })
      expect(failure(yield* Effect.flip(fs.readFile("/d/nope")))).toMatchObject({ reason: "NotFound" })
      expect(failure(yield* Effect.flip(fs.readFile("/d")))).toMatchObject({ errno: "EISDIR" })
      expect(yield* fs.exists("/d/f")).toBe(true)
      expect(yield* fs.exists("/d/g")).toBe(false)
    })
  )

  it.effect("the operations platform derives (readFileString, writeFileString, stream, exists) work", () =>
    Effect.gen(function* () {
      const { fs, memory } = yield* memoryFs
      memory.writeText("/d/f", "hello")
      expect(yield* fs.readFileString("/d/f")).toBe("hello")
      yield* fs.writeFileString("/d/g", "written")
      expect(memory.readText("/d/g")).toBe("written")
      const chunks = yield* Stream.runCollect(fs.stream("/d/f"))
      expect(decoder.decode(Chunk.toReadonlyArray(chunks)[0])).toBe("hello")
      expect(yield* fs.exists("/d/f")).toBe(true)
      // And they go through the fault gate like the rest.
      memory.inject("readFile", "EIO")
      expect(errnoOf(yield* Effect.flip(fs.readFileString("/d/f")))).toBe("EIO")
    })
  )

  it.effect("files() and readFile return copies", () =>
    Effect.gen(function* () {
      const { fs, memory } = yield* memoryFs
      memory.writeText("/f", "abc")
      const snapshot = memory.files()["/f"]
      snapshot?.fill(0)
      const bytes = yield* fs.readFile("/f")
      bytes.fill(0)
      expect(memory.readText("/f")).toBe("abc")
    })
  )

  it.scoped("open wx creates a missing file with the mode given, and fails with EEXIST on an existing one", () =>
    Effect.gen(function* () {
      const { fs, memory } = yield* memoryFs
      memory.writeText("/d/existing", "keep me")
      const file = yield* fs.open("/d/new", { flag: "wx", mode: 0o640 })
      yield* file.writeAll(encoder.encode("new"))
      expect(memory.readText("/d/new")).toBe("new")
      expect(memory.mode("/d/new")).toBe(0o640)
      const error = yield* Effect.flip(fs.open("/d/existing", { flag: "wx" }))
      expect(failure(error)).toEqual({ tag: "SystemError", reason: "AlreadyExists", errno: "EEXIST" })
      expect(memory.readText("/d/existing")).toBe("keep me")
      // "w" truncates, "a" appends.
      yield* writeString(fs, "/d/existing", "w")
      expect(memory.readText("/d/existing")).toBe("w")
      const appender = yield* fs.open("/d/existing", { flag: "a" })
      yield* appender.writeAll(encoder.encode("+a"))
      expect(memory.readText("/d/existing")).toBe("w+a")
      // Opening a missing file for reading fails.
      expect(failure(yield* Effect.flip(fs.open("/d/absent")))).toMatchObject({ reason: "NotFound" })
    })
  )

  it.effect("rename replaces the target and removes the source", () =>
    Effect.gen(function* () {
      const { fs, memory } = yield* memoryFs
      memory.writeText("/d/from", "new", 0o600)
      memory.writeText("/d/to", "old")
      yield* fs.rename("/d/from", "/d/to")
      expect(memory.readText("/d/to")).toBe("new")
      expect(memory.mode("/d/to")).toBe(0o600)
      expect(memory.readText("/d/from")).toBeUndefined()
      expect(yield* fs.readDirectory("/d")).toEqual(["to"])
      expect(failure(yield* Effect.flip(fs.rename("/d/from", "/d/x")))).toMatchObject({ reason: "NotFound" })
      expect(failure(yield* Effect.flip(fs.rename("/d/to", "/nowhere/x")))).toMatchObject({ reason: "NotFound" })
      expect(memory.readText("/d/to")).toBe("new")
    })
  )

  it.effect("rename of a directory moves what it contains", () =>
    Effect.gen(function* () {
      const { fs, memory } = yield* memoryFs
      memory.writeText("/a/sub/f", "content")
      yield* fs.rename("/a", "/b")
      expect(yield* fs.readDirectory("/")).toEqual(["b"])
      expect(yield* read(fs, "/b/sub/f")).toBe("content")
      expect(Object.keys(memory.files())).toEqual(["/b/sub/f"])
    })
  )

  it.effect("readDirectory lists the direct children, sorted; a file is ENOTDIR", () =>
    Effect.gen(function* () {
      const { fs, memory } = yield* memoryFs
      memory.writeText("/r/b", "")
      memory.writeText("/r/a", "")
      memory.writeText("/r/c/deep", "")
      memory.writeText("/rr/not-a-child", "")
      expect(yield* fs.readDirectory("/r")).toEqual(["a", "b", "c"])
      expect(yield* fs.readDirectory("/r/c")).toEqual(["deep"])
      expect(yield* fs.readDirectory("/")).toEqual(["r", "rr"])
      expect(failure(yield* Effect.flip(fs.readDirectory("/r/a")))).toMatchObject({ errno: "ENOTDIR" })
      expect(failure(yield* Effect.flip(fs.readDirectory("/none")))).toMatchObject({ reason: "NotFound" })
    })
  )

  it.effect("remove: a file, a non-empty directory only recursively, and everything under it", () =>
    Effect.gen(function* () {
      const { fs, memory } = yield* memoryFs
      memory.writeText("/t/a/1", "")
      memory.writeText("/t/a/b/2", "")
      memory.writeText("/t/keep", "")
      memory.writeText("/t/ab", "")
      yield* fs.remove("/t/keep")
      expect(memory.readText("/t/keep")).toBeUndefined()
      expect(failure(yield* Effect.flip(fs.remove("/t/a")))).toMatchObject({ errno: "ENOTEMPTY" })
      expect(memory.readText("/t/a/1")).toBe("")
      yield* fs.remove("/t/a", { recursive: true })
      expect(Object.keys(memory.files())).toEqual(["/t/ab"])
      expect(yield* fs.readDirectory("/t")).toEqual(["ab"])
      expect(failure(yield* Effect.flip(fs.remove("/t/a")))).toMatchObject({ reason: "NotFound" })
    })
  )

  it.effect("makeDirectory: recursive creates parents; otherwise the parent must exist and the path must not", () =>
    Effect.gen(function* () {
      const { fs } = yield* memoryFs
      expect(failure(yield* Effect.flip(fs.makeDirectory("/x/y")))).toMatchObject({ reason: "NotFound" })
      yield* fs.makeDirectory("/x/y/z", { recursive: true })
      expect((yield* fs.stat("/x/y")).type).toBe("Directory")
      yield* fs.makeDirectory("/x/y/z", { recursive: true })
      expect(failure(yield* Effect.flip(fs.makeDirectory("/x/y")))).toMatchObject({ errno: "EEXIST" })
      yield* fs.makeDirectory("/m", { mode: 0o700 })
      expect((yield* fs.stat("/m")).mode).toBe(0o700)
    })
  )

  it.effect("symlink: stat and readFile follow it, readLink returns the target, a dangling link is NotFound", () =>
    Effect.gen(function* () {
      const { fs, memory } = yield* memoryFs
      memory.writeText("/data/real.json", "{}", 0o600)
      yield* fs.symlink("/data/real.json", "/data/abs-link")
      yield* fs.symlink("real.json", "/data/rel-link")
      yield* fs.symlink("/data", "/dir-link")
      for (const link of ["/data/abs-link", "/data/rel-link"]) {
        const info = yield* fs.stat(link)
        expect(info.type, link).toBe("File")
        expect(Number(info.size), link).toBe(2)
        expect(info.mode, link).toBe(0o600)
        expect(yield* read(fs, link), link).toBe("{}")
      }
      expect((yield* fs.stat("/dir-link")).type).toBe("Directory")
      expect(yield* fs.readDirectory("/dir-link")).toEqual(["abs-link", "real.json", "rel-link"])
      expect(yield* fs.readLink("/data/rel-link")).toBe("real.json")
      expect(failure(yield* Effect.flip(fs.symlink("x", "/data/abs-link")))).toMatchObject({ errno: "EEXIST" })
      yield* fs.symlink("/nowhere", "/dangling")
      expect(failure(yield* Effect.flip(fs.stat("/dangling")))).toMatchObject({ reason: "NotFound" })
      // files() lists regular files only.
      expect(Object.keys(memory.files())).toEqual(["/data/real.json"])
    })
  )

  it.effect("a path through a symlinked directory resolves (a layout directory that is a symlink)", () =>
    Effect.gen(function* () {
      const { fs, memory } = yield* memoryFs
      memory.writeText("/real/layout/index.json", "{}")
      yield* fs.symlink("/real/layout", "/layout")
      expect((yield* fs.stat("/layout/index.json")).type).toBe("File")
      expect(yield* read(fs, "/layout/index.json")).toBe("{}")
      yield* writeString(fs, "/layout/oci-layout", "x")
      expect(memory.readText("/real/layout/oci-layout")).toBe("x")
    })
  )

  it.effect("modes: writeText defaults to 0644, writeFile to 0666, chmod changes it", () =>
    Effect.gen(function* () {
      const { fs, memory } = yield* memoryFs
      memory.writeText("/m/a", "")
      expect(memory.mode("/m/a")).toBe(0o644)
      yield* writeString(fs, "/m/b", "")
      expect(memory.mode("/m/b")).toBe(0o666)
      yield* writeString(fs, "/m/c", "", { mode: 0o600 })
      expect((yield* fs.stat("/m/c")).mode).toBe(0o600)
      yield* fs.chmod("/m/a", 0o400)
      expect(memory.mode("/m/a")).toBe(0o400)
      expect(memory.mode("/m/none")).toBeUndefined()
      expect(failure(yield* Effect.flip(fs.chmod("/m/none", 0o644)))).toMatchObject({ reason: "NotFound" })
    })
  )

  describe("faults", () => {
    it.effect("fire on the nth call only", () =>
      Effect.gen(function* () {
        const { fs, memory } = yield* memoryFs
        memory.writeText("/f", "x")
        memory.inject("readFile", "EIO", { nth: 2 })
        yield* fs.readFile("/f")
        const error = yield* Effect.flip(fs.readFile("/f"))
        expect(failure(error)).toEqual({ tag: "SystemError", reason: "Unknown", errno: "EIO" })
        yield* fs.readFile("/f")
        yield* fs.readFile("/f")
      })
    )

    it.effect("with nth 0 (the default) fire on every call", () =>
      Effect.gen(function* () {
        const { fs, memory } = yield* memoryFs
        memory.writeText("/f", "x")
        memory.inject("stat", "EACCES")
        for (let i = 0; i < 3; i++) {
          expect(failure(yield* Effect.flip(fs.stat("/f")))).toMatchObject({ reason: "PermissionDenied" })
        }
        memory.clearFaults()
        yield* fs.stat("/f")
      })
    )

    it.effect("with a path count and fire only on that path", () =>
      Effect.gen(function* () {
        const { fs, memory } = yield* memoryFs
        memory.writeText("/a", "")
        memory.writeText("/b", "")
        memory.inject("readFile", "ENOSPC", { nth: 2, path: "/b" })
        yield* fs.readFile("/a")
        yield* fs.readFile("/b")
        yield* fs.readFile("/a")
        yield* fs.readFile("/a")
        expect(errnoOf(yield* Effect.flip(fs.readFile("/b")))).toBe("ENOSPC")
        yield* fs.readFile("/b")
      })
    )

    it.effect("target the operation named: open (write) vs open-read, write, sync, rename, chmod", () =>
      Effect.gen(function* () {
        const { fs, memory } = yield* memoryFs
        memory.writeText("/d/f", "")
        memory.inject("open", "EROFS", { nth: 1 })
        yield* Effect.scoped(fs.open("/d/f"))
        expect(errnoOf(yield* Effect.flip(Effect.scoped(fs.open("/d/f", { flag: "w" }))))).toBe("EROFS")
        memory.inject("write", "ENOSPC", { nth: 2 })
        memory.inject("sync", "EIO", { nth: 1 })
        yield* Effect.scoped(
          Effect.gen(function* () {
            const file = yield* fs.open("/d/f", { flag: "w" })
            yield* file.writeAll(encoder.encode("1"))
            expect(errnoOf(yield* Effect.flip(file.writeAll(encoder.encode("2"))))).toBe("ENOSPC")
            yield* file.writeAll(encoder.encode("3"))
            expect(errnoOf(yield* Effect.flip(file.sync))).toBe("EIO")
            yield* file.sync
          })
        )
        expect(memory.readText("/d/f")).toBe("13")
        memory.inject("rename", "EIO", { nth: 1 })
        memory.inject("chmod", "EPERM", { nth: 1 })
        expect(errnoOf(yield* Effect.flip(fs.rename("/d/f", "/d/g")))).toBe("EIO")
        expect(failure(yield* Effect.flip(fs.chmod("/d/f", 0o600)))).toMatchObject({ reason: "PermissionDenied" })
        yield* fs.rename("/d/f", "/d/g")
        yield* fs.chmod("/d/g", 0o600)
        expect(memory.mode("/d/g")).toBe(0o600)
      })
    )

    it.effect('"hang" never completes, and can be interrupted', () =>
      Effect.gen(function* () {
        const { fs, memory } = yield* memoryFs
        memory.writeText("/f", "x")
        memory.inject("readFile", "hang", { nth: 1 })
        const fiber = yield* Effect.fork(fs.readFile("/f"))
        yield* settle(() => false, 50)
        expect(yield* isDone(fiber)).toBe(false)
        yield* Fiber.interrupt(fiber)
        expect(decoder.decode(yield* fs.readFile("/f"))).toBe("x")
      })
    )

    it.effect("setReadOnly fails every mutation with EROFS and lets reads through, until cleared", () =>
      Effect.gen(function* () {
        const { fs, memory } = yield* memoryFs
        memory.writeText("/d/f", "x")
        memory.setReadOnly(true)
        expect(yield* read(fs, "/d/f")).toBe("x")
        yield* fs.stat("/d/f")
        yield* fs.readDirectory("/d")
        yield* Effect.scoped(fs.open("/d/f"))
        for (const mutation of [
          writeString(fs, "/d/g", "y"),
          writeString(fs, "/d/f", "y"),
          fs.remove("/d/f"),
          fs.rename("/d/f", "/d/h"),
          fs.chmod("/d/f", 0o600),
          fs.makeDirectory("/d/e"),
          fs.symlink("/d/f", "/d/l")
        ]) {
          expect(errnoOf(yield* Effect.flip(mutation))).toBe("EROFS")
        }
        expect(Object.keys(memory.files())).toEqual(["/d/f"])
        expect(memory.readText("/d/f")).toBe("x")
        memory.clearFaults()
        yield* writeString(fs, "/d/f", "y")
        expect(memory.readText("/d/f")).toBe("y")
      })
    )

    it.effect("writeText bypasses faults; calls() records operations in order with normalised paths", () =>
      Effect.gen(function* () {
        const { fs, memory } = yield* memoryFs
        memory.setReadOnly(true)
        memory.writeText("/c/f", "x")
        memory.setReadOnly(false)
        yield* fs.readFile("/c//f")
        yield* fs.stat("/c/./f")
        yield* fs.rename("/c/f", "/c/../c/g")
        yield* Effect.flip(fs.remove("/c/none"))
        expect(memory.calls()).toEqual([
          { op: "readFile", path: "/c/f" },
          { op: "stat", path: "/c/f" },
          { op: "rename", path: "/c/g" },
          { op: "remove", path: "/c/none" }
        ])
      })
    )
  })
})

describe("testing.layerMemoryLock", () => {
  const lockPath = "/l/index.json.lock"
  const lockEnv = Effect.gen(function* () {
    const control = yield* testing.MemoryLock
    const lock = yield* IndexLock.IndexLock
    return { control, lock }
  })

  it.effect("holdExternally takes the lock like another process and reports when it is busy", () =>
    Effect.gen(function* () {
      const { control } = yield* lockEnv
      const external = yield* Scope.make()
      expect(yield* control.holdExternally(lockPath, "shared").pipe(Scope.extend(external))).toBe(true)
      expect(yield* control.holdExternally(lockPath, "shared").pipe(Scope.extend(external))).toBe(true)
      expect(control.holders(lockPath)).toEqual({ shared: 2, exclusive: false })
      expect(yield* Effect.scoped(control.holdExternally(lockPath, "exclusive"))).toBe(false)
      yield* Scope.close(external, Exit.void)
      expect(control.holders(lockPath)).toEqual({ shared: 0, exclusive: false })
      expect(yield* Effect.scoped(control.holdExternally(lockPath, "exclusive"))).toBe(true)
      expect(control.events().map(({ owner, mode, event }) => `${owner} ${mode} ${event}`)).toEqual([
        "external shared acquired",
        "external shared acquired",
        "external shared released",
        "external shared released",
        "external exclusive acquired",
        "external exclusive released"
      ])
      expect(control.holders("/other")).toEqual({ shared: 0, exclusive: false })
    }).pipe(Effect.provide(testing.layerMemoryLock({ timeout: 0 })))
  )

  it.effect("the IndexLock it provides is seen by the controls, and failWith can be lifted", () =>
    Effect.gen(function* () {
      const { control, lock } = yield* lockEnv
      yield* Effect.scoped(
        Effect.gen(function* () {
          yield* lock.acquire(lockPath, "exclusive")
          expect(control.holders(lockPath)).toEqual({ shared: 0, exclusive: true })
          expect(yield* Effect.scoped(control.holdExternally(lockPath, "shared"))).toBe(false)
        })
      )
      expect(control.holders(lockPath)).toEqual({ shared: 0, exclusive: false })
      control.failWith(lockPath, "permission")
      expect(yield* Effect.flip(Effect.scoped(lock.acquire(lockPath, "exclusive")))).toMatchObject({
        _tag: "LockError",
        reason: "permission",
        path: lockPath
      })
      // Shared attempts on an unwritable layout succeed without a lock, as reads on a real disk do.
      yield* Effect.scoped(lock.acquire(lockPath, "shared"))
      control.failWith(lockPath, undefined)
      yield* Effect.scoped(lock.acquire(lockPath, "exclusive"))
      expect(control.events().filter((event) => event.owner === "ocidx")).toHaveLength(4)
    }).pipe(Effect.provide(testing.layerMemoryLock({ timeout: 0 })))
  )

  it.effect("testing.layer wires the memory FileSystem and lock together, fresh per build", () =>
    Effect.gen(function* () {
      const once = yield* Effect.gen(function* () {
        const memory = yield* testing.MemoryFileSystem
        const fs = yield* FileSystem.FileSystem
        yield* fs.makeDirectory("/x")
        return { files: Object.keys(memory.files()), dirs: yield* fs.readDirectory("/") }
      }).pipe(Effect.provide(testing.layer()))
      expect(once.dirs).toEqual(["x"])
      const twice = yield* Effect.map(testing.MemoryFileSystem, (memory) => memory.calls()).pipe(
        Effect.provide(testing.layer())
      )
      expect(twice).toEqual([])
      const standalone = testing.makeMemoryFileSystem()
      expect(standalone.files()).toEqual({})
      expect(Option.isNone(Option.fromNullable(standalone.mode("/nothing")))).toBe(true)
    })
  )
})

describe("testing.layer seeding", () => {
  const sha256 = (content: string) => `sha256:${createHash("sha256").update(content).digest("hex")}`
  const describeBlob = (mediaType: string, content: string) => ({
    mediaType,
    digest: sha256(content),
    size: encoder.encode(content).length
  })
  // A complete one-image layout: an empty config, one layer and the manifest over them.
  const config = "{}"
  const layerContent = "a layer"
  const manifestJson = JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: describeBlob(MediaType.ociEmpty, config),
    layers: [describeBlob(MediaType.ociLayerTar, layerContent)]
  })
  const manifest = describeBlob(MediaType.ociManifest, manifestJson)
  const imageLayout = testing.layer({
    layouts: { "/layout": { blobs: [config, layerContent, manifestJson], tags: { v1: manifest } } }
  })

  const env = (directory = "/layout") =>
    Effect.gen(function* () {
      const layout = yield* Layout.make({ directory })
      const memory = yield* testing.MemoryFileSystem
      const fs = yield* FileSystem.FileSystem
      return { layout, memory, fs }
    })

  it.effect("files and directories are there before the program runs, and calls() starts empty", () =>
    Effect.gen(function* () {
      const { fs, memory } = yield* env()
      expect(yield* fs.readFileString("/etc/app.json")).toBe('{"layout":"/srv/images"}')
      expect(yield* fs.readFile("/data/raw.bin")).toEqual(new Uint8Array([0, 1, 2]))
      expect((yield* fs.stat("/srv/images")).type).toBe("Directory")
      expect(yield* fs.readDirectory("/srv/images")).toEqual([])
      expect(memory.mode("/etc/app.json")).toBe(0o644)
      expect(memory.calls()).toEqual([
        { op: "readFile", path: "/etc/app.json" },
        { op: "readFile", path: "/data/raw.bin" },
        { op: "stat", path: "/srv/images" },
        { op: "readDirectory", path: "/srv/images" }
      ])
    }).pipe(
      Effect.provide(
        testing.layer({
          directories: ["/srv/images"],
          files: { "/etc/app.json": '{"layout":"/srv/images"}', "/data/raw.bin": new Uint8Array([0, 1, 2]) }
        })
      )
    )
  )

  it.effect("layouts: [dir] is an initialised empty layout that verifies ok and takes a put", () =>
    Effect.gen(function* () {
      const { layout, memory, fs } = yield* env()
      expect(memory.readText("/layout/oci-layout")).toBe('{"imageLayoutVersion":"1.0.0"}')
      expect(JSON.parse(memory.readText("/layout/index.json") ?? "")).toEqual({
        schemaVersion: 2,
        mediaType: MediaType.ociIndex,
        manifests: []
      })
      expect(yield* fs.readDirectory("/layout/blobs")).toEqual(["sha256"])
      expect(yield* layout.index.list).toEqual([])
      const report = yield* layout.verify()
      expect(report.ok).toBe(true)
      expect(report.findings.filter((finding) => finding.severity === "error")).toEqual([])
      // Layout.init finds nothing to do on it.
      const before = memory.files()
      yield* layout.init
      expect(memory.files()).toEqual(before)
      yield* layout.index.put(yield* Descriptor.decodeUnknown("test")(manifest), [yield* Reference.tag("v1")])
      expect(Option.map(yield* layout.index.get("v1"), (entry) => entry.digest)).toEqual(Option.some(manifest.digest))
    }).pipe(Effect.provide(testing.layer({ layouts: ["/layout", "/second"] })))
  )

  it.effect(
    "layouts with blobs and tags: the blobs are stored by digest, the tags are entries, verify finds nothing",
    () =>
      Effect.gen(function* () {
        const { layout, memory } = yield* env()
        const [entry, ...rest] = yield* layout.index.list
        expect([entry, ...rest]).toEqual([{ ...manifest, annotations: { [Annotations.refName]: "v1" } }])
        expect(memory.readText(`/layout/blobs/sha256/${manifest.digest.slice("sha256:".length)}`)).toBe(manifestJson)
        const digest = yield* Schema.decode(Digest.Digest)(manifest.digest)
        expect(new TextDecoder().decode(yield* layout.blobs.get(digest))).toBe(manifestJson)
        const report = yield* layout.verify()
        expect(report.findings).toEqual([])
        expect(report.ok).toBe(true)
        expect(report.blobsChecked).toBe(3)
        // The layout is an ordinary one: a put goes through the write protocol under the lock.
        if (entry === undefined) return yield* Effect.die("the seeded entry is missing")
        yield* layout.index.put(entry, [yield* Reference.tag("stable")])
        expect((yield* layout.index.list).map((entry) => Descriptor.annotation(entry, Annotations.refName))).toEqual([
          "v1",
          "stable"
        ])
        const control = yield* testing.MemoryLock
        expect(control.events().filter((event) => event.mode === "exclusive")).toHaveLength(2)
      }).pipe(Effect.provide(imageLayout))
  )

  it.effect("files are laid out after layouts, so a test can break a seeded layout on purpose", () =>
    Effect.gen(function* () {
      const { layout } = yield* env()
      const error = yield* Effect.flip(layout.index.list)
      expect(error).toMatchObject({ _tag: "DecodeError", path: "/layout/index.json" })
    }).pipe(Effect.provide(testing.layer({ layouts: ["/layout"], files: { "/layout/index.json": "{" } })))
  )

  it.effect("each build of the layer is a separate file system: a put in one is not seen by another", () =>
    Effect.gen(function* () {
      const putStable = Effect.gen(function* () {
        const { layout } = yield* env()
        const [entry] = yield* layout.index.list
        if (entry === undefined) return yield* Effect.die("the seeded entry is missing")
        yield* layout.index.put(entry, [yield* Reference.tag("stable")])
        return (yield* layout.index.list).length
      })
      const count = Effect.flatMap(env(), ({ layout }) => Effect.map(layout.index.list, (entries) => entries.length))
      expect(yield* Effect.provide(putStable, imageLayout)).toBe(2)
      expect(yield* Effect.provide(count, imageLayout)).toBe(1)
      // Within one build, the program and a later step share it.
      expect(yield* Effect.provide(Effect.zipRight(putStable, count), imageLayout)).toBe(2)
    })
  )

  it.effect("testing.seed lays out more after the layer was built", () =>
    Effect.gen(function* () {
      yield* testing.seed({ layouts: { "/late": { tags: { v2: manifest } } } })
      const { layout } = yield* env("/late")
      expect(Option.isSome(yield* layout.index.get("v2"))).toBe(true)
      // The manifest's blob was not seeded: verify warns, outside strict mode it is still ok.
      const report = yield* layout.verify()
      expect(report.ok).toBe(true)
      expect(report.findings.map((finding) => finding.severity)).toEqual(["warning"])
    }).pipe(Effect.provide(testing.layer()))
  )

  it.effect("an invalid seed is a defect of the test, naming what is wrong", () =>
    Effect.gen(function* () {
      const badTag = yield* Effect.exit(
        Effect.provide(env(), testing.layer({ layouts: { "/l": { tags: { "-bad": manifest } } } }))
      )
      expect(Exit.isFailure(badTag) && Cause.isDie(badTag.cause)).toBe(true)
      expect(String(Exit.isFailure(badTag) ? Cause.squash(badTag.cause) : "")).toContain("-bad")
      const badDescriptor = yield* Effect.exit(
        Effect.provide(env(), testing.layer({ layouts: { "/l": { tags: { v1: { ...manifest, size: -1 } } } } }))
      )
      expect(Exit.isFailure(badDescriptor) && Cause.isDie(badDescriptor.cause)).toBe(true)
      expect(String(Exit.isFailure(badDescriptor) ? Cause.squash(badDescriptor.cause) : "")).toContain("size")
    })
  )
})
