/**
 * The `ocidx` command itself: the global `--lock-timeout`, how a subcommand runs with the timeout in force
 * (its own `--lock-timeout`, else the global one, else `IndexLock`'s default), and how it opens its layout.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as IndexLock from "@ocidx/core/IndexLock"
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
 * Runs a command with `IndexLock.CurrentLockTimeout` set from its `--lock-timeout`, else the global one;
 * with neither, the default stays in force. Commands that open a layout take `Flags.lockTimeout` and pass
 * through this, so their handlers never see the timeout.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withLockTimeout = <
  Name extends string,
  R,
  E,
  A extends { readonly lockTimeout: Option.Option<Duration.Duration> }
>(
  self: Command.Command<Name, R, E, A>
) =>
  Command.transformHandler(self, (handler, config) =>
    Effect.flatMap(root, (global) =>
      Option.match(
        Option.orElse(config.lockTimeout, () => global.lockTimeout),
        {
          onNone: () => handler,
          onSome: (timeout) => Effect.provideService(handler, IndexLock.CurrentLockTimeout, timeout)
        }
      )
    )
  )

/**
 * The layout at `directory`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const openLayout = (directory: string): Effect.Effect<Layout, never, Store> =>
  Effect.flatMap(Store, (store) => store.layout(directory))
