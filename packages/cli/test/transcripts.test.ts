/**
 * The ```console transcripts in README.md and docs/*.md are real: each `$ ` line is run by sh, in order, in
 * one fresh directory per document, with `ocidx` the built bin, and what it prints (stdout and stderr
 * together) must be the lines shown under it. A block preceded by `<!-- not-run -->` is shown only (for
 * example one that needs another process holding the lock).
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { markdownDocuments } from "@ocidx/testkit/Docs"
import { run } from "@ocidx/testkit/Processes"
import { tempDir } from "@ocidx/testkit/TempDir"
import { repoRoot } from "./support/cli.js"

const launcher = NodePath.join(repoRoot, "packages", "cli", "bin", "ocidx")

interface Step {
  readonly command: string
  readonly expected: string
  /** Where the command is shown, `file:line`. */
  readonly at: string
}

const transcripts = (file: string): ReadonlyArray<Step> => {
  const lines = NodeFs.readFileSync(NodePath.join(repoRoot, file), "utf8").split("\n")
  const steps: Array<Step> = []
  for (let i = 0; i < lines.length; i++) {
    if ((lines[i] ?? "").trimEnd() !== "```console") continue
    let previous = i - 1
    while (previous >= 0 && (lines[previous] ?? "").trim() === "") previous--
    let end = i + 1
    while (end < lines.length && (lines[end] ?? "").trimEnd() !== "```") end++
    if ((lines[previous] ?? "").trim() !== "<!-- not-run -->") {
      let current: { command: string; output: Array<string>; at: string } | undefined
      const flush = () => {
        if (current !== undefined) {
          steps.push({ command: current.command, expected: current.output.join("\n").trimEnd(), at: current.at })
        }
      }
      for (let j = i + 1; j < end; j++) {
        const line = lines[j] ?? ""
        if (line.startsWith("$ ")) {
          flush()
          current = { command: line.slice(2), output: [], at: `${file}:${j + 1}` }
        } else {
          current?.output.push(line)
        }
      }
      flush()
    }
    i = end
  }
  return steps
}

const documents = (): ReadonlyArray<string> =>
  markdownDocuments(repoRoot).filter((file) => transcripts(file).length > 0)

describe("the console transcripts in README.md and docs/*.md", () => {
  it("the README has one", () => {
    expect(documents()).toContain("README.md")
  })

  for (const file of documents()) {
    it.scopedLive(
      `${file}: every command prints what the document shows`,
      () =>
        Effect.gen(function* () {
          const cwd = yield* tempDir
          const mismatches: Array<string> = []
          for (const step of transcripts(file)) {
            // `ocidx` is the launcher users run; a function, so pipes and redirections work as in a shell.
            const script = `ocidx() { '${launcher}' "$@"; }\nexec 2>&1\n${step.command}`
            const result = yield* run("sh", ["-c", script], { cwd })
            const actual = result.stdout.trimEnd()
            if (actual !== step.expected) {
              mismatches.push(`${step.at}: $ ${step.command}\n--- shown\n${step.expected}\n--- printed\n${actual}`)
            }
          }
          expect(mismatches.join("\n\n")).toBe("")
        }),
      300_000
    )
  }
})
