/**
 * A read-only layout for tests: a tmpfs, filled while writable, then remounted read-only. CI runs as root,
 * where chmod stops nothing, so a read-only mount is the honest way to make a directory unwritable.
 */
import * as ChildProcess from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import type { Scope } from "effect"
import { Effect } from "effect"
import { tempDir } from "./layout.js"

const run = (command: string, args: ReadonlyArray<string>): boolean =>
  ChildProcess.spawnSync(command, args, { stdio: "ignore" }).status === 0

/** Why a read-only tmpfs cannot be had here, or `undefined` when it can (probed once). */
export const readOnlyUnavailable: string | undefined = (() => {
  if (process.platform !== "linux") return "read-only mounts are only set up on Linux"
  if (process.getuid?.() !== 0) return "mounting a tmpfs needs root"
  const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "ocidx-cli-mount-probe-"))
  try {
    if (!run("mount", ["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", dir])) return "`mount -t tmpfs` failed here"
    return run("umount", [dir]) ? undefined : "`umount` failed here"
  } finally {
    NodeFs.rmSync(dir, { recursive: true, force: true })
  }
})()

/** A directory on a tmpfs that `prepare` fills, then read-only; unmounted when the scope closes. */
export const readOnlyDir = (prepare: (dir: string) => void): Effect.Effect<string, Error, Scope.Scope> =>
  Effect.gen(function* () {
    const dir = yield* tempDir
    yield* Effect.acquireRelease(
      Effect.sync(() => run("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", dir])).pipe(
        Effect.filterOrFail(
          (ok) => ok,
          () => new Error(`mount tmpfs on ${dir} failed`)
        )
      ),
      () => Effect.sync(() => run("umount", ["-l", dir]))
    )
    prepare(dir)
    if (!run("mount", ["-o", "remount,ro", dir])) return yield* Effect.fail(new Error(`remount,ro ${dir} failed`))
    return dir
  })
