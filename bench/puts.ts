/**
 * Per-put time through the library on the real disk (durability "full"), at K = 0, 1,000 and 10,000 existing
 * tags, and a batch of 10,000 puts in one `modify`. Run by bench/run.mjs, which prints the table; this
 * program prints one JSON document on its last line.
 *
 * Targets to compare with (issue 6): a Go program using buildkit's protocol took about 39 ms per put
 * in-process at 10k tags; ocidx aims at half that (<= 19.5 ms); 10k puts in one modify in < 1 s.
 */
import * as NodeFs from "node:fs/promises"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import * as Annotations from "@ocidx/core/Annotations"
import { Descriptor } from "@ocidx/core/Descriptor"
import * as ImageIndexOps from "@ocidx/core/ImageIndex"
import type { ImageIndex } from "@ocidx/core/ImageIndex"
import * as StoreIndex from "@ocidx/core/StoreIndex"
import * as NodeServices from "@ocidx/node/NodeServices"
import { Effect, Schema } from "effect"
import { descriptorFor, tagOf } from "../packages/node/test/support/workers/common.js"
import { type BenchResult, summarize } from "./support.js"

const putsPerCase = Number.parseInt(process.env.OCIDX_BENCH_PUTS ?? "40", 10)
const batchSize = 10_000
const decodeDescriptor = Schema.decodeUnknownSync(Descriptor)

const withTempDir = <A, E, R>(f: (dir: string) => Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.promise(() => NodeFs.mkdtemp(NodePath.join(NodeOs.tmpdir(), "ocidx-bench-"))),
    f,
    (dir) => Effect.promise(() => NodeFs.rm(dir, { recursive: true, force: true }))
  )

const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    const started = performance.now()
    return Effect.map(effect, () => performance.now() - started)
  })

/** K tagged entries, written by one modify. */
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

const singlePuts = (existing: number) =>
  withTempDir((directory) =>
    Effect.gen(function* () {
      const store = yield* StoreIndex.make({ directory })
      if (existing > 0) yield* prefill(store, existing)
      const times: Array<number> = []
      for (let i = 0; i < putsPerCase; i++) {
        times.push(yield* timed(store.put(descriptorFor(`put/${i}`), [tagOf(`put-${i}`)])))
      }
      const entries = (yield* store.list).length
      if (entries !== existing + putsPerCase) {
        return yield* Effect.dieMessage(`expected ${existing + putsPerCase} entries, found ${entries}`)
      }
      return summarize(`put, K=${existing.toLocaleString("en-US")} existing tags`, times, {
        target: existing === 10_000 ? "<= 19.5 ms (Go buildkit protocol: ~39 ms)" : undefined
      })
    })
  )

/** 10,000 puts applied with `ImageIndex.putAll` inside one `modify`: one lock, one read, one write. */
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
    return summarize(`batch: ${batchSize.toLocaleString("en-US")} puts in one modify`, [ms], { target: "< 1000 ms" })
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
    return summarize(`batch: StoreIndex.putAll of ${batchSize.toLocaleString("en-US")} inputs`, [ms], {
      target: "< 1000 ms"
    })
  })
)

const program = Effect.gen(function* () {
  const results: Array<BenchResult> = []
  for (const existing of [0, 1_000, 10_000]) results.push(yield* singlePuts(existing))
  results.push(yield* batch)
  results.push(yield* batchFromInput)
  return results
}).pipe(Effect.provide(NodeServices.layer({ durability: "full" })))

Effect.runPromise(program).then(
  (results) => console.log(JSON.stringify({ bench: "puts", results })),
  (error: unknown) => {
    console.error(error)
    process.exitCode = 1
  }
)
