/** @internal */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import { LockError } from "../Errors.js"
import type {
  CurrentLockTimeout as LockTimeoutId,
  IndexLock,
  LockBackend,
  LockMode,
  LockOptions,
  LockWaiter
} from "../IndexLock.js"

/** The only default lock timeout in ocidx: every layer and the CLI read it through `CurrentLockTimeout`. @internal */
export const defaultTimeout: Duration.Duration = Duration.seconds(30)

/** @internal */
export const CurrentLockTimeout: Context.Reference<LockTimeoutId, Duration.Duration> =
  Context.Reference<LockTimeoutId>()("@ocidx/core/IndexLock/CurrentLockTimeout", {
    defaultValue: (): Duration.Duration => defaultTimeout
  })

/** @internal */
export const defaultSchedule: Schedule.Schedule<unknown, unknown> = Schedule.exponential("1 millis", 2).pipe(
  Schedule.jittered,
  // Waiters poll, so the cap is the latency a waiter adds after a release; 10 ms costs a waiter ~100 stats a second.
  Schedule.union(Schedule.spaced("10 millis"))
)

class Busy extends Data.TaggedError("Busy")<{}> {}

interface Holders {
  shared: number
  exclusive: boolean
}

/** @internal */
export const make = (backend: LockBackend, options?: LockOptions): IndexLock => {
  // A timeout given here is this instance's; otherwise each acquire reads the one in force where it runs.
  const fixedTimeout = options?.timeout === undefined ? undefined : Duration.decode(options.timeout)
  const schedule = options?.schedule ?? defaultSchedule
  // Paths held by this process. flock(2) emulated with fcntl (NFS) does not exclude within one process,
  // so this table keeps fibers of one process apart whatever the backend does.
  const table = new Map<string, Holders>()

  const take = (lockPath: string, mode: LockMode): boolean => {
    const holders = table.get(lockPath) ?? { shared: 0, exclusive: false }
    const free = mode === "shared" ? !holders.exclusive : !holders.exclusive && holders.shared === 0
    if (!free) return false
    if (mode === "shared") holders.shared++
    else holders.exclusive = true
    table.set(lockPath, holders)
    return true
  }

  const untake = (lockPath: string, mode: LockMode): void => {
    const holders = table.get(lockPath)
    if (!holders) return
    if (mode === "shared") holders.shared--
    else holders.exclusive = false
    if (!holders.exclusive && holders.shared === 0) table.delete(lockPath)
  }

  type TryAcquire = Effect.Effect<Option.Option<Effect.Effect<void>>, LockError>

  const attempt = (lockPath: string, mode: LockMode, tryAcquire: TryAcquire) =>
    Effect.acquireRelease(
      Effect.suspend((): Effect.Effect<Effect.Effect<void>, LockError | Busy> => {
        if (!take(lockPath, mode)) return Effect.fail(new Busy())
        return tryAcquire.pipe(
          Effect.tapError(() => Effect.sync(() => untake(lockPath, mode))),
          Effect.flatMap(
            Option.match({
              onNone: () => Effect.sync(() => untake(lockPath, mode)).pipe(Effect.zipRight(Effect.fail(new Busy()))),
              onSome: (release) =>
                Effect.succeed(release.pipe(Effect.ensuring(Effect.sync(() => untake(lockPath, mode)))))
            })
          )
        )
      }),
      (release) => release
    )

  const acquireWithin = (lockPath: string, mode: LockMode, timeout: Duration.Duration) => {
    const timedOut = () => new LockError({ path: lockPath, reason: "timeout" })
    const first = attempt(lockPath, mode, backend.tryAcquire(lockPath, mode))
    if (Duration.toMillis(timeout) <= 0) {
      return first.pipe(Effect.catchTag("Busy", () => Effect.fail(timedOut())))
    }
    // Found busy, the acquire waits. The backend's waiter (if any) is opened after that first attempt, in a scope
    // of its own that closes when the wait ends; the lock itself is held in the caller's scope.
    const wait = Effect.flatMap(Effect.scope, (outer) =>
      Effect.scoped(
        Effect.flatMap(Effect.scope, (waitScope) => {
          const openWaiter = backend.waiter
          let waiter: LockWaiter | undefined
          const once = attempt(
            lockPath,
            mode,
            Effect.suspend(() => waiter?.tryAcquire ?? backend.tryAcquire(lockPath, mode))
          ).pipe(Scope.extend(outer))
          const untilFree = Effect.suspend(() => waiter?.untilFree ?? Effect.void)
          const open =
            openWaiter === undefined
              ? Effect.void
              : openWaiter(lockPath, mode).pipe(
                  Scope.extend(waitScope),
                  Effect.flatMap((opened) =>
                    Effect.sync(() => {
                      waiter = opened
                    })
                  )
                )
          // The first attempt was made before the wait: the schedule's first delay comes before the next one.
          let delayed = false
          const afterFirst = Effect.suspend(() => {
            if (delayed) return once
            delayed = true
            return Effect.fail(new Busy())
          })
          // With `untilFree`, each attempt follows the backend's sign that the lock may be free; else the schedule.
          return Effect.zipRight(
            open,
            Effect.suspend(() =>
              waiter?.untilFree === undefined
                ? Effect.retry(afterFirst, { schedule, while: (error) => error._tag === "Busy" })
                : Effect.retry(Effect.zipRight(untilFree, once), { while: (error) => error._tag === "Busy" })
            )
          )
        })
      )
    )
    // Only the wait is timed, and traced: the first attempt never waits, and a lock found free (most acquires)
    // then costs no timer, no racing fiber and no span (the operation that takes the lock has its own).
    const timed = Duration.isFinite(timeout)
      ? wait.pipe(Effect.timeoutFail({ duration: timeout, onTimeout: timedOut }))
      : wait
    const bounded = timed.pipe(
      Effect.withSpan("IndexLock.wait", { attributes: { lockPath, mode }, captureStackTrace: false })
    )
    return Effect.catchTag(first, "Busy", () => bounded).pipe(Effect.catchTag("Busy", () => Effect.fail(timedOut())))
  }

  const acquire = (lockPath: string, mode: LockMode) =>
    (fixedTimeout === undefined ? CurrentLockTimeout : Effect.succeed(fixedTimeout)).pipe(
      Effect.flatMap((timeout) => acquireWithin(lockPath, mode, timeout))
    )

  return { acquire }
}
