/**
 * Unwritable directories and files for tests: a tmpfs mounted read-only and an immutable file. Both need
 * root (as on CI), where chmod stops nothing.
 */
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import type { Scope } from "effect"
import { Effect } from "effect"
import { runOk, runSync } from "./Processes.js"
import { tempDir } from "./TempDir.js"

const succeeds = (command: string, args: ReadonlyArray<string>): boolean => runSync(command, args).code === 0

/** Whether this process can mount a tmpfs (checked once, by mounting and unmounting one). */
export const canMountTmpfs: boolean = (() => {
  if (process.platform !== "linux" || process.getuid?.() !== 0) return false
  const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "ocidx-mount-probe-"))
  try {
    if (!succeeds("mount", ["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", dir])) return false
    return succeeds("umount", [dir])
  } finally {
    NodeFs.rmSync(dir, { recursive: true, force: true })
  }
})()

/** Why a read-only tmpfs cannot be had here, or `undefined` when it can. */
export const tmpfsUnavailable: string | undefined = canMountTmpfs
  ? undefined
  : "mounting a read-only tmpfs needs Linux, root and a working `mount`"

/**
 * A directory on a tmpfs that is read-only once `prepare` has run (it runs while the tmpfs is still
 * writable, to leave files there). Unmounted and removed when the scope closes.
 */
export const readOnlyTmpfs = (prepare: (dir: string) => void = () => {}): Effect.Effect<string, Error, Scope.Scope> =>
  Effect.gen(function* () {
    const dir = yield* tempDir
    yield* Effect.acquireRelease(runOk("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", dir]), () =>
      Effect.sync(() => succeeds("umount", ["-l", dir]))
    )
    prepare(dir)
    yield* runOk("mount", ["-o", "remount,ro", dir])
    return dir
  })

/** Whether `chattr +i` works here (root on ext4, xfs, btrfs...): an immutable file gives EPERM even to root. */
export const canChattr: boolean = (() => {
  if (process.platform !== "linux" || process.getuid?.() !== 0) return false
  const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "ocidx-chattr-probe-"))
  const file = NodePath.join(dir, "probe")
  try {
    NodeFs.writeFileSync(file, "")
    if (!succeeds("chattr", ["+i", file])) return false
    return succeeds("chattr", ["-i", file])
  } finally {
    NodeFs.rmSync(dir, { recursive: true, force: true })
  }
})()

/** Makes `file` immutable (`chattr +i`) until the scope closes. */
export const immutable = (file: string): Effect.Effect<void, Error, Scope.Scope> =>
  Effect.acquireRelease(Effect.asVoid(runOk("chattr", ["+i", file])), () =>
    Effect.sync(() => succeeds("chattr", ["-i", file]))
  )
