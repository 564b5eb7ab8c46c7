/**
 * The graph of a layout: which descriptors a manifest or index points at, and everything reachable from
 * a set of roots.
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { Descriptor } from "../Descriptor.js"
import type { Digest } from "../Digest.js"
import { GraphError, maxGraphDepth } from "../Errors.js"
import type { Content, ContentFailure } from "../Layout.js"
import * as MediaType from "../MediaType.js"

/** The descriptors a piece of content references directly. @internal */
export const children = (content: Content): ReadonlyArray<Descriptor> => {
  switch (content._tag) {
    case "Index":
      return [...content.index.manifests, ...(content.index.subject ? [content.index.subject] : [])]
    case "Manifest":
      return [
        content.manifest.config,
        ...content.manifest.layers,
        ...(content.manifest.subject ? [content.manifest.subject] : [])
      ]
    case "Other":
      return []
  }
}

/** Whether a descriptor's blob must be read to know what it references. @internal */
export const hasChildren = (descriptor: Descriptor): boolean =>
  MediaType.isIndex(descriptor.mediaType) || MediaType.isManifest(descriptor.mediaType)

/**
 * Reads many descriptors in one call, one result per descriptor, in order: a manifest that cannot be read is
 * its `Left`. @internal
 */
export interface BatchReader<C> {
  readonly batch: (descriptors: ReadonlyArray<Descriptor>) => Effect.Effect<ReadonlyArray<Either.Either<Content, C>>>
}

/**
 * A level is read in batches of at most this many manifests, and of at most `batchBytes` by their
 * descriptors' sizes (or the first of a batch alone): a batch holds all its files' bytes at once.
 */
const batchFiles = 32
const batchBytes = 8 * 1024 * 1024

/** `toRead` cut into batches as `batchFiles` and `batchBytes` say. */
const batchesOf = (toRead: ReadonlyArray<Descriptor>): Array<Array<Descriptor>> => {
  const batches: Array<Array<Descriptor>> = []
  let current: Array<Descriptor> = []
  let bytes = 0
  for (const descriptor of toRead) {
    if (current.length > 0 && (current.length >= batchFiles || bytes + descriptor.size > batchBytes)) {
      batches.push(current)
      current = []
      bytes = 0
    }
    current.push(descriptor)
    bytes += descriptor.size
  }
  if (current.length > 0) batches.push(current)
  return batches
}

/**
 * Everything reachable from `roots`, breadth first, each digest once. A manifest that cannot be read goes
 * to `onUnreadable`, which fails the walk or lets it go on without that manifest's children.
 *
 * Content more than `maxGraphDepth` levels below the roots (a root is level 1) is not read: the first such
 * descriptor goes to `onGraphError` as "too-deep", with the shortest path to it, and the result then misses
 * what lies below. Each digest is read once, so a claimed cycle cannot loop; once the walk is done, the first
 * cycle among what it read goes to `onGraphError` as "cycle", with the path that closes it (the result is
 * complete: a cycle adds nothing new).
 *
 * With `concurrency` above 1, the manifests of one level are read that many at a time; their results are
 * still taken in walk order (children, `onUnreadable`), so the outcome does not depend on timing. A walk
 * that `onUnreadable` fails may then have read a few manifests it would not have read one at a time.
 *
 * With a `BatchReader`, each level is read a batch at a time instead (`concurrency` is then the reader's
 * business): one call for many small manifests, where a call each cost more than the reads.
 * @internal
 */
export const reachable = <E, G, C = ContentFailure>(
  roots: ReadonlyArray<Descriptor>,
  content: ((descriptor: Descriptor) => Effect.Effect<Content, C>) | BatchReader<C>,
  onUnreadable: (descriptor: Descriptor, error: C) => Effect.Effect<void, E>,
  options: {
    /** The file the roots come from, named in a `GraphError`. */
    readonly indexPath: string
    readonly onGraphError: (error: GraphError) => Effect.Effect<void, G>
    readonly concurrency?: number | undefined
    /** What a read names, when not `children` (copy leaves out subjects, and reads manifests of unknown types). */
    readonly children?: ((content: Content) => ReadonlyArray<Descriptor>) | undefined
    /** Which descriptors are read, when not `hasChildren`. */
    readonly hasChildren?: ((descriptor: Descriptor) => boolean) | undefined
  }
): Effect.Effect<Map<Digest, Descriptor>, E | G> =>
  Effect.gen(function* () {
    const concurrency = Math.max(1, Math.floor(options.concurrency ?? 1))
    const childrenOf = options.children ?? children
    const isRead = options.hasChildren ?? hasChildren
    const seen = new Map<Digest, Descriptor>()
    // The digest each was first found under (the shortest path back to a root), and what each read names.
    const parents = new Map<Digest, Digest>()
    const edges = new Map<Digest, ReadonlyArray<Digest>>()
    const pathTo = (digest: Digest): Array<Digest> => {
      const path = [digest]
      for (let at = parents.get(digest); at !== undefined; at = parents.get(at)) path.unshift(at)
      return path
    }
    let frontier: ReadonlyArray<Found> = roots.map((descriptor) => ({ descriptor, parent: undefined }))
    let level = 1
    let reportedDeep = false
    while (frontier.length > 0) {
      const toRead: Array<Descriptor> = []
      for (const { descriptor, parent } of frontier) {
        if (seen.has(descriptor.digest)) continue
        seen.set(descriptor.digest, descriptor)
        if (parent !== undefined) parents.set(descriptor.digest, parent)
        if (!isRead(descriptor)) continue
        if (level <= maxGraphDepth) toRead.push(descriptor)
        else if (!reportedDeep) {
          reportedDeep = true
          yield* options.onGraphError(
            new GraphError({ path: options.indexPath, reason: "too-deep", digests: pathTo(descriptor.digest) })
          )
        }
      }
      const next: Array<Found> = []
      // Only an unreadable manifest has an effect to run: a read one costs no step of its own.
      const take = (descriptor: Descriptor, decoded: Either.Either<Content, C>) => {
        if (Either.isLeft(decoded)) return onUnreadable(descriptor, decoded.left)
        // Only content that names more content to read has edges: a cycle cannot pass through the rest.
        let readChildren: Array<Digest> | undefined
        for (const child of childrenOf(decoded.right)) {
          next.push({ descriptor: child, parent: descriptor.digest })
          if (!isRead(child)) continue
          readChildren ??= []
          readChildren.push(child.digest)
        }
        if (readChildren !== undefined) edges.set(descriptor.digest, readChildren)
        return undefined
      }
      if (typeof content !== "function") {
        for (const batch of batchesOf(toRead)) {
          const results = yield* content.batch(batch)
          for (const [i, decoded] of results.entries()) {
            const descriptor = batch[i]
            const unreadable = descriptor === undefined ? undefined : take(descriptor, decoded)
            if (unreadable !== undefined) yield* unreadable
          }
        }
      } else if (concurrency === 1) {
        for (const descriptor of toRead) {
          const unreadable = take(descriptor, yield* Effect.either(content(descriptor)))
          if (unreadable !== undefined) yield* unreadable
        }
      } else {
        const results = yield* forEachConcurrently(
          toRead,
          (descriptor) => Effect.either(content(descriptor)),
          concurrency
        )
        for (const [i, decoded] of results.entries()) {
          const descriptor = toRead[i]
          const unreadable = descriptor === undefined ? undefined : take(descriptor, decoded)
          if (unreadable !== undefined) yield* unreadable
        }
      }
      frontier = next
      level++
    }
    const cycle = findCycle(roots, edges)
    if (cycle !== undefined) {
      yield* options.onGraphError(new GraphError({ path: options.indexPath, reason: "cycle", digests: cycle }))
    }
    return seen
  })

/**
 * `f` of every item, `concurrency` at a time, each result at its item's position. A few workers take the next
 * item as they finish one, rather than a fiber per item: `Effect.forEach` forks one for each and yields before
 * each start, which on a level of thousands of small manifests cost more than reading them.
 * @internal
 */
export const forEachConcurrently = <A, B>(
  items: ReadonlyArray<A>,
  f: (item: A, index: number) => Effect.Effect<B>,
  concurrency: number
): Effect.Effect<ReadonlyArray<B>> => {
  // Every position is written before this succeeds: the workers take each index once, until none is left.
  const results: Array<B> = new Array(items.length)
  let next = 0
  const worker = Effect.gen(function* () {
    for (let i = next++; i < items.length; i = next++) {
      const item = items[i]
      if (item !== undefined) results[i] = yield* f(item, i)
    }
  })
  if (concurrency <= 1 || items.length <= 1) return Effect.as(worker, results)
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, () => worker)
  return Effect.as(Effect.all(workers, { concurrency: "unbounded", discard: true }), results)
}

interface Found {
  readonly descriptor: Descriptor
  readonly parent: Digest | undefined
}

/**
 * The first cycle a depth-first search from the roots meets, as the path from a root to the digest that
 * closes it (that digest last, and once more where the loop begins). Iterative: a path may be long.
 */
const findCycle = (
  roots: ReadonlyArray<Descriptor>,
  edges: ReadonlyMap<Digest, ReadonlyArray<Digest>>
): Array<Digest> | undefined => {
  const done = new Set<Digest>()
  for (const root of roots) {
    // A root with no edges closes no cycle (the common case: an image manifest).
    if (done.has(root.digest) || !edges.has(root.digest)) continue
    const stack: Array<{ readonly digest: Digest; next: number }> = [{ digest: root.digest, next: 0 }]
    const onPath = new Set<Digest>([root.digest])
    while (stack.length > 0) {
      const top = stack[stack.length - 1]
      if (top === undefined) break
      const child = edges.get(top.digest)?.[top.next]
      if (child === undefined) {
        stack.pop()
        onPath.delete(top.digest)
        done.add(top.digest)
        continue
      }
      top.next++
      if (onPath.has(child)) return [...stack.map((entry) => entry.digest), child]
      if (done.has(child) || !edges.has(child)) continue
      stack.push({ digest: child, next: 0 })
      onPath.add(child)
    }
  }
  return undefined
}
