/**
 * The graph of a layout: which descriptors a manifest or index points at, and everything reachable from
 * a set of roots.
 * @internal
 */
import { Effect } from "effect"
import type { Descriptor } from "../Descriptor.js"
import type { Digest } from "../Digest.js"
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
 * Everything reachable from `roots`, breadth first, each digest once. A manifest that cannot be read goes
 * to `onUnreadable`, which fails the walk or lets it go on without that manifest's children.
 *
 * With `concurrency` above 1, the manifests of one level are read that many at a time; their results are
 * still taken in walk order (children, `onUnreadable`), so the outcome does not depend on timing. A walk
 * that `onUnreadable` fails may then have read a few manifests it would not have read one at a time.
 * @internal
 */
export const reachable = <E>(
  roots: ReadonlyArray<Descriptor>,
  content: (descriptor: Descriptor) => Effect.Effect<Content, ContentFailure>,
  onUnreadable: (descriptor: Descriptor, error: ContentFailure) => Effect.Effect<void, E>,
  options?: { readonly concurrency?: number | undefined }
): Effect.Effect<Map<Digest, Descriptor>, E> =>
  Effect.gen(function* () {
    const concurrency = Math.max(1, Math.floor(options?.concurrency ?? 1))
    const seen = new Map<Digest, Descriptor>()
    let frontier: ReadonlyArray<Descriptor> = roots
    while (frontier.length > 0) {
      const toRead: Array<Descriptor> = []
      for (const descriptor of frontier) {
        if (seen.has(descriptor.digest)) continue
        seen.set(descriptor.digest, descriptor)
        if (hasChildren(descriptor)) toRead.push(descriptor)
      }
      const next: Array<Descriptor> = []
      if (concurrency === 1) {
        for (const descriptor of toRead) {
          const decoded = yield* Effect.either(content(descriptor))
          if (decoded._tag === "Left") yield* onUnreadable(descriptor, decoded.left)
          else next.push(...children(decoded.right))
        }
      } else {
        const results = yield* Effect.forEach(toRead, (descriptor) => Effect.either(content(descriptor)), {
          concurrency
        })
        for (const [i, decoded] of results.entries()) {
          const descriptor = toRead[i]
          if (descriptor === undefined) continue
          if (decoded._tag === "Left") yield* onUnreadable(descriptor, decoded.left)
          else next.push(...children(decoded.right))
        }
      }
      frontier = next
    }
    return seen
  })
