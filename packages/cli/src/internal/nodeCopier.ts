/** @internal */
import * as Copy from "@ocidx/core/Copy"
import { RegistryClient } from "@ocidx/core/RegistryClient"
import * as NodeHasher from "@ocidx/node/NodeHasher"
import * as NodeServices from "@ocidx/node/NodeServices"
import type * as Scope from "effect/Scope"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import type { Copier, RegistryOptions } from "../Copier.js"

// A copy between layouts never asks the registry client anything: it is not built for it.
const unused = (operation: string) => () =>
  Effect.dieMessage(`a copy between layouts called the registry's ${operation}`)
const noRegistry = Layer.succeed(RegistryClient, {
  ping: unused("ping"),
  getManifest: unused("getManifest"),
  headManifest: unused("headManifest"),
  putManifest: unused("putManifest"),
  headBlob: unused("headBlob"),
  getBlob: () => Stream.dieMessage("a copy between layouts called the registry's getBlob"),
  uploadBlob: unused("uploadBlob"),
  listTags: unused("listTags"),
  referrers: unused("referrers")
})

/**
 * The registry client, loaded only for a copy that names a registry: its HTTP client (undici) is a large module,
 * and archive and layout copies would pay its load for nothing.
 */
const registryLayer = ({ caFile, insecure }: RegistryOptions) =>
  Layer.unwrapEffect(
    Effect.map(
      Effect.promise(() => import("@ocidx/node/NodeRegistry")),
      (NodeRegistry) => NodeRegistry.layer({ caFile, insecure })
    )
  )

/**
 * The Node copier: its services (zlib's inflater among them), and so its one flock(2) `IndexLock`, built once in the caller's scope; the
 * registry client per copy that names a registry.
 *
 * @internal
 */
export const make: Effect.Effect<Copier, never, Scope.Scope> = Effect.map(
  Layer.build(Layer.merge(NodeServices.layer(), NodeHasher.layer)),
  (services) => ({
    copy: (source, destination, options, registry) => {
      const needsRegistry = source._tag === "Registry" || destination._tag === "Registry"
      const client = needsRegistry ? registryLayer(registry) : noRegistry
      return Copy.copy(source, destination, options).pipe(Effect.provide(client), Effect.provide(services))
    }
  })
)
