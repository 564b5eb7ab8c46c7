/**
 * The full `ocidx`, every command through @effect/cli's parser: `bin.ts` imports it on demand, for what the
 * fast path (`FastPath.ts`) does not take. `Process.run` is where it meets the process.
 *
 * @since 0.1.0
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Cli from "./Cli.js"
import type { Copier } from "./Copier.js"
import * as CopierModule from "./Copier.js"
import * as Process from "./Process.js"
import type { Store } from "./Store.js"

/**
 * Runs `ocidx` on `argv` (as `process.argv`: the runtime, the script, then the arguments) with `store` (the
 * ESM bundle passes `Store.layerNode`, which loads the store on first use) and sets the exit code (see
 * `Process.run`). `copier` moves images (copy, pull, push); by default it is loaded by the first command that
 * does.
 *
 * @since 0.1.0
 * @category running
 */
export const main = (
  argv: ReadonlyArray<string>,
  store: Layer.Layer<Store>,
  copier: Layer.Layer<Copier> = CopierModule.layerNode
): void =>
  Process.run(
    Effect.provide(
      Cli.run(argv),
      Layer.mergeAll(NodeFileSystem.layer, NodePath.layer, NodeTerminal.layer, store, copier)
    )
  )
