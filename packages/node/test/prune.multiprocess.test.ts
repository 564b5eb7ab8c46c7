/**
 * `Layout.prune` in this process beside writers in other processes, on a real disk with the real flock lock:
 * an ocidx writer that puts an image's blobs and then its tag, and a program that writes as buildkit does. Old
 * entries, seeded first with blobs older than the grace period, are what the prunes really remove meanwhile.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Annotations from "@ocidx/core/Annotations"
import type { Descriptor } from "@ocidx/core/Descriptor"
import * as Layout from "@ocidx/core/Layout"
import * as Reference from "@ocidx/core/Reference"
import { type Child, spawnNode } from "@ocidx/testkit/Processes"
import { tempDir } from "@ocidx/testkit/TempDir"
import { Effect, Either } from "effect"
import { inject } from "vitest"
import * as NodeServices from "../src/NodeServices.js"
import { imageFor } from "./support/workers/common.js"
import { lastLineAs, ImitatorDone, outputOf } from "./support/workerOutput.js"
import { workerScript } from "./support/workerScripts.js"

const workersDir = inject("ocidxWorkersDir")
const putWorker = workerScript(workersDir, "put-worker")
const imitator = workerScript(workersDir, "buildkit-imitator")

const hour = 3_600_000

const tagsOf = (entries: ReadonlyArray<Descriptor>) => entries.map((entry) => entry.annotations?.[Annotations.refName])

/** The layout at `dir`, with `count` images tagged old-0... whose blobs are two hours old. */
const seeded = (dir: string, count: number) =>
  Effect.gen(function* () {
    const layout = yield* Layout.make({ directory: dir }).pipe(Effect.provide(NodeServices.layer()))
    yield* layout.init
    const oldBlobs: Array<string> = []
    for (let i = 0; i < count; i++) {
      const image = imageFor(`old/${i}`)
      for (const blob of image.blobs) {
        yield* layout.blobs.put(blob.bytes)
        oldBlobs.push(blob.digest)
      }
      const tag = Either.getOrThrow(Reference.tag(`old-${i}`))
      yield* layout.index.put(image.manifest, [tag])
    }
    const then = new Date(Date.now() - 2 * hour)
    for (const digest of oldBlobs) NodeFs.utimesSync(NodePath.join(dir, "blobs", ...digest.split(":")), then, then)
    return { layout, oldBlobs }
  })

/** Prunes with `rules` again and again until `worker` has exited; what each prune did, and any failure. */
const pruneUntilExit = (layout: Layout.Layout, worker: Child, rules: Parameters<Layout.Layout["prune"]>[0]) =>
  Effect.gen(function* () {
    const failures: Array<string> = []
    let prunes = 0
    let entriesRemoved = 0
    let blobsRemoved = 0
    while (!(yield* worker.hasExited)) {
      const result = yield* Effect.either(layout.prune(rules))
      if (Either.isLeft(result)) failures.push(`${result.left._tag}: ${result.left.message}`)
      else {
        prunes++
        entriesRemoved += result.right.removed.length
        blobsRemoved += result.right.blobs.length
      }
    }
    const exit = yield* worker.exited
    expect(exit, worker.stderr()).toEqual({ code: 0, signal: null })
    return { failures, prunes, entriesRemoved, blobsRemoved }
  })

const report = (test: string, figures: Record<string, unknown>): Effect.Effect<void> =>
  Effect.sync(() => console.log(`[prune multiprocess] ${test}: ${JSON.stringify(figures)}`))

const problems = (verify: Layout.VerifyReport) =>
  verify.findings
    .filter((finding) => finding.severity !== "info")
    .map((finding) => `${finding.code}: ${finding.message}`)

describe("prune beside writers in other processes", () => {
  it.scopedLive(
    "a writer puts an image's blobs then its tag, 40 times, while prunes run: no tag loses a blob, no prune fails",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const { layout, oldBlobs } = yield* seeded(dir, 5)
        const writer = yield* spawnNode(putWorker, ["--dir", dir, "--prefix", "w", "--count", "40", "--blobs", "true"])
        yield* writer.waitForLine((line) => line.includes('"ready"'))
        // Default grace (1h): the writer's blobs are young until their tag is written.
        const figures = yield* pruneUntilExit(layout, writer, { keepLast: 2 })
        const puts = outputOf(writer).puts
        yield* report("blob put then put", { puts: puts.length, ...figures, failures: figures.failures.length })
        expect(puts.filter((put) => !put.ok)).toEqual([])
        expect(puts).toHaveLength(40)
        // A prune that met a tag whose manifest was gone would have failed with UnreadableManifest.
        expect(figures.failures.slice(0, 3)).toEqual([])
        expect(figures.prunes).toBeGreaterThan(1)
        // The old entries went and gc collected their blobs, which were past the grace period.
        for (const digest of oldBlobs) {
          expect(NodeFs.existsSync(NodePath.join(dir, "blobs", ...digest.split(":")))).toBe(false)
        }
        // Once more now the writer is done: the two newest stay, each with every blob.
        yield* layout.prune({ keepLast: 2 })
        expect(tagsOf(yield* layout.index.list)).toEqual(["w-38", "w-39"])
        expect(problems(yield* layout.verify({ strict: true }))).toEqual([])
      }),
    180_000
  )

  it.scopedLive(
    "a program that writes as buildkit does (ingest/, TryLock, in-place write, unlink) loses none of its tags to prunes beside it",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const { layout, oldBlobs } = yield* seeded(dir, 5)
        const buildkit = yield* spawnNode(imitator, [
          "--dir",
          dir,
          "--prefix",
          "bk",
          "--stop-file",
          NodePath.join(dir, "stop"),
          "--max",
          "40",
          "--blobs",
          "true"
        ])
        // Everything the imitator writes is young: only the old entries are for these prunes to remove.
        const figures = yield* pruneUntilExit(layout, buildkit, { olderThan: "1 hour" })
        const done = lastLineAs(buildkit, ImitatorDone)
        const written = outputOf(buildkit).puts.map((put) => put.tag)
        const present = tagsOf(yield* layout.index.list)
        yield* report("buildkit protocol", {
          ...figures,
          failures: figures.failures.length,
          imitatorPuts: done.puts,
          imitatorBusy: done.busy
        })
        expect(done.errors).toBe(0)
        expect(written).toHaveLength(40)
        expect(figures.failures.slice(0, 3)).toEqual([])
        expect(written.filter((tag) => !present.includes(tag))).toEqual([])
        expect(present.filter((tag) => tag?.startsWith("old-"))).toEqual([])
        for (const digest of oldBlobs) {
          expect(NodeFs.existsSync(NodePath.join(dir, "blobs", ...digest.split(":")))).toBe(false)
        }
        expect(problems(yield* layout.verify({ strict: true }))).toEqual([])
        // gc and prune never touch ingest/, buildkit's writes in flight.
        expect(NodeFs.statSync(NodePath.join(dir, "ingest")).isDirectory()).toBe(true)
      }),
    180_000
  )
})
