/**
 * A registry repository as either end of a copy, through `RegistryClient` (which verifies what it
 * downloads, mounts across repositories, and streams uploads).
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type { Descriptor } from "../../Descriptor.js"
import { InvalidReference, RegistryError } from "../../Errors.js"
import type { ImageReference } from "../../ImageReference.js"
import type { NameOrTag } from "../../Reference.js"
import * as Reference from "../../Reference.js"
import type { RegistryClient, Repository } from "../../RegistryClient.js"
import * as ImageReferences from "../imageReference.js"
import { unverifiedBlob } from "../registry/client.js"
import type { ImageDestination, ImageSource } from "./image.js"

/** The tag a reference names: its own, else `latest` unless it names a digest (as docker and skopeo do). */
const tagOf = (reference: ImageReference): string | undefined =>
  reference.tag ?? (reference.digest === undefined ? "latest" : undefined)

/** @internal */
export const source = (client: RegistryClient, label: string, reference: ImageReference): ImageSource => {
  const repository: Repository = { registry: reference.registry, repository: reference.repository }
  const tag = tagOf(reference)
  // The full name as pulled, so a layout keeps where the image came from (buildkit's containerd name).
  const names: ReadonlyArray<NameOrTag> = Either.match(Reference.name(ImageReferences.format({ ...reference, tag })), {
    onLeft: () => [],
    onRight: (name) => [name]
  })
  return {
    label,
    repository,
    root: Effect.map(client.getManifest(repository, reference.digest ?? tag ?? "latest"), (manifest) => ({
      fetched: manifest,
      names
    })),
    manifest: (descriptor) =>
      Effect.map(client.getManifest(repository, descriptor.digest), (manifest) => manifest.bytes),
    blob: (descriptor) => client.getBlob(repository, descriptor),
    unverifiedBlob: {
      stream: (descriptor) => unverifiedBlob(client)(repository, descriptor),
      // As the client's own verification would have reported it: the registry sent the wrong bytes.
      mismatch: (descriptor, error) =>
        new RegistryError({
          registry: ImageReferences.normaliseRegistry(reference.registry),
          reason: "digest-mismatch",
          request: `GET /v2/${repository.repository}/blobs/${descriptor.digest}`,
          detail:
            error.actualDigest === undefined || error.actualDigest === descriptor.digest
              ? `the blob is ${error.actualSize} bytes, not its size, ${descriptor.size} bytes`
              : `the blob's bytes have the digest ${error.actualDigest}`
        })
    },
    referrers: (descriptor) => client.referrers(repository, descriptor.digest)
  }
}

/** @internal */
export const destination = (client: RegistryClient, label: string, reference: ImageReference): ImageDestination => {
  const repository: Repository = { registry: reference.registry, repository: reference.repository }
  const tag = tagOf(reference)
  return {
    label,
    repository,
    check: (root: Descriptor) =>
      reference.digest === undefined || reference.digest === root.digest
        ? Effect.void
        : Effect.fail(
            new InvalidReference({
              value: label,
              problem: `the destination names the digest ${reference.digest}, but the image copied is ${root.digest}`
            })
          ),
    prepare: Effect.void,
    has: (descriptor, kind) =>
      kind === "blob"
        ? Effect.map(client.headBlob(repository, descriptor.digest), Option.isSome)
        : Effect.map(client.headManifest(repository, descriptor.digest), Option.isSome),
    putBlob: (descriptor, content, mountFrom) =>
      Effect.map(client.uploadBlob(repository, descriptor, content, { mountFrom }), (outcome) =>
        outcome === "uploaded" ? "copied" : outcome
      ),
    putManifest: ({ bytes, descriptor }) =>
      Effect.asVoid(client.putManifest(repository, descriptor.digest, { mediaType: descriptor.mediaType, bytes })),
    commit: ({ bytes, descriptor }) =>
      tag === undefined
        ? Effect.void
        : Effect.asVoid(client.putManifest(repository, tag, { mediaType: descriptor.mediaType, bytes }))
  }
}
