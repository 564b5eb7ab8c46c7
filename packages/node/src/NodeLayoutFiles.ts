/**
 * `LayoutFiles` on Node: each atomic replace, regular-file read, batch of blob hashes and batch of removals is
 * one synchronous `node:fs` step, with `O_NOFOLLOW | O_NONBLOCK` opens and one reused read buffer, so a small
 * file costs its few system calls and no thread-pool round trips. A blob of 4 MiB or more is hashed with
 * asynchronous reads instead, the next chunk read while this one is hashed. `NodeServices.layer` includes it.
 *
 * @since 0.1.0
 */
import type { LayoutFiles } from "@ocidx/core/LayoutFiles"
import type { Effect, Layer } from "effect"
import type { Path } from "@effect/platform/Path"
import * as internal from "./internal/nodeLayoutFiles.js"

/**
 * @since 0.1.0
 * @category constructor
 */
export const make: Effect.Effect<LayoutFiles, never, Path> = internal.make

/**
 * Provides the `node:fs` `LayoutFiles`.
 *
 * @since 0.1.0
 * @category layer
 */
export const layer: Layer.Layer<LayoutFiles> = internal.layer
