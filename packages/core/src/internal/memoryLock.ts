/** @internal */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { LockError, type LockReason } from "../Errors.js"
import type { LockBackend, LockMode } from "../IndexLock.js"
import type { LockEvent, MemoryLock } from "../testing.js"

/** @internal */
export const make = (): { readonly backend: LockBackend; readonly handle: MemoryLock } => {
  const table = new Map<string, { shared: number; exclusive: boolean }>()
  const events: Array<LockEvent> = []
  const failures = new Map<string, LockReason>()

  const holdersOf = (lockPath: string) => table.get(lockPath) ?? { shared: 0, exclusive: false }

  const take = (lockPath: string, mode: LockMode): boolean => {
    const holders = { ...holdersOf(lockPath) }
    if (holders.exclusive || (mode === "exclusive" && holders.shared > 0)) return false
    if (mode === "shared") holders.shared++
    else holders.exclusive = true
    table.set(lockPath, holders)
    return true
  }

  const release = (lockPath: string, mode: LockMode, owner: LockEvent["owner"]) =>
    Effect.sync(() => {
      const holders = { ...holdersOf(lockPath) }
      if (mode === "shared") holders.shared = Math.max(0, holders.shared - 1)
      else holders.exclusive = false
      table.set(lockPath, holders)
      events.push({ lockPath, mode, owner, event: "released" })
    })

  const backend: LockBackend = {
    tryAcquire: (lockPath, mode) =>
      Effect.suspend(() => {
        const reason = failures.get(lockPath)
        if (reason !== undefined) {
          // A read-only layout, or one where flock(2) is unavailable, can still be read without a lock, as on a real disk.
          if (mode === "shared" && (reason === "read-only" || reason === "permission" || reason === "unsupported")) {
            return Effect.succeed(Option.some(Effect.void))
          }
          return Effect.fail(new LockError({ path: lockPath, reason }))
        }
        if (!take(lockPath, mode)) return Effect.succeed(Option.none())
        events.push({ lockPath, mode, owner: "ocidx", event: "acquired" })
        return Effect.succeed(Option.some(release(lockPath, mode, "ocidx")))
      })
  }

  const handle: MemoryLock = {
    holders: holdersOf,
    holdExternally: (lockPath, mode) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          const taken = take(lockPath, mode)
          if (taken) events.push({ lockPath, mode, owner: "external", event: "acquired" })
          return taken
        }),
        (taken) => (taken ? release(lockPath, mode, "external") : Effect.void)
      ),
    events: () => events.slice(),
    failWith: (lockPath, reason) => {
      if (reason === undefined) failures.delete(lockPath)
      else failures.set(lockPath, reason)
    }
  }
  return { backend, handle }
}
