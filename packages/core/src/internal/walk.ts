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
 * @internal
 */
export const reachable = <E>(
  roots: ReadonlyArray<Descriptor>,
  content: (descriptor: Descriptor) => Effect.Effect<Content, ContentFailure>,
  onUnreadable: (descriptor: Descriptor, error: ContentFailure) => Effect.Effect<void, E>
): Effect.Effect<Map<Digest, Descriptor>, E> =>
  Effect.gen(function* () {
    const seen = new Map<Digest, Descriptor>()
    let frontier: ReadonlyArray<Descriptor> = roots
    while (frontier.length > 0) {
      const next: Array<Descriptor> = []
      for (const descriptor of frontier) {
        if (seen.has(descriptor.digest)) continue
        seen.set(descriptor.digest, descriptor)
        if (!hasChildren(descriptor)) continue
        const decoded = yield* Effect.either(content(descriptor))
        if (decoded._tag === "Left") yield* onUnreadable(descriptor, decoded.left)
        else next.push(...children(decoded.right))
      }
      frontier = next
    }
    return seen
  })
