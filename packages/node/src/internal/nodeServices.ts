/** @internal */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import type { FileSystem } from "@effect/platform/FileSystem"
import type { Path } from "@effect/platform/Path"
import * as Durability from "@ocidx/core/Durability"
import type { Hasher } from "@ocidx/core/Hasher"
import type { Inflater } from "@ocidx/core/Inflater"
import type { IndexLock } from "@ocidx/core/IndexLock"
import type { LayoutFiles } from "@ocidx/core/LayoutFiles"
import * as Layer from "effect/Layer"
import * as NodeHasher from "../NodeHasher.js"
import * as NodeInflater from "../NodeInflater.js"
import * as NodeLayoutFiles from "./nodeLayoutFiles.js"
import * as NodeIndexLock from "./nodeIndexLock.js"

/** @internal */
export interface Options {
  readonly durability?: Durability.Durability | undefined
}

/** @internal */
export const layer = (
  options?: Options
): Layer.Layer<FileSystem | Path | IndexLock | Hasher | LayoutFiles | Inflater | Durability.CurrentDurability> =>
  Layer.mergeAll(
    NodeFileSystem.layer,
    NodePath.layer,
    NodeIndexLock.layer,
    NodeHasher.layer,
    NodeLayoutFiles.layer,
    NodeInflater.layer,
    Layer.succeed(Durability.CurrentDurability, options?.durability ?? "full")
  )
