/** @internal */
import * as Layout from "@ocidx/core/Layout"
import * as NodeHasher from "@ocidx/node/NodeHasher"
import * as NodeServices from "@ocidx/node/NodeServices"
import type { Duration } from "effect"
import { Effect, Layer } from "effect"

/** @internal */
export const layout = (
  directory: string,
  options: { readonly lockTimeout: Duration.Duration }
): Effect.Effect<Layout.Layout> =>
  Layout.make({ directory }).pipe(
    // NodeServices brings the node:crypto Hasher too; naming it keeps the CLI off WebCrypto whatever it holds.
    Effect.provide(Layer.merge(NodeServices.layer({ lockTimeout: options.lockTimeout }), NodeHasher.layer))
  )
