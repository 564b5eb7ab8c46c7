/**
 * What every command that opens a layout shares, without @effect/cli: opening the layout from the `Store`,
 * and running with a lock timeout in force.
 *
 * @since 0.1.0
 */
import * as IndexLock from "@ocidx/core/IndexLock"
import type { Layout } from "@ocidx/core/Layout"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Store } from "../Store.js"

/**
 * The layout at `directory`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const openLayout = (directory: string): Effect.Effect<Layout, never, Store> =>
  Effect.flatMap(Store, (store) => store.layout(directory))

/**
 * Runs `self` with `IndexLock.CurrentLockTimeout` set to `timeout`; with `None`, the default stays in force.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withLockTimeout = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  timeout: Option.Option<Duration.Duration>
): Effect.Effect<A, E, R> =>
  Option.match(timeout, {
    onNone: () => self,
    onSome: (timeout) => Effect.provideService(self, IndexLock.CurrentLockTimeout, timeout)
  })
