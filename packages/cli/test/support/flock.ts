/**
 * Another process holding the layout's lock, as buildkit would: the util-linux `flock` command.
 */
import * as ChildProcess from "node:child_process"
import type { Scope } from "effect"
import { Effect } from "effect"
import { flock } from "./tools.js"

export type FlockMode = "shared" | "exclusive"

const modeFlag = (mode: FlockMode) => (mode === "shared" ? "-s" : "-x")

/** Holds the lock until the scope closes (the holder and its `sleep` are killed as a process group). */
export const holdLock = (lockPath: string, mode: FlockMode): Effect.Effect<void, Error, Scope.Scope> =>
  Effect.gen(function* () {
    const command = flock ?? "flock"
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        ChildProcess.spawn(command, [modeFlag(mode), lockPath, "-c", "echo locked; exec sleep 120"], {
          detached: true,
          stdio: ["ignore", "pipe", "inherit"]
        })
      ),
      (child) =>
        Effect.async<void>((resume) => {
          if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
          child.once("exit", () => resume(Effect.void))
          try {
            if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL")
          } catch {
            resume(Effect.void)
          }
        })
    )
    yield* Effect.async<void, Error>((resume) => {
      let output = ""
      child.stdout?.on("data", (chunk: Buffer) => {
        output += chunk.toString("utf8")
        if (output.includes("locked")) resume(Effect.void)
      })
      child.on("error", (error) => resume(Effect.fail(error)))
      child.on("exit", (code) => resume(Effect.fail(new Error(`flock exited (${code}) before taking the lock`))))
    })
  })

/** Whether another process could take the lock in `mode` right now (`flock -n`). */
export const lockIsFree = (lockPath: string, mode: FlockMode): Effect.Effect<boolean, Error> =>
  Effect.async<boolean, Error>((resume) => {
    const busy = 75
    const child = ChildProcess.spawn(flock ?? "flock", ["-n", "-E", String(busy), modeFlag(mode), lockPath, "true"], {
      stdio: "ignore"
    })
    child.on("error", (error) => resume(Effect.fail(error)))
    child.on("exit", (code) => {
      if (code === 0) resume(Effect.succeed(true))
      else if (code === busy) resume(Effect.succeed(false))
      else resume(Effect.fail(new Error(`flock -n exited with ${code}`)))
    })
  })
