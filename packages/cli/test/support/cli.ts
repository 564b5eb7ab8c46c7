/**
 * Runs the built `ocidx` bundle as a child process, as a user's shell would, through the tests' one process
 * helper (`@ocidx/testkit/Processes`).
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import { type Child, type RunResult, run } from "@ocidx/testkit/Processes"
import { Duration, Effect } from "effect"

export const repoRoot = NodePath.resolve(NodePath.dirname(fileURLToPath(import.meta.url)), "../../../..")
export const binPath = NodePath.join(repoRoot, "packages", "cli", "bin", "ocidx.mjs")

export type { RunResult }

export interface RunOptions {
  readonly input?: string | Uint8Array
  readonly env?: Record<string, string>
  readonly cwd?: string
  /** How long the command may run before the test dies naming it (`hangAfter` by default). */
  readonly deadline?: Duration.DurationInput
}

/**
 * How long one command may take before the test fails naming it. Far beyond any command on a loaded machine, and
 * under the tests' own timeouts, so that a hang is reported as this command's, with where it waits.
 */
const hangAfter = Duration.seconds(150)

/** A file of /proc, or what kept it from being read. */
const readProc = (file: string): string => {
  try {
    return NodeFs.readFileSync(file, "utf8").trim()
  } catch (error) {
    return `(${error instanceof Error ? error.message : String(error)})`
  }
}

/**
 * Where a hung command waits, from /proc, without disturbing it (a diagnostic report on a signal changed how the
 * commands ran): each thread's name, state and kernel wait channel (`do_epoll_wait` is an idle event loop, kept
 * alive by something; anything else is a blocking call), and what its descriptors are (the lock file, a pipe).
 */
const whereItWaits = (child: Child): Effect.Effect<string> =>
  Effect.sync(() => {
    const proc = `/proc/${child.pid}`
    if (!NodeFs.existsSync(proc)) return "no /proc entry for the process"
    const threads = NodeFs.readdirSync(`${proc}/task`).map((tid) => {
      const task = `${proc}/task/${tid}`
      const state = /^State:\s*(.*)$/m.exec(readProc(`${task}/status`))?.[1] ?? "?"
      return `  ${tid} ${readProc(`${task}/comm`)}: ${state}, waiting in ${readProc(`${task}/wchan`) || "-"}`
    })
    const numbers = NodeFs.readdirSync(`${proc}/fd`).sort((a, b) => Number(a) - Number(b))
    const descriptors = numbers.map((fd) => {
      try {
        return `  ${fd} -> ${NodeFs.readlinkSync(`${proc}/fd/${fd}`)}`
      } catch {
        return `  ${fd} -> ?`
      }
    })
    return ["threads:", ...threads, "descriptors:", ...descriptors].join("\n")
  })

/**
 * `ocidx ...args`; never fails, whatever the exit code. Killed if the test is interrupted. A command still
 * running after `hangAfter` dies the test with its name and where it waits.
 */
export const ocidx = (args: ReadonlyArray<string>, options: RunOptions = {}): Effect.Effect<RunResult> =>
  Effect.orDie(
    run(process.execPath, [binPath, ...args], {
      cwd: options.cwd ?? repoRoot,
      env: options.env,
      input: options.input,
      timeout: options.deadline ?? hangAfter,
      onHang: whereItWaits
    })
  )

/** `ocidx ...args`, failing the test with its output unless it exits with `code`. */
export const ocidxExpect = (
  code: number,
  args: ReadonlyArray<string>,
  options?: RunOptions
): Effect.Effect<RunResult, Error> =>
  Effect.flatMap(ocidx(args, options), (result) =>
    result.code === code
      ? Effect.succeed(result)
      : Effect.fail(
          new Error(
            `ocidx ${args.join(" ")}: expected exit ${code}, got ${result.code ?? result.signal}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`
          )
        )
  )
