/**
 * The lock, seen from outside: another process (the util-linux `flock` command, standing in for buildkit)
 * holds `index.json.lock`; ocidx waits up to --lock-timeout, then exits 75. SIGTERM and SIGINT stop a
 * waiting or working ocidx promptly, with the lock released and index.json whole.
 */
import * as ChildProcess from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber } from "effect"
import { binPath, ocidx } from "./support/cli.js"
import { canFlock as lockIsFree, flockCommand as flock, holdFlock as holdLock } from "@ocidx/testkit/Flock"
import { tempDir } from "@ocidx/testkit/TempDir"
import { announceSkip, missing } from "@ocidx/testkit/Tools"
import {
  indexType,
  manifestType,
  readIndex,
  sha256,
  snapshot,
  writeBlob,
  writeLayout,
  writeTaggedImage
} from "./support/layout.js"

// The signal tests read /proc/<pid>/maps to see that ocidx has reached its lock attempts.
const noFlock =
  process.platform === "linux" ? missing(["flock (util-linux)", flock]) : "they need Linux (flock(1) and /proc)"
announceSkip("the lock tests", noFlock)

const digest = sha256("some manifest")
const putArgs = (dir: string, tag: string) => ["put", dir, tag, "--digest", digest, "--size", "13"]

/** A running ocidx, its pid, and its exit (code or signal, and when). */
const spawnOcidx = (args: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = ChildProcess.spawn(process.execPath, [binPath, ...args], { stdio: ["ignore", "pipe", "pipe"] })
      let stderr = ""
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
        stderr += chunk
      })
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
        child.on("exit", (code, signal) => resolve({ code, signal, at: Date.now() }))
      )
      return { child, exited, stderr: () => stderr }
    }),
    ({ child }) => Effect.sync(() => child.kill("SIGKILL"))
  )

/** Waits until the process has loaded the flock binding, i.e. it is at (or past) its first lock attempt. */
const waitUntilLocking = (pid: number) =>
  Effect.gen(function* () {
    for (let attempt = 0; attempt < 400; attempt++) {
      const maps = yield* Effect.sync(() => {
        try {
          return NodeFs.readFileSync(`/proc/${pid}/maps`, "utf8")
        } catch {
          return ""
        }
      })
      if (maps.includes("koffi.node")) return
      yield* Effect.sleep("25 millis")
    }
    return yield* Effect.fail(new Error("ocidx never loaded the flock binding"))
  })

describe.concurrent("the index lock", () => {
  it.scopedLive.skipIf(noFlock !== undefined)(
    "another writer's lock: --lock-timeout 0 exits 75 at once, a duration waits that long",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        writeTaggedImage(dir)
        writeBlob(dir, "some manifest", manifestType)
        const lockPath = NodePath.join(dir, "index.json.lock")
        yield* holdLock(lockPath, "exclusive")
        const before = snapshot(dir)
        const message = `ocidx: ${lockPath}: another process holds the lock; gave up waiting. Try again later, or allow a longer lock timeout. Raise --lock-timeout to wait longer.\n`

        const now = yield* ocidx(["ls", dir, "--lock-timeout", "0"])
        expect(now.code, now.stderr).toBe(75)
        expect(now.stderr).toBe(message)
        const global = yield* ocidx(["--lock-timeout", "0", ...putArgs(dir, "v2")])
        expect(global.code, global.stderr).toBe(75)
        expect(global.stderr).toBe(message)

        const waited = yield* ocidx([...putArgs(dir, "v2"), "--lock-timeout", "1500ms"])
        expect(waited.code, waited.stderr).toBe(75)
        // The whole run, start-up included, takes at least the wait; well under the 30s default.
        expect(waited.elapsed).toBeGreaterThanOrEqual(1500)
        expect(waited.elapsed).toBeLessThan(15_000)

        const verify = yield* ocidx(["verify", dir, "--lock-timeout", "0", "--json"])
        expect(verify.code, verify.stderr).toBe(75)
        expect(JSON.parse(verify.stdout).findings).toEqual([expect.objectContaining({ code: "index-locked" })])
        expect(snapshot(dir)).toEqual(before)
      })
  )

  it.scopedLive.skipIf(noFlock !== undefined)(
    "a command that outlives its deadline fails the test naming it, with where it waits",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        writeTaggedImage(dir)
        writeBlob(dir, "some manifest", manifestType)
        yield* holdLock(NodePath.join(dir, "index.json.lock"), "exclusive")
        const args = [...putArgs(dir, "v2"), "--lock-timeout", "1h"]
        const exit = yield* Effect.exit(ocidx(args, { deadline: "3 seconds" }))
        expect(Exit.isFailure(exit)).toBe(true)
        const said = Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""
        expect(said).toContain(`${dir} v2`)
        expect(said).toContain("took longer than 3s")
        // Each thread's state and wait channel (the main thread is between lock attempts, or making one); stdin,
        // stdout and stderr are the test's pipes.
        expect(said).toMatch(/threads:\n( {2}\d+ [^:\n]+: [A-Z] \([a-z ]+\), waiting in \S+\n)+descriptors:/)
        expect(said).toMatch(/descriptors:\n {2}0 -> \S+\n {2}1 -> \S+\n {2}2 -> \S+\n/)
      })
  )

  it.scopedLive.skipIf(noFlock !== undefined)("a reader's shared lock lets reads through and holds writes", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      writeTaggedImage(dir)
      writeBlob(dir, "some manifest", manifestType)
      yield* holdLock(NodePath.join(dir, "index.json.lock"), "shared")
      const ls = yield* ocidx(["ls", dir, "--lock-timeout", "0"])
      expect(ls.code, ls.stderr).toBe(0)
      const put = yield* ocidx([...putArgs(dir, "v2"), "--lock-timeout", "0"])
      expect(put.code, put.stderr).toBe(75)
    })
  )

  for (const [signal, code] of [
    ["SIGTERM", 143],
    ["SIGINT", 130]
  ] as const) {
    it.scopedLive.skipIf(noFlock !== undefined)(
      `${signal} stops a put that waits for the lock, promptly, with exit ${code}`,
      () =>
        Effect.gen(function* () {
          const dir = yield* tempDir
          writeTaggedImage(dir)
          writeBlob(dir, "some manifest", manifestType)
          const lockPath = NodePath.join(dir, "index.json.lock")
          const before = snapshot(dir)
          const holder = yield* Effect.forkScoped(
            Effect.scoped(Effect.zipRight(holdLock(lockPath, "shared"), Effect.never))
          )
          // Wait for the holder, so ocidx waits.
          for (let i = 0; i < 200 && (yield* lockIsFree(lockPath, "exclusive")); i++) yield* Effect.sleep("25 millis")
          const waiting = yield* spawnOcidx([...putArgs(dir, "v2"), "--lock-timeout", "60s"])
          const pid = waiting.child.pid ?? 0
          yield* waitUntilLocking(pid)
          yield* Effect.sleep("300 millis")
          const sent = Date.now()
          waiting.child.kill(signal)
          const exit = yield* Effect.promise(() => waiting.exited)
          expect(exit, waiting.stderr()).toMatchObject({ code, signal: null })
          expect(exit.at - sent).toBeLessThan(3000)
          expect(waiting.stderr()).toBe("")
          // ocidx never got the lock; the holder still has it, and once it is gone the lock is free.
          expect(yield* lockIsFree(lockPath, "exclusive")).toBe(false)
          yield* Fiber.interrupt(holder)
          for (let i = 0; i < 200 && !(yield* lockIsFree(lockPath, "exclusive")); i++) yield* Effect.sleep("25 millis")
          expect(yield* lockIsFree(lockPath, "exclusive")).toBe(true)
          expect(snapshot(dir)).toEqual(before)
        })
    )
  }

  it.scopedLive.skipIf(noFlock !== undefined)(
    "SIGTERM stops a put that holds the lock: exit 143, lock released, index.json old or new, never torn",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        // Big enough that reading, decoding and writing it under the lock takes a visible while.
        const manifests = Array.from({ length: 60_000 }, (_, i) => ({
          mediaType: manifestType,
          digest: sha256(`manifest ${i}`),
          size: 100 + i,
          annotations: { "org.opencontainers.image.ref.name": `tag${i}` }
        }))
        writeLayout(dir, manifests)
        writeBlob(dir, "some manifest", manifestType)
        const lockPath = NodePath.join(dir, "index.json.lock")
        NodeFs.writeFileSync(lockPath, "")
        const working = yield* spawnOcidx(putArgs(dir, "new"))
        let held = false
        for (let i = 0; i < 2000 && working.child.exitCode === null; i++) {
          if (!(yield* lockIsFree(lockPath, "shared"))) {
            held = true
            break
          }
          yield* Effect.sleep("5 millis")
        }
        const sent = Date.now()
        working.child.kill("SIGTERM")
        const exit = yield* Effect.promise(() => working.exited)
        expect(exit.at - sent).toBeLessThan(5000)
        // The signal came while ocidx held the lock (else this test proves nothing).
        expect(held).toBe(true)
        expect(exit, working.stderr()).toMatchObject({ code: 143, signal: null })
        expect(yield* lockIsFree(lockPath, "exclusive")).toBe(true)
        const after = readIndex(dir).manifests
        expect([manifests.length, manifests.length + 1]).toContain(after.length)
        expect(after.slice(0, manifests.length)).toEqual(manifests)
        expect(JSON.parse(NodeFs.readFileSync(NodePath.join(dir, "index.json"), "utf8")).mediaType).toBe(indexType)
      })
  )
})
