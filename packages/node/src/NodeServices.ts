/**
 * Everything `@ocidx/core` needs on Node in one layer: the file system and paths from
 * `@effect/platform-node`, the flock(2) `IndexLock`, the `node:crypto` `Hasher`, the `node:fs` `LayoutFiles`,
 * the `node:zlib` `Inflater`, and the durability of writes.
 *
 * @since 0.1.0
 */
import type { FileSystem } from "@effect/platform/FileSystem"
import type { Path } from "@effect/platform/Path"
import type * as CoreDurability from "@ocidx/core/Durability"
import type { Hasher } from "@ocidx/core/Hasher"
import type { Inflater } from "@ocidx/core/Inflater"
import type { IndexLock } from "@ocidx/core/IndexLock"
import type { LayoutFiles } from "@ocidx/core/LayoutFiles"
import type { Layer } from "effect"
import * as internal from "./internal/nodeServices.js"

/**
 * How hard writes work to survive a power loss: `"full"` (the default) fsyncs each written file and its
 * directory, `"none"` skips fsync (scratch layouts, tests).
 *
 * @since 0.1.0
 * @category model
 */
export type Durability = CoreDurability.Durability

/**
 * @since 0.1.0
 * @category model
 */
export interface Options {
  /** Default `"full"`. */
  readonly durability?: Durability | undefined
}

/**
 * The services this layer provides.
 *
 * @since 0.1.0
 * @category model
 */
export type NodeServices =
  | FileSystem
  | Path
  | IndexLock
  | Hasher
  | LayoutFiles
  | Inflater
  | CoreDurability.CurrentDurability

/**
 * Provides `FileSystem`, `Path`, the flock(2) `IndexLock`, the `node:crypto` `Hasher`, the synchronous `node:fs`
 * `LayoutFiles`, the `node:zlib` `Inflater` (gzip layers of archives) and the durability setting.
 * The lock timeout is read where each lock is taken: provide `IndexLock.CurrentLockTimeout` (default 30 s)
 * around the program, e.g. `Layer.succeed(IndexLock.CurrentLockTimeout, Duration.seconds(10))`.
 *
 * @since 0.1.0
 * @category layer
 */
export const layer: (options?: Options) => Layer.Layer<NodeServices> = internal.layer
