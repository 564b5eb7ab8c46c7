/**
 * Where commands get their `Layout` from. The Node implementation is loaded on first use (a separate chunk
 * of the bundle), so commands that need no layout, `--help` and `--version`, never load the flock binding.
 *
 * @since 0.1.0
 */
import type { Layout } from "@ocidx/core/Layout"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"

/**
 * @since 0.1.0
 * @category model
 */
export interface Store {
  /**
   * The layout at `directory`. Builds nothing on disk. Its lock waits as long as
   * `IndexLock.CurrentLockTimeout` says where each operation runs (the CLI provides it around the command).
   */
  readonly layout: (directory: string) => Effect.Effect<Layout>
}

/**
 * @since 0.1.0
 * @category tag
 */
export const Store: Context.Tag<Store, Store> = Context.GenericTag<Store>("@ocidx/cli/Store")

/**
 * A store made by `make` on first use, once per run (so one `IndexLock` serialises the run's layouts), and
 * released when the run ends.
 *
 * @since 0.1.0
 * @category layer
 */
export const layerLazy = (make: Effect.Effect<Store, never, Scope.Scope>): Layer.Layer<Store> =>
  Layer.scoped(
    Store,
    Effect.gen(function* () {
      const scope = yield* Effect.scope
      const store = yield* Effect.cached(Scope.extend(make, scope))
      return { layout: (directory) => Effect.flatMap(store, (made) => made.layout(directory)) }
    })
  )

/**
 * Layouts on the real disk, with the flock(2) lock and Node's streaming hasher, loaded by the first command
 * that opens a layout.
 *
 * @since 0.1.0
 * @category layer
 */
export const layerNode: Layer.Layer<Store> = layerLazy(
  Effect.flatMap(
    Effect.promise(() => import("./internal/nodeStore.js")),
    (nodeStore) => nodeStore.make
  )
)
