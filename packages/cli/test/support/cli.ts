/**
 * Runs the built `ocidx` bundle as a child process, as a user's shell would, through the tests' one process
 * helper (`@ocidx/testkit/Processes`).
 */
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import { type RunResult, run } from "@ocidx/testkit/Processes"
import { Effect } from "effect"

export const repoRoot = NodePath.resolve(NodePath.dirname(fileURLToPath(import.meta.url)), "../../../..")
export const binPath = NodePath.join(repoRoot, "packages", "cli", "bin", "ocidx.mjs")

export type { RunResult }

export interface RunOptions {
  readonly input?: string | Uint8Array
  readonly env?: Record<string, string>
  readonly cwd?: string
}

/** `ocidx ...args`; never fails, whatever the exit code. Killed if the test is interrupted. */
export const ocidx = (args: ReadonlyArray<string>, options: RunOptions = {}): Effect.Effect<RunResult> =>
  Effect.orDie(
    run(process.execPath, [binPath, ...args], { cwd: options.cwd ?? repoRoot, env: options.env, input: options.input })
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
