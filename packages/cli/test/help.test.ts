/**
 * `ocidx` speaks plainly to pipes: help, usage lines and errors carry no ANSI escapes unless the stream is a
 * terminal and NO_COLOR is not set. Usage lines name the whole command (`ocidx blob put ...`), and a word
 * that names no command is a usage error (exit 2), with `--help` too. Runs the built bundle.
 */
import { describe, expect, it } from "@effect/vitest"
import { run, runSync } from "@ocidx/testkit/Processes"
import { Effect } from "effect"
import { binPath } from "./support/cli.js"

const ansiEscape = "\u001b["

/** A user who asked for nothing: neither NO_COLOR nor FORCE_COLOR. */
const unset = { NO_COLOR: undefined, FORCE_COLOR: undefined }

/** `ocidx ...args` with stdout and stderr pipes. */
const piped = (args: ReadonlyArray<string>, env: Record<string, string | undefined> = unset) =>
  run(process.execPath, [binPath, ...args], { env })

const usageLines = (help: string) => {
  const lines = help.split("\n")
  const start = lines.indexOf("USAGE")
  const end = lines.indexOf("DESCRIPTION")
  return lines.slice(start + 1, end).filter((line) => line !== "")
}

const helps: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
  [["--help"], "ocidx [--lock-timeout duration]"],
  [[], "ocidx [--lock-timeout duration]"],
  [["ls", "--help"], "ocidx ls [--json] [--sizes] [--lock-timeout duration] <dir>"],
  [["--lock-timeout", "5s", "get", "-h"], "ocidx get "],
  [["blob", "--help"], "ocidx blob"],
  [["blob"], "ocidx blob"],
  [["blob", "put", "--help"], "ocidx blob put "]
]

const errors: ReadonlyArray<readonly [ReadonlyArray<string>, number, string]> = [
  [["ls"], 2, "Missing argument <dir>"],
  [["ls", "/tmp", "extra"], 2, "Received unknown argument: 'extra'"],
  [["--lock-timeout", "soon", "ls", "/tmp"], 2, '--lock-timeout: "soon" is not a duration'],
  [["frob"], 2, "ocidx: unknown command 'frob'; run 'ocidx --help' to see the commands\n"],
  [["ls", "/nonexistent/ocidx-help-test"], 74, "ocidx: cannot read /nonexistent/ocidx-help-test"]
]

describe("help and errors on pipes", () => {
  for (const env of [unset, { NO_COLOR: "1", FORCE_COLOR: undefined }]) {
    const on = env.NO_COLOR === undefined ? "a pipe" : "a pipe with NO_COLOR"

    for (const [args, usage] of helps) {
      it.live(`${on}: ocidx ${args.join(" ")} prints plain help whose usage lines start with ocidx`, () =>
        Effect.gen(function* () {
          const result = yield* piped(args, env)
          expect(result.code, result.stderr).toBe(0)
          expect(result.stdout).not.toContain(ansiEscape)
          expect(result.stderr).toBe("")
          const lines = usageLines(result.stdout)
          expect(lines.length).toBeGreaterThan(0)
          for (const line of lines) expect(line.startsWith("ocidx"), line).toBe(true)
          expect(lines[0]?.startsWith(usage), `${lines[0]} vs ${usage}`).toBe(true)
        })
      )
    }

    for (const [args, code, message] of errors) {
      it.live(`${on}: ocidx ${args.join(" ")} exits ${code} with a plain message`, () =>
        Effect.gen(function* () {
          const result = yield* piped(args, env)
          expect(result.code, result.stderr).toBe(code)
          expect(result.stderr).toContain(message)
          expect(result.stderr).not.toContain(ansiEscape)
          expect(result.stdout).toBe("")
        })
      )
    }
  }

  const unknown: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
    [["frob", "--help"], "ocidx: unknown command 'frob'; run 'ocidx --help' to see the commands\n"],
    [["--lock-timeout", "5s", "frob", "-h"], "ocidx: unknown command 'frob'; run 'ocidx --help' to see the commands\n"],
    [["--help", "frob"], "ocidx: unknown command 'frob'; run 'ocidx --help' to see the commands\n"],
    [["blob", "frob", "--help"], "ocidx: unknown command 'blob frob'; run 'ocidx blob --help' to see the commands\n"]
  ]
  for (const [args, message] of unknown) {
    it.live(`ocidx ${args.join(" ")}: an unknown command is exit 2, not the help`, () =>
      Effect.gen(function* () {
        const result = yield* piped(args)
        expect(result.code).toBe(2)
        expect(result.stdout).toBe("")
        expect(result.stderr).toBe(message)
      })
    )
  }
})

/** util-linux `script` runs a command on a pseudo-terminal; the probe also needs a pty to be available. */
const hasScript = runSync("script", ["-qec", "true", "/dev/null"]).code === 0

const quoted = (word: string) => `'${word.replaceAll("'", "'\\''")}'`

/** `ocidx ...args` with stdout and stderr on a terminal. */
const onTerminal = (args: ReadonlyArray<string>, env: Record<string, string | undefined>) =>
  run("script", ["-qec", [process.execPath, binPath, ...args].map(quoted).join(" "), "/dev/null"], { env })

describe.skipIf(!hasScript)("help on a terminal (needs util-linux script)", () => {
  it.live("is styled, unless NO_COLOR is set", () =>
    Effect.gen(function* () {
      const styled = yield* onTerminal(["ls", "--help"], unset)
      expect(styled.code).toBe(0)
      expect(styled.stdout).toContain(ansiEscape)
      expect(styled.stdout).toContain("ocidx ls [--json]")
      const plain = yield* onTerminal(["ls", "--help"], { NO_COLOR: "1", FORCE_COLOR: undefined })
      expect(plain.code).toBe(0)
      expect(plain.stdout).not.toContain(ansiEscape)
      expect(plain.stdout).toContain("ocidx ls [--json]")
    })
  )
})
