/** @internal */
import * as Layout from "@ocidx/core/Layout"
import * as NodeHasher from "@ocidx/node/NodeHasher"
import * as NodeServices from "@ocidx/node/NodeServices"
import type * as Scope from "effect/Scope"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Store } from "../Store.js"

/**
 * The Node store: its services, and so its one flock(2) `IndexLock`, built once in the caller's scope.
 *
 * @internal
 */
export const make: Effect.Effect<Store, never, Scope.Scope> = Effect.map(
  // NodeServices brings the node:crypto Hasher too; naming it keeps the CLI off WebCrypto whatever it holds.
  Layer.build(Layer.merge(NodeServices.layer(), NodeHasher.layer)),
  (services) => ({ layout: (directory) => Layout.make({ directory }).pipe(Effect.provide(services)) })
)
