/**
 * Unwritable lock files for tests: a tmpfs mounted read-only and an immutable file (both need root, as on CI).
 */
import * as ChildProcess from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import type { Scope } from "effect"
import { Effect } from "effect"
import { tempDir } from "./tempDir.js"

const run = (command: string, args: ReadonlyArray<string>): boolean =>
  ChildProcess.spawnSync(command, args, { stdio: "ignore" }).status === 0

/** Whether this process can mount a tmpfs (checked once, by mounting and unmounting one). */
export const canMountTmpfs: boolean = (() => {
  if (process.platform !== "linux" || process.getuid?.() !== 0) return false
  const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "ocidx-mount-probe-"))
  try {
    if (!run("mount", ["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", dir])) return false
    return run("umount", [dir])
  } finally {
    NodeFs.rmSync(dir, { recursive: true, force: true })
  }
})()

const mountCommand = (args: ReadonlyArray<string>): Effect.Effect<void, Error> =>
  Effect.async<void, Error>((resume) => {
    const child = ChildProcess.spawn("mount", args, { stdio: ["ignore", "ignore", "inherit"] })
    child.on("error", (error) => resume(Effect.fail(error)))
    child.on("exit", (code) =>
      resume(code === 0 ? Effect.void : Effect.fail(new Error(`mount ${args.join(" ")} exited with ${code}`)))
    )
  })

/**
 * A directory on a tmpfs that is read-only once `prepare` has run (it runs while the tmpfs is still
 * writable, to leave files there). Unmounted and removed when the scope closes.
 */
export const readOnlyTmpfs = (prepare: (dir: string) => void = () => {}): Effect.Effect<string, Error, Scope.Scope> =>
  Effect.gen(function* () {
    const dir = yield* tempDir
    yield* Effect.acquireRelease(mountCommand(["-t", "tmpfs", "-o", "size=4m", "tmpfs", dir]), () =>
      Effect.sync(() => run("umount", ["-l", dir]))
    )
    prepare(dir)
    yield* mountCommand(["-o", "remount,ro", dir])
    return dir
  })

/** Whether `chattr +i` works here (root on ext4, xfs, btrfs...): an immutable file gives EPERM even to root. */
export const canChattr: boolean = (() => {
  if (process.platform !== "linux" || process.getuid?.() !== 0) return false
  const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "ocidx-chattr-probe-"))
  const file = NodePath.join(dir, "probe")
  try {
    NodeFs.writeFileSync(file, "")
    if (!run("chattr", ["+i", file])) return false
    return run("chattr", ["-i", file])
  } finally {
    NodeFs.rmSync(dir, { recursive: true, force: true })
  }
})()

/** Makes `file` immutable (`chattr +i`) until the scope closes. */
export const immutable = (file: string): Effect.Effect<void, Error, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => run("chattr", ["+i", file])).pipe(
      Effect.filterOrFail(
        (ok) => ok,
        () => new Error(`chattr +i ${file} failed`)
      ),
      Effect.asVoid
    ),
    () => Effect.sync(() => run("chattr", ["-i", file]))
  )
