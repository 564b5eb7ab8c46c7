import { describe, expect, it, vi } from "@effect/vitest"
import * as Annotations from "@ocidx/core/Annotations"
import * as Durability from "@ocidx/core/Durability"
import type { IoReason } from "@ocidx/core/Errors"
import type * as testing from "@ocidx/core/testing"
import { Effect, Either, Fiber, Random, TestClock } from "effect"
import {
  type Env,
  type StoreError,
  directory,
  entryTexts,
  env,
  fileBytes,
  fileText,
  free,
  indexJson,
  indexPath,
  layoutContent,
  layoutPath,
  lockPath,
  manifest,
  provideFresh,
  rawEntry,
  refNameOf,
  seedLayout,
  settle,
  strayFiles,
  tag,
  writes
} from "./support/store.js"

const refName = Annotations.refName
const oldIndex = indexJson([rawEntry("a", { [refName]: "v1" }, { "x-vendor": 1 }), rawEntry("b", { [refName]: "v2" })])

/** The three kinds of write, each changing the index seeded as `oldIndex`. */
const writeOps: ReadonlyArray<{
  readonly label: string
  readonly run: (env: Env) => Effect.Effect<unknown, StoreError>
}> = [
  { label: "put", run: ({ store }) => store.put(manifest("c"), [tag("v3")]) },
  { label: "remove", run: ({ store }) => store.remove(["v1"]) },
  {
    label: "modify",
    run: ({ store }) =>
      store.modify((index) => Effect.succeed([undefined, { ...index, manifests: index.manifests.slice(1) }] as const))
  }
]

/** The old index is there, byte for byte, decodes, and nothing else was left in the layout; the lock is free. */
const expectUntouched = ({ memory, lock, store }: Env, before: string | undefined): Effect.Effect<void, StoreError> =>
  Effect.gen(function* () {
    expect(fileBytes(memory, indexPath)).toEqual(before)
    expect(strayFiles(memory)).toEqual([])
    expect(lock.holders(lockPath)).toEqual(free)
    expect((yield* store.list).map(refNameOf)).toEqual(["v1", "v2"])
  })

interface FaultCase {
  readonly name: string
  readonly op: testing.FaultOp
  readonly errno: testing.Errno
  readonly nth?: number
  readonly path?: string
  readonly reason: IoReason
  /** Whether oci-layout exists before the write (when not, the first file written is oci-layout). */
  readonly withLayout?: boolean
  readonly errorPath?: string
}

const faults: ReadonlyArray<FaultCase> = [
  { name: "open of the temp file (EIO)", op: "open", errno: "EIO", nth: 1, reason: "io" },
  { name: "open of the temp file (ENOSPC)", op: "open", errno: "ENOSPC", nth: 1, reason: "no-space" },
  { name: "open of the temp file (EROFS)", op: "open", errno: "EROFS", nth: 1, reason: "read-only" },
  { name: "open of the temp file (EACCES)", op: "open", errno: "EACCES", nth: 1, reason: "permission" },
  { name: "first write (ENOSPC)", op: "write", errno: "ENOSPC", nth: 1, reason: "no-space" },
  { name: "first write (EIO)", op: "write", errno: "EIO", nth: 1, reason: "io" },
  {
    name: "first write, of a new oci-layout (ENOSPC)",
    op: "write",
    errno: "ENOSPC",
    nth: 1,
    reason: "no-space",
    withLayout: false,
    errorPath: layoutPath
  },
  {
    name: "second write, of index.json after oci-layout (EIO)",
    op: "write",
    errno: "EIO",
    nth: 2,
    reason: "io",
    withLayout: false
  },
  { name: "fsync of the temp file (EIO)", op: "sync", errno: "EIO", nth: 1, reason: "io" },
  { name: "fsync of the temp file (ENOSPC)", op: "sync", errno: "ENOSPC", nth: 1, reason: "no-space" },
  { name: "chmod of the temp file (EPERM)", op: "chmod", errno: "EPERM", nth: 1, reason: "permission" },
  { name: "rename (EIO)", op: "rename", errno: "EIO", nth: 1, reason: "io" },
  { name: "rename (EROFS)", op: "rename", errno: "EROFS", nth: 1, reason: "read-only" },
  { name: "rename (ENOSPC)", op: "rename", errno: "ENOSPC", nth: 1, reason: "no-space" },
  // The first stat of index.json checks, while reading, that it is a regular file; the second reads its mode.
  { name: "stat of index.json for its mode (EIO)", op: "stat", errno: "EIO", nth: 2, path: indexPath, reason: "io" }
]

describe("StoreIndex write protocol", () => {
  describe("a failing step leaves the old index.json, no temp file and a free lock", () => {
    it.effect.each(faults)("$name", (fault) =>
      Effect.gen(function* () {
        const world = yield* env
        const { memory } = world
        for (const op of writeOps) {
          memory.clearFaults()
          seedLayout(memory, oldIndex, fault.withLayout === false ? null : layoutContent)
          if (fault.withLayout === false) yield* removeLayout(memory)
          const before = fileBytes(memory, indexPath)
          memory.inject(fault.op, fault.errno, {
            ...(fault.nth === undefined ? {} : { nth: fault.nth }),
            ...(fault.path === undefined ? {} : { path: fault.path })
          })
          const error = yield* Effect.flip(op.run(world))
          expect(error, op.label).toMatchObject({
            _tag: "WriteError",
            reason: fault.reason,
            path: fault.errorPath ?? indexPath
          })
          // oci-layout is there only if it was before: one the failed write created is removed with it.
          expect(fileText(memory, layoutPath), op.label).toBe(fault.withLayout === false ? undefined : layoutContent)
          memory.clearFaults()
          yield* expectUntouched(world, before)
          // After the fault is gone the same write succeeds.
          yield* op.run(world)
          expect(entryTexts(memory), op.label).not.toEqual(before === undefined ? [] : entryTextsOf(before))
          expect(strayFiles(memory)).toEqual([])
          expect(fileText(memory, layoutPath)).toBe(layoutContent)
        }
      }).pipe(provideFresh())
    )

    it.effect("a read-only file system: WriteError read-only, nothing changed", () =>
      Effect.gen(function* () {
        const world = yield* env
        const { memory } = world
        seedLayout(memory, oldIndex)
        const before = fileBytes(memory, indexPath)
        memory.setReadOnly(true)
        for (const op of writeOps) {
          const error = yield* Effect.flip(op.run(world))
          expect(error, op.label).toMatchObject({ _tag: "WriteError", reason: "read-only", path: indexPath })
          yield* expectUntouched(world, before)
        }
      }).pipe(provideFresh())
    )

    it.effect("a failing read of index.json: ReadError io, nothing written", () =>
      Effect.gen(function* () {
        const world = yield* env
        const { memory } = world
        seedLayout(memory, oldIndex)
        const before = fileBytes(memory, indexPath)
        for (const op of writeOps) {
          memory.inject("readFile", "EIO", { path: indexPath, nth: 1 })
          const error = yield* Effect.flip(op.run(world))
          expect(error, op.label).toMatchObject({ _tag: "ReadError", reason: "io", path: indexPath })
          expect(writes(memory)).toEqual([])
          memory.clearFaults()
          yield* expectUntouched(world, before)
        }
      }).pipe(provideFresh())
    )
  })

  describe("after the rename", () => {
    // The contract (StoreIndex.WriteFailure, WriteError's message): when a write fails, the index on disk is
    // the one that was there before. A failed directory fsync comes after the rename.
    it.effect.each([
      { name: "fsync of the directory fails", op: "sync" as const },
      { name: "opening the directory to fsync it fails", op: "open-read" as const }
    ])("$name: the write fails and index.json is the old one", ({ op }) =>
      Effect.gen(function* () {
        const world = yield* env
        const { memory } = world
        seedLayout(memory, oldIndex)
        const before = fileBytes(memory, indexPath)
        memory.inject(op, "EIO", { path: directory })
        const result = yield* Effect.either(world.store.put(manifest("c"), [tag("v3")]))
        memory.clearFaults()
        expect(Either.isLeft(result) && result.left).toMatchObject({ _tag: "WriteError", reason: "io" })
        yield* expectUntouched(world, before)
      }).pipe(provideFresh())
    )
  })

  describe("interruption", () => {
    it.effect("a put hanging in rename, interrupted: old index intact, temp removed, lock free", () =>
      Effect.gen(function* () {
        const world = yield* env
        const { memory, lock } = world
        seedLayout(memory, oldIndex)
        const before = fileBytes(memory, indexPath)
        memory.inject("rename", "hang", { path: indexPath })
        const fiber = yield* Effect.fork(world.store.put(manifest("c"), [tag("v3")]))
        yield* settle(() => memory.calls().some((call) => call.op === "rename"))
        expect(memory.calls().filter((call) => call.op === "rename")).toEqual([{ op: "rename", path: indexPath }])
        expect(lock.holders(lockPath)).toEqual({ shared: 0, exclusive: true })
        expect(strayFiles(memory)).toHaveLength(1) // the temp file, complete, waiting to be renamed
        yield* Fiber.interrupt(fiber)
        memory.clearFaults()
        yield* expectUntouched(world, before)
        yield* world.store.put(manifest("c"), [tag("v3")])
        expect((yield* world.store.list).map(refNameOf)).toEqual(["v1", "v2", "v3"])
      }).pipe(provideFresh())
    )

    it.effect("a put hanging in rename, timed out: TimeoutException, old index intact, lock free", () =>
      Effect.gen(function* () {
        const world = yield* env
        const { memory } = world
        seedLayout(memory, oldIndex)
        const before = fileBytes(memory, indexPath)
        memory.inject("rename", "hang")
        const fiber = yield* Effect.fork(world.store.put(manifest("c"), [tag("v3")]).pipe(Effect.timeout("5 seconds")))
        yield* TestClock.adjust("4 seconds")
        expect(yield* Fiber.poll(fiber)).toEqual(expect.objectContaining({ _tag: "None" }))
        yield* TestClock.adjust("1 second")
        const error = yield* Effect.flip(Fiber.join(fiber))
        expect(error._tag).toBe("TimeoutException")
        memory.clearFaults()
        yield* expectUntouched(world, before)
      }).pipe(provideFresh())
    )

    it.effect("a put hanging in the temp file's fsync, interrupted: nothing left behind", () =>
      Effect.gen(function* () {
        const world = yield* env
        const { memory } = world
        seedLayout(memory, oldIndex)
        const before = fileBytes(memory, indexPath)
        memory.inject("sync", "hang", { nth: 1 })
        const fiber = yield* Effect.fork(world.store.remove(["v2"]))
        yield* settle(() => memory.calls().some((call) => call.op === "sync"))
        yield* Fiber.interrupt(fiber)
        memory.clearFaults()
        yield* expectUntouched(world, before)
      }).pipe(provideFresh())
    )
  })

  describe("a malformed index.json is never overwritten", () => {
    const variants: ReadonlyArray<{
      readonly name: string
      readonly content: string | Uint8Array
      readonly reason: "json" | "utf8" | "schema"
      readonly issuePath: ReadonlyArray<string | number>
    }> = [
      { name: "truncated JSON", content: oldIndex.slice(0, 60), reason: "json", issuePath: [] },
      { name: "a NUL byte", content: Uint8Array.of(0), reason: "json", issuePath: [] },
      { name: "invalid UTF-8", content: Uint8Array.of(0x7b, 0xff, 0xfe, 0x7d), reason: "utf8", issuePath: [] },
      {
        name: "schemaVersion 1",
        content: JSON.stringify({ schemaVersion: 1, manifests: [] }),
        reason: "schema",
        issuePath: ["schemaVersion"]
      },
      {
        name: "a bad digest",
        content: indexJson([rawEntry("a", { [refName]: "v1" }), { ...rawEntry("b"), digest: "sha256:0123" }]),
        reason: "schema",
        issuePath: ["manifests", 1, "digest"]
      },
      {
        name: "manifests that are not an array",
        content: JSON.stringify({ schemaVersion: 2, manifests: { a: 1 } }),
        reason: "schema",
        issuePath: ["manifests"]
      },
      { name: "a JSON array", content: "[]", reason: "schema", issuePath: [] }
    ]

    it.effect.each(variants)("$name: DecodeError, bytes identical", (variant) =>
      Effect.gen(function* () {
        const world = yield* env
        const { memory, lock, store } = world
        seedLayout(memory, variant.content)
        const before = fileBytes(memory, indexPath)
        let called = 0
        const ops = [
          ...writeOps,
          {
            label: "modify (f must not run)",
            run: ({ store }: Env) =>
              store.modify((index) => Effect.sync(() => [called++, { ...index, manifests: [] }] as const))
          },
          { label: "read", run: ({ store }: Env) => store.read }
        ]
        for (const op of ops) {
          const error = yield* Effect.flip(op.run(world))
          expect(error, op.label).toMatchObject({ _tag: "DecodeError", reason: variant.reason, path: indexPath })
          if (variant.issuePath.length > 0 && error._tag === "DecodeError") {
            expect(
              error.issues.map((issue) => issue.path),
              op.label
            ).toContainEqual(variant.issuePath)
          }
          expect(fileBytes(memory, indexPath), op.label).toEqual(before)
          expect(lock.holders(lockPath)).toEqual(free)
        }
        expect(called).toBe(0)
        expect(writes(memory)).toEqual([])
        expect(strayFiles(memory)).toEqual([])
        const readError = yield* Effect.flip(store.get("v1"))
        expect(readError._tag).toBe("DecodeError")
      }).pipe(provideFresh())
    )
  })

  describe("oci-layout", () => {
    it.effect("an imageLayoutVersion of 2.0.0 makes every write fail with unsupported-version, writing nothing", () =>
      Effect.gen(function* () {
        const world = yield* env
        const { memory, lock, store } = world
        seedLayout(memory, oldIndex, `{"imageLayoutVersion":"2.0.0"}`)
        const before = memory.files()
        for (const op of writeOps) {
          const error = yield* Effect.flip(op.run(world))
          expect(error, op.label).toMatchObject({
            _tag: "DecodeError",
            reason: "unsupported-version",
            path: layoutPath
          })
          expect(error._tag === "DecodeError" && error.issues.map((issue) => issue.path)).toEqual([
            ["imageLayoutVersion"]
          ])
          expect(lock.holders(lockPath)).toEqual(free)
        }
        expect(writes(memory)).toEqual([])
        expect(memory.files()).toEqual(before)
        // Reading such a layout is still allowed.
        expect((yield* store.list).map(refNameOf)).toEqual(["v1", "v2"])
      }).pipe(provideFresh())
    )

    it.effect("an oci-layout changed to 2.0.0 after a write fails the same store's next write", () =>
      Effect.gen(function* () {
        const world = yield* env
        const { memory, store } = world
        seedLayout(memory, oldIndex)
        yield* store.put(manifest("c"), [tag("v3")])
        memory.writeText(layoutPath, `{"imageLayoutVersion":"2.0.0"}`)
        const before = memory.files()
        for (const op of writeOps) {
          const error = yield* Effect.flip(op.run(world))
          expect(error, op.label).toMatchObject({ _tag: "DecodeError", reason: "unsupported-version" })
        }
        expect(memory.files()).toEqual(before)
      }).pipe(provideFresh())
    )

    it.effect.each([
      { name: "not JSON", content: "{", reason: "json" },
      { name: "a version that is not a string", content: `{"imageLayoutVersion":1}`, reason: "schema" },
      { name: "no version", content: "{}", reason: "schema" }
    ])("an oci-layout that is $name is a DecodeError and nothing is written", ({ content, reason }) =>
      Effect.gen(function* () {
        const world = yield* env
        const { memory } = world
        seedLayout(memory, oldIndex, content)
        const before = memory.files()
        const error = yield* Effect.flip(world.store.put(manifest("c"), [tag("v3")]))
        expect(error).toMatchObject({ _tag: "DecodeError", reason, path: layoutPath })
        expect(writes(memory)).toEqual([])
        expect(memory.files()).toEqual(before)
      }).pipe(provideFresh())
    )

    it.effect("version 1.0.0 with extra fields is accepted and left unchanged", () =>
      Effect.gen(function* () {
        const world = yield* env
        const { memory } = world
        const layout = `{ "imageLayoutVersion": "1.0.0", "x-vendor": {"made-by": "someone"} }\n`
        seedLayout(memory, oldIndex, layout)
        memory.writeText(layoutPath, layout, 0o600)
        for (const op of writeOps) yield* op.run(world)
        expect(fileText(memory, layoutPath)).toBe(layout)
        expect(memory.mode(layoutPath)).toBe(0o600)
        // Read (a stat that refuses links and FIFOs, then the bytes), never written, moved or chmod-ed.
        expect(
          memory.calls().filter((call) => call.path === layoutPath && call.op !== "readFile" && call.op !== "stat")
        ).toEqual([])
      }).pipe(provideFresh())
    )

    it.effect("a missing oci-layout is created atomically before index.json is replaced", () =>
      Effect.gen(function* () {
        const world = yield* env
        const { memory } = world
        seedLayout(memory, oldIndex, null)
        yield* world.store.put(manifest("c"), [tag("v3")])
        expect(fileText(memory, layoutPath)).toBe(layoutContent)
        expect(memory.calls().filter((call) => call.op === "rename")).toEqual([
          { op: "rename", path: layoutPath },
          { op: "rename", path: indexPath }
        ])
      }).pipe(provideFresh())
    )
  })

  describe("durability", () => {
    it.effect("by default the temp file and the directory are fsynced, in protocol order", () =>
      Effect.gen(function* () {
        const world = yield* env
        const { memory } = world
        seedLayout(memory, oldIndex)
        yield* world.store.put(manifest("c"), [tag("v3")])
        const steps = memory.calls().filter((call) => call.op !== "readFile" && call.op !== "stat")
        const temp = steps[0]?.path ?? ""
        expect(temp).toMatch(/^\/layout\/\.index\.json\..+\.ocidx-tmp$/)
        expect(steps).toEqual([
          { op: "open", path: temp },
          { op: "write", path: temp },
          { op: "sync", path: temp },
          { op: "chmod", path: temp },
          { op: "rename", path: indexPath },
          { op: "open-read", path: directory },
          { op: "sync", path: directory }
        ])
      }).pipe(provideFresh())
    )

    it.effect('with CurrentDurability "none" no sync is made, and the write is still atomic', () =>
      Effect.gen(function* () {
        const world = yield* env
        const { memory } = world
        seedLayout(memory, oldIndex, null)
        yield* world.store
          .put(manifest("c"), [tag("v3")])
          .pipe(Effect.provideService(Durability.CurrentDurability, "none"))
        yield* world.store.remove(["v1"]).pipe(Effect.provideService(Durability.CurrentDurability, "none"))
        expect(memory.calls().filter((call) => call.op === "sync")).toEqual([])
        expect(
          memory
            .calls()
            .filter((call) => call.op === "rename")
            .map((call) => call.path)
        ).toEqual([layoutPath, indexPath, indexPath])
        expect((yield* world.store.list).map(refNameOf)).toEqual(["v2", "v3"])
      }).pipe(provideFresh())
    )
  })

  describe("temp files", () => {
    it.scoped("a temp-name collision (open wx fails: EEXIST) never deletes the other writer's file", () =>
      Effect.gen(function* () {
        const world = yield* env
        const { memory } = world
        seedLayout(memory, oldIndex)
        const before = fileBytes(memory, indexPath)
        // Same random token and same millisecond: both attempts pick the same temp name.
        yield* Effect.acquireRelease(
          Effect.sync(() => vi.spyOn(Date, "now").mockReturnValue(1_700_000_000_000)),
          (spy) => Effect.sync(() => spy.mockRestore())
        )
        // A fresh generator per attempt (one Random instance carries its state from run to run).
        const put = Effect.suspend(() =>
          world.store.put(manifest("c"), [tag("v3")]).pipe(Effect.withRandom(Random.make("collide")))
        )
        memory.inject("write", "EIO", { nth: 1 })
        yield* Effect.flip(put)
        memory.clearFaults()
        const tempPath = memory.calls().find((call) => call.op === "open")?.path ?? ""
        expect(tempPath).toMatch(/\.ocidx-tmp$/)
        // Another process is writing its temp file under that very name.
        memory.writeText(tempPath, "another writer's temp file")
        const result = yield* Effect.either(put)
        // The second attempt really did pick the same name.
        expect(memory.calls().filter((call) => call.op === "open" && call.path === tempPath)).toHaveLength(2)
        expect(memory.readText(tempPath)).toBe("another writer's temp file")
        if (Either.isLeft(result)) {
          expect(fileBytes(memory, indexPath)).toEqual(before)
        } else {
          expect((yield* world.store.list).map(refNameOf)).toEqual(["v1", "v2", "v3"])
        }
      }).pipe(provideFresh())
    )
  })
})

/** Removes oci-layout (a previous successful write created it). */
const removeLayout = (memory: testing.MemoryFileSystem): Effect.Effect<void> =>
  memory.readText(layoutPath) === undefined ? Effect.void : Effect.orDie(memory.fileSystem.remove(layoutPath))

const entryTextsOf = (bytes: string): ReadonlyArray<string> => {
  const parsed = JSON.parse(bytes)
  return Array.isArray(parsed.manifests) ? parsed.manifests.map((entry: unknown) => JSON.stringify(entry)) : []
}
