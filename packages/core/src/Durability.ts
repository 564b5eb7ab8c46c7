/**
 * How hard ocidx works to make a completed write survive a power loss.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"

/**
 * `"full"` fsyncs each written file and its directory (the default); `"none"` skips fsync, for scratch
 * layouts and tests. Atomicity (old or new, never torn) holds either way: only power-loss durability differs.
 *
 * @since 0.1.0
 * @category model
 */
export type Durability = "full" | "none"

/**
 * The durability in force; `"full"` unless a layer or `Effect.provideService` says otherwise.
 *
 * @since 0.1.0
 * @category context
 */
export class CurrentDurability extends Context.Reference<CurrentDurability>()("@ocidx/core/Durability", {
  defaultValue: (): Durability => "full"
}) {}
