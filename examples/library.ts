/**
 * The README's library example: tag a manifest in an OCI layout and read it back, as buildkit's ociindex
 * does, but with typed errors and a lock that waits. `packages/node/test/example.test.ts` runs it.
 */
import { IndexLock, Layout, Reference, StoreIndex } from "@ocidx/core"
import { NodeServices } from "@ocidx/node"
import { Duration, Effect, Either, Option } from "effect"

export const tagAndRead = (directory: string) =>
  Effect.gen(function* () {
    const layout = yield* Layout.make({ directory })
    yield* layout.init

    const store = yield* StoreIndex.make({ directory })
    const manifest = {
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b",
      size: 528
    }
    // One entry per name: a bare tag, and a full name whose tag part becomes the ref name.
    const v1 = yield* Reference.tag("v1")
    const full = yield* Reference.name("registry.example.com/team/app:1.0")
    yield* store.put(manifest, [v1, full])

    const byTag = yield* store.get("v1")
    const byName = yield* store.get("registry.example.com/team/app:1.0")
    const all = yield* store.list
    return { byTag: Option.getOrNull(byTag), byName: Option.getOrNull(byName), count: all.length }
  }).pipe(
    // Every failure is typed: a script can tell a busy lock from a corrupt index.json.
    Effect.catchTags({
      LockError: (error) => Effect.fail(`busy, try later: ${error.message}`),
      DecodeError: (error) => Effect.fail(`invalid layout: ${error.message}`)
    }),
    // The lock timeout is read where a lock is taken: set here, it covers every operation above.
    Effect.provideService(IndexLock.CurrentLockTimeout, Duration.seconds(10)),
    Effect.provide(NodeServices.layer())
  )

// Reference constructors return Either, usable without Effect too.
export const isValidTag = (tag: string): boolean => Either.isRight(Reference.tag(tag))
