/**
 * Where commands get their `Layout` from. The Node implementation is loaded on first use (a separate chunk
 * of the bundle), so commands that need no layout, `--help` and `--version`, never load the flock binding.
 *
 * @since 0.1.0
 */
import type { Layout } from "@ocidx/core/Layout"
import type { Duration } from "effect"
import { Context, Effect, Layer } from "effect"

/**
 * @since 0.1.0
 * @category model
 */
export interface Store {
  /** The layout at `directory`, whose lock waits up to `lockTimeout`. Builds nothing on disk. */
  readonly layout: (directory: string, options: { readonly lockTimeout: Duration.Duration }) => Effect.Effect<Layout>
}

/**
 * @since 0.1.0
 * @category tag
 */
export const Store: Context.Tag<Store, Store> = Context.GenericTag<Store>("@ocidx/cli/Store")

/**
 * Layouts on the real disk, with the flock(2) lock and Node's streaming hasher.
 *
 * @since 0.1.0
 * @category layer
 */
export const layerNode: Layer.Layer<Store> = Layer.succeed(Store, {
  layout: (directory, options) =>
    Effect.promise(() => import("./internal/nodeStore.js")).pipe(
      Effect.flatMap((nodeStore) => nodeStore.layout(directory, options))
    )
})
