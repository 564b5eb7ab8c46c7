/**
 * An OCI layout as either end of a copy: blobs through its BlobStore (verified while written, atomic), the
 * tag through its StoreIndex (under the lock, last).
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { Failure } from "../../Copy.js"
import type { Descriptor } from "../../Descriptor.js"
import { annotation } from "../../Descriptor.js"
import { ImageNotFound, type InvalidReference } from "../../Errors.js"
import type { Layout } from "../../Layout.js"
import * as MediaType from "../../MediaType.js"
import type { NameOrTag } from "../../Reference.js"
import * as Reference from "../../Reference.js"
import { quote } from "../../Text.js"
import * as JsonReader from "../jsonReader.js"
import type { ImageDestination, ImageSource } from "./image.js"

const refNameKey = "org.opencontainers.image.ref.name"
const containerdNameKey = "io.containerd.image.name"

/** The names an index entry carries, as `StoreIndex.put` would give them again. @internal */
export const namesOf = (entry: Descriptor): ReadonlyArray<NameOrTag> => {
  const imageName = annotation(entry, containerdNameKey)
  const refName = annotation(entry, refNameKey)
  const named =
    imageName !== undefined ? Reference.name(imageName) : refName !== undefined ? Reference.tag(refName) : undefined
  return named === undefined ? [] : Either.match(named, { onLeft: () => [], onRight: (name) => [name] })
}

/** The entry without the names of the index it was listed in: the destination gives its own. @internal */
export const withoutNames = (entry: Descriptor): Descriptor => {
  if (entry.annotations === undefined) return entry
  const { annotations, ...rest } = entry
  const kept = Object.entries(annotations).filter(([key]) => key !== refNameKey && key !== containerdNameKey)
  return kept.length === 0 ? rest : { ...rest, annotations: Object.fromEntries(kept) }
}

const SubjectOf = Schema.Struct({ subject: Schema.optional(Schema.Struct({ digest: Schema.String })) })
const decodeSubject = Schema.decodeUnknownOption(SubjectOf)

/** @internal */
export const source = (layout: Layout, label: string, reference: string | undefined): ImageSource => {
  const manifest = (descriptor: Descriptor): Effect.Effect<Uint8Array, Failure> =>
    descriptor.size > JsonReader.maxDocumentBytes
      ? Effect.fail(
          JsonReader.tooLarge(
            layout.blobs.pathOf(descriptor.digest),
            descriptor.size,
            JsonReader.maxDocumentBytes,
            "the manifest"
          )
        )
      : layout.blobs.get(descriptor.digest, { size: descriptor.size })

  const entry = Effect.gen(function* () {
    if (reference !== undefined) {
      const found = yield* layout.index.get(reference)
      if (Option.isSome(found)) return found.value
      return yield* new ImageNotFound({
        location: label,
        reason: "no-entry",
        detail: `no entry is named ${quote(reference)}.`
      })
    }
    const entries = yield* layout.index.list
    const [only] = entries
    if (entries.length === 1 && only !== undefined) return only
    return yield* new ImageNotFound({
      location: label,
      reason: "ambiguous",
      detail:
        entries.length === 0
          ? "the layout holds no entries."
          : `the layout holds ${entries.length} entries: name the one to copy, as oci:<dir>:<name-or-tag>.`
    })
  })

  return {
    label,
    repository: undefined,
    root: Effect.gen(function* () {
      const found = yield* entry
      const bytes = yield* manifest(found)
      return { fetched: { descriptor: withoutNames(found), bytes }, names: namesOf(found) }
    }),
    manifest,
    blob: (descriptor, options) =>
      layout.blobs.stream(descriptor.digest, { size: descriptor.size, reuseBuffers: options?.reuseBuffers }),
    referrers: (descriptor) =>
      Effect.gen(function* () {
        // A layout keeps referrers as entries of index.json (as oras does): those whose manifest names the subject.
        const entries = yield* layout.index.list
        const found: Array<Descriptor> = []
        for (const candidate of entries) {
          if (candidate.digest === descriptor.digest) continue
          if (!MediaType.isManifest(candidate.mediaType) && !MediaType.isIndex(candidate.mediaType)) continue
          const bytes = yield* manifest(candidate)
          const parsed = Option.flatMap(
            Option.liftThrowable(() => JSON.parse(new TextDecoder().decode(bytes)))(),
            decodeSubject
          )
          if (Option.isSome(parsed) && parsed.value.subject?.digest === descriptor.digest) {
            found.push(withoutNames(candidate))
          }
        }
        return found
      })
  }
}

/** @internal */
export const destination = (layout: Layout, label: string, reference: string | undefined): ImageDestination => {
  const tag: Either.Either<ReadonlyArray<NameOrTag>, InvalidReference> | undefined =
    reference === undefined ? undefined : Either.map(Reference.tag(reference), (name) => [name])
  return {
    label,
    repository: undefined,
    check: () => (tag === undefined ? Effect.void : Effect.asVoid(tag)),
    prepare: layout.init,
    has: (descriptor) => layout.blobs.has(descriptor.digest),
    // BlobStore.put hashes while it writes and keeps nothing whose digest or size is wrong.
    verifiesBlobs: true,
    putBlob: (descriptor, content) =>
      Effect.flatMap(layout.blobs.has(descriptor.digest), (present) =>
        present
          ? Effect.succeed("present" as const)
          : Effect.as(
              layout.blobs.put(content(), { expected: { digest: descriptor.digest, size: descriptor.size } }),
              "copied" as const
            )
      ),
    putManifest: ({ bytes, descriptor }) =>
      Effect.asVoid(layout.blobs.put(bytes, { expected: { digest: descriptor.digest, size: descriptor.size } })),
    commit: (root, sourceNames, referrers) =>
      Effect.gen(function* () {
        const names = tag === undefined ? sourceNames : yield* tag
        yield* layout.index.putAll([
          { descriptor: root.descriptor, names },
          ...referrers.map((descriptor) => ({ descriptor }))
        ])
      })
  }
}
