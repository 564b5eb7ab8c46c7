/**
 * `Layout.prune` and `Layout.sizes`: the entries of an index with their ages and the blobs each reaches (from
 * the graph walk gc uses), the policy applied under the exclusive lock, then gc.
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import * as Option from "effect/Option"
import type { Descriptor } from "../../Descriptor.js"
import type { Digest } from "../../Digest.js"
import { ReadError, UnreadableManifest } from "../../Errors.js"
import type { ImageIndex } from "../../ImageIndex.js"
import type { Content, ContentFailure } from "../../Layout.js"
import type { Entry, EntrySize, PruneOptions, PruneReport } from "../../Prune.js"
import type { IndexSource } from "../../StoreIndex.js"
import * as Gc from "../gc.js"
import { isNotFound } from "../platformError.js"
import * as Walk from "../walk.js"
import * as Policy from "./policy.js"

/** How many manifest reads each entry's walk keeps in flight, as gc does. */
const ioConcurrency = 8

/** A manifest blob's mtime in milliseconds; none when the blob is missing. */
const mtimeOf = (deps: Gc.Deps, digest: Digest) => {
  const file = deps.blobs.pathOf(digest)
  return deps.fs.stat(file).pipe(
    Effect.map((info) => Option.getOrUndefined(Option.map(info.mtime, (date) => date.getTime()))),
    Effect.catchIf(isNotFound, () => Effect.succeed(undefined)),
    Effect.mapError(ReadError.fromPlatformError(file))
  )
}

/**
 * Each entry of `index` with its manifest's mtime and every blob it reaches. Shared manifests are read once.
 * A manifest that cannot be read fails, as it fails gc: what it references is unknown.
 * @internal
 */
export const entriesOf = (
  deps: Gc.Deps,
  index: ImageIndex,
  operation: "prune" | "sizes",
  options?: { readonly force?: boolean | undefined }
) =>
  Effect.gen(function* () {
    const reads = new Map<Digest, Either.Either<Content, ContentFailure>>()
    const content = (descriptor: Descriptor): Effect.Effect<Content, ContentFailure> => {
      const read = reads.get(descriptor.digest)
      if (read !== undefined) return read
      return Effect.either(deps.content(descriptor)).pipe(
        Effect.tap((result) => Effect.sync(() => reads.set(descriptor.digest, result))),
        Effect.flatten
      )
    }
    const reached = new Map<Digest, ReadonlyMap<string, number>>()
    const entries: Array<Entry> = []
    for (const [position, descriptor] of index.manifests.entries()) {
      let blobs = reached.get(descriptor.digest)
      if (blobs === undefined) {
        const found = yield* Walk.reachable(
          [descriptor],
          content,
          (unreadable, error) =>
            options?.force
              ? Effect.void
              : Effect.fail(
                  new UnreadableManifest({
                    path: deps.blobs.pathOf(unreadable.digest),
                    digest: unreadable.digest,
                    operation,
                    cause: error
                  })
                ),
          {
            indexPath: deps.index.indexPath,
            // Too deep, what lies below is unknown, as for gc; a claimed cycle leaves the set whole.
            onGraphError: (error) =>
              error.reason === "too-deep" && !options?.force ? Effect.fail(error) : Effect.void,
            concurrency: ioConcurrency
          }
        )
        const sizes = new Map<string, number>()
        for (const [digest, reachable] of found) sizes.set(digest, reachable.size)
        blobs = sizes
        reached.set(descriptor.digest, blobs)
      }
      entries.push({ descriptor, position, mtime: yield* mtimeOf(deps, descriptor.digest), blobs })
    }
    return entries
  })

/** A sweep must not take a missing or blank index.json for an empty one. */
const checkSource = (deps: Gc.Deps, source: IndexSource, force: boolean) => {
  if (source.kind === "missing") return Effect.fail(new ReadError({ path: deps.index.indexPath, reason: "not-found" }))
  if (source.kind === "blank" && !force) return Effect.fail(Gc.blankIndex(deps.index.indexPath))
  return Effect.void
}

/** The entries the rules remove from `current`, and the index without them (`current` itself when none). */
const plan = (deps: Gc.Deps, options: PruneOptions, current: ImageIndex, source: IndexSource) =>
  Effect.gen(function* () {
    yield* checkSource(deps, source, options.force ?? false)
    const entries = yield* entriesOf(deps, current, "prune", options)
    // File mtimes come from the real clock, so ages are measured against it, as gc measures its grace.
    const chosen = Policy.select(entries, options, Date.now())
    const positions = new Set(chosen.map((entry) => entry.position))
    const next: ImageIndex =
      chosen.length === 0
        ? current
        : { ...current, manifests: current.manifests.filter((_, position) => !positions.has(position)) }
    return { removed: chosen.map((entry) => entry.descriptor), next }
  })

/** @internal */
export const run = (deps: Gc.Deps, options: PruneOptions) =>
  Effect.gen(function* () {
    const gcOptions = { grace: options.grace, force: options.force }
    if (options.dryRun) {
      // One index seen throughout, and nothing written: gc's dry run over the index the prune would write.
      return yield* deps.index.inspect((current, source) =>
        Effect.gen(function* () {
          const { next, removed } = yield* plan(deps, options, current, source)
          const swept = yield* Gc.sweeper(deps, { ...gcOptions, dryRun: true })(next, source)
          const report: PruneReport = { removed, blobs: swept.removed, bytes: swept.bytes, dryRun: true }
          return report
        })
      )
    }
    // The policy runs on the index read under the exclusive lock: an entry put meanwhile is judged with the
    // rest, and one put after the write is never seen. index.json is written before any blob goes, so a crash
    // between the two leaves unreferenced blobs, never an entry without its blobs.
    const removed = yield* deps.index.modify((current, source) =>
      Effect.map(plan(deps, options, current, source), ({ next, removed }) => [removed, next] as const)
    )
    // gc takes the lock again and reads the index afresh: what a writer added since is reachable, and what it
    // put but has not tagged yet is younger than the grace period.
    const swept = yield* Gc.run(deps, gcOptions)
    const report: PruneReport = { removed, blobs: swept.removed, bytes: swept.bytes, dryRun: false }
    return report
  })

/** @internal */
export const sizes = (deps: Gc.Deps) =>
  deps.index.inspect((current) =>
    Effect.map(entriesOf(deps, current, "sizes"), (entries): ReadonlyArray<EntrySize> => Policy.sizes(entries))
  )
