/**
 * The `ocidx` command itself: the global `--lock-timeout`, and how a subcommand opens its layout with the
 * timeout in force (its own `--lock-timeout`, else the global one, else 30 s).
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import type { Layout } from "@ocidx/core/Layout"
import type { Duration } from "effect"
import { Effect, Option } from "effect"
import * as Flags from "../Flags.js"
import { Store } from "../Store.js"

/**
 * The root command, before its subcommands are attached.
 *
 * @since 0.1.0
 * @category commands
 */
export const root = Command.make("ocidx", { lockTimeout: Flags.lockTimeout })

/**
 * The layout at `directory`, with the lock timeout in force.
 *
 * @since 0.1.0
 * @category constructors
 */
export const openLayout = (directory: string, lockTimeout: Option.Option<Duration.Duration>) =>
  Effect.gen(function* () {
    const global = yield* root
    const timeout = lockTimeout.pipe(
      Option.orElse(() => global.lockTimeout),
      Option.getOrElse(() => Flags.defaultLockTimeout)
    )
    const store = yield* Store
    const layout: Layout = yield* store.layout(directory, { lockTimeout: timeout })
    return layout
  })
