/**
 * Puts through the library on the real disk, fsync on (durability "full"): one put at a time into an index of
 * K = 0, 1k, 10k and 100k existing tags (the scaling series), one put at a time into a umoci-built layout
 * holding 10,000 tags (the target: <= half of the 39 ms a Go program using buildkit's protocol took per put in
 * one process), and a batch of 10,000 puts through one `modify` (target: < 1 s).
 */
import * as NodePath from "node:path"
import * as Annotations from "@ocidx/core/Annotations"
import { Descriptor } from "@ocidx/core/Descriptor"
import * as ImageIndexOps from "@ocidx/core/ImageIndex"
import type { ImageIndex } from "@ocidx/core/ImageIndex"
import * as StoreIndex from "@ocidx/core/StoreIndex"
import * as NodeServices from "@ocidx/node/NodeServices"
import { Effect, Schema } from "effect"
import { descriptorFor } from "../packages/node/test/support/workers/common.js"
import { addTags, makeImageLayout, tagOf } from "./lib/fixtures.js"
import {
  formatMs,
  log,
  makeTempDir,
  median,
  removeDir,
  runGroup,
  type ScalingPoint,
  summarize,
  target
} from "./lib/support.js"

const goPerPutMs = 39
const batchSize = 10_000
const decodeDescriptor = Schema.decodeUnknownSync(Descriptor)

const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    const started = performance.now()
    return Effect.map(effect, () => performance.now() - started)
  })

/** K tagged entries, each with its own digest, written by one modify. */
const prefill = (store: StoreIndex.StoreIndex, existing: number) =>
  store.modify((index: ImageIndex) => {
    const manifests = Array.from({ length: existing }, (_, i) =>
      decodeDescriptor({
        ...descriptorFor(`existing/${i}`),
        annotations: { [Annotations.refName]: `existing-${i}` }
      })
    )
    return Effect.succeed([undefined, { ...index, manifests: [...index.manifests, ...manifests] }] as const)
  })

/** `count` puts of new tags, one at a time, through one store (its written-bytes cache warm after the first). */
const putsInto = (directory: string, before: number, count: number, prefix: string) =>
  Effect.gen(function* () {
    const store = yield* StoreIndex.make({ directory })
    const times: Array<number> = []
    for (let i = 0; i < count; i++) {
      times.push(yield* timed(store.put(descriptorFor(`${prefix}/${i}`), [tagOf(`${prefix}-${i}`)])))
    }
    const after = (yield* store.list).length
    if (after !== before + count) return yield* Effect.dieMessage(`expected ${before + count} entries, found ${after}`)
    return times
  })

/** The same, with a new store (so a cold read and parse of index.json) for every put. */
const coldPutsInto = (directory: string, count: number, prefix: string) =>
  Effect.gen(function* () {
    const times: Array<number> = []
    for (let i = 0; i < count; i++) {
      const store = yield* StoreIndex.make({ directory })
      times.push(yield* timed(store.put(descriptorFor(`${prefix}/${i}`), [tagOf(`${prefix}-${i}`)])))
    }
    return times
  })

const withTempDir = <A, E, R>(f: (dir: string) => Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => makeTempDir("ocidx-bench-puts-")),
    f,
    (dir) => Effect.sync(() => removeDir(dir))
  )

const singlePuts = (existing: number, count: number) =>
  withTempDir((directory) =>
    Effect.gen(function* () {
      const store = yield* StoreIndex.make({ directory })
      if (existing > 0) yield* prefill(store, existing)
      return yield* putsInto(directory, existing, count, "put")
    })
  )

const batch = withTempDir((directory) =>
  Effect.gen(function* () {
    const store = yield* StoreIndex.make({ directory })
    const requests = Array.from({ length: batchSize }, (_, i) => ({
      descriptor: decodeDescriptor(descriptorFor(`batch/${i}`)),
      names: [tagOf(`batch-${i}`)]
    }))
    const ms = yield* timed(
      store.modify((index: ImageIndex) =>
        Effect.succeed([undefined, ImageIndexOps.putAll(index, requests).index] as const)
      )
    )
    const entries = (yield* store.list).length
    if (entries !== batchSize) return yield* Effect.dieMessage(`expected ${batchSize} entries, found ${entries}`)
    return ms
  })
)

/** The same batch through `StoreIndex.putAll`, which also validates each descriptor given to it. */
const batchFromInput = withTempDir((directory) =>
  Effect.gen(function* () {
    const store = yield* StoreIndex.make({ directory })
    const requests = Array.from({ length: batchSize }, (_, i) => ({
      descriptor: descriptorFor(`batch/${i}`),
      names: [tagOf(`batch-${i}`)]
    }))
    const ms = yield* timed(store.putAll(requests))
    const entries = (yield* store.list).length
    if (entries !== batchSize) return yield* Effect.dieMessage(`expected ${batchSize} entries, found ${entries}`)
    return ms
  })
)

const run = <A, E>(effect: Effect.Effect<A, E, NodeServices.NodeServices>) =>
  Effect.runPromise(effect.pipe(Effect.provide(NodeServices.layer({ durability: "full" }))))

await runGroup("puts", async ({ measurements, scaling, targets }) => {
  // --- the target: a umoci-built layout with 10,000 tags ---------------------------------------------------------
  const root = makeTempDir("ocidx-bench-puts-")
  try {
    const dir = NodePath.join(root, "tags")
    const { builtBy, manifest } = makeImageLayout(dir, { layers: 1, layerBytes: 64 * 1024 })
    await addTags(dir, manifest, 10_000, "tag")
    log("put into the 10,000-tag layout: 60 puts in one process")
    const times = await run(putsInto(dir, 10_000 + 1, 60, "lib"))
    const cold = await run(coldPutsInto(dir, 20, "cold"))
    measurements.push(
      summarize("library put, 10k-tag layout, fsync (one store)", times, `layout built by ${builtBy}`),
      summarize(
        "library put, 10k-tag layout, fsync (new store per put)",
        cold,
        "cold cache: index.json parsed each time"
      )
    )
    const ms = median(times)
    targets.push(
      target({
        id: "library put, 10k tags, fsync",
        target: `<= 19.5 ms (half of Go's ${goPerPutMs} ms)`,
        measured: formatMs(ms),
        ratio: ms / goPerPutMs,
        ratioOf: "ocidx / Go buildkit protocol (39 ms, measured elsewhere)",
        limit: 0.5
      })
    )
  } finally {
    removeDir(root)
  }

  // --- per-put cost against the size of the index ----------------------------------------------------------------
  for (const [existing, count] of [
    [0, 40],
    [1_000, 40],
    [10_000, 40],
    [100_000, 12]
  ] as const) {
    log(`${count} puts at K = ${existing}`)
    const times = await run(singlePuts(existing, count))
    const summary = summarize(`library put, K=${existing.toLocaleString("en-US")} existing tags, fsync`, times)
    measurements.push(summary)
    const point: ScalingPoint = {
      series: "library put (fsync), per put",
      x: existing,
      unit: "tags",
      medianMs: summary.medianMs
    }
    scaling.push(point)
  }

  // --- batch -----------------------------------------------------------------------------------------------------
  log("batch of 10,000 puts")
  const batchTimes: Array<number> = []
  const inputTimes: Array<number> = []
  for (let i = 0; i < 5; i++) {
    batchTimes.push(await run(batch))
    inputTimes.push(await run(batchFromInput))
  }
  measurements.push(
    summarize("batch: 10,000 puts (ImageIndex.putAll) in one modify", batchTimes),
    summarize("batch: StoreIndex.putAll of 10,000 undecoded inputs", inputTimes)
  )
  const batchMs = median(batchTimes)
  targets.push(
    target({
      id: "batch of 10k puts in one modify",
      target: "< 1 s",
      measured: formatMs(batchMs),
      ratio: batchMs / 1000,
      ratioOf: "ocidx / 1 s",
      limit: 1,
      strict: true
    })
  )
})
