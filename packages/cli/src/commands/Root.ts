/**
 * The `ocidx` command itself: the global `--lock-timeout`, how a subcommand runs with the timeout in force
 * (its own `--lock-timeout`, else the global one, else `IndexLock`'s default). Commands open their layout with
 * `openLayout` (actions/Layout.ts).
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Layout from "../actions/Layout.js"
import * as Flags from "../Flags.js"

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
      Layout.withLockTimeout(
        handler,
        Option.orElse(config.lockTimeout, () => global.lockTimeout)
      )
    )
  )
