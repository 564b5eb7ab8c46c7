/**
 * Bad input gets one clear, safe line (issue 10): a 150,000-entry `ls` table, flags that feed a descriptor
 * answered about the flag, control characters and bidi overrides echoed escaped (never a raw ESC, never a
 * message split over lines), and a table of odd inputs none of which ends in a stack trace or exit 70.
 * Every refusal leaves the layout byte for byte as it was.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { tempDir } from "@ocidx/testkit/TempDir"
import { unsafeCharacters } from "@ocidx/testkit/Terminal"
import { Effect } from "effect"
import { ocidx, type RunResult } from "./support/cli.js"
import { snapshot, tagged, writeImage, writeLayout } from "./support/layout.js"

// Each case runs the CLI several times; on a loaded machine a start can take seconds.
const timeout = 180_000

const label = (args: ReadonlyArray<string>, result: RunResult) =>
  `ocidx ${JSON.stringify(args)} -> ${result.code}\nstdout: ${result.stdout.slice(0, 2000)}\nstderr: ${result.stderr}`

/** Human output: nothing a terminal would act on, except the newlines that end lines. */
const expectSafe = (args: ReadonlyArray<string>, result: RunResult) => {
  expect(unsafeCharacters(result.stdout, ["\n"]), label(args, result)).toEqual([])
  expect(unsafeCharacters(result.stderr, ["\n"]), label(args, result)).toEqual([])
}

/** One error, one line: `ocidx: ...` and a newline. */
const expectOneLine = (args: ReadonlyArray<string>, result: RunResult, start: string) => {
  expect(result.stderr.split("\n"), label(args, result)).toHaveLength(2)
  expect(result.stderr.startsWith(start), label(args, result)).toBe(true)
}

/** Never a defect: no stack frame, no "internal error", and an exit code from the contract for input. */
const expectClean = (args: ReadonlyArray<string>, result: RunResult) => {
  expect([0, 1, 2, 65, 74], label(args, result)).toContain(result.code)
  expect(result.stderr, label(args, result)).not.toMatch(/^\s+at /m)
  expect(result.stderr, label(args, result)).not.toContain("internal error")
}

describe.concurrent("hostile text through the CLI", () => {
  it.scopedLive(
    "ls prints the table of 150,000 entries (no spread of the rows into one call)",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const image = writeImage(dir)
        const entries = Array.from({ length: 150_000 }, (_, i) => tagged(image.manifest, `t${i}`))
        writeLayout(dir, entries)
        const before = snapshot(dir)
        const result = yield* ocidx(["ls", dir])
        expect(result.code, result.stderr).toBe(0)
        const lines = result.stdout.trimEnd().split("\n")
        expect(lines).toHaveLength(150_001)
        expect(lines[0]).toMatch(/^NAME\s+DIGEST\s+MEDIA TYPE\s+SIZE\s+PLATFORM$/)
        expect(lines[150_000]).toMatch(/^t149999\s+sha256:/)
        expect(snapshot(dir)).toEqual(before)
      }),
    timeout
  )

  it.scopedLive(
    "a flag that feeds the descriptor is answered about the flag: one line, exit 65, nothing written",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const image = writeImage(dir)
        writeLayout(dir)
        const before = snapshot(dir)
        const base = ["put", dir, "v1", "--digest", image.manifest.digest, "--size", String(image.manifest.size)]
        const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
          [[...base, "--annotation", "__proto__=x"], 'ocidx: --annotation "__proto__=...": "__proto__" is not'],
          [[...base, "--annotation", "constructor=x"], 'ocidx: --annotation "constructor=...": "constructor" is not'],
          [[...base, "--annotation", "prototype=x"], "ocidx: --annotation "],
          [[...base, "--annotation", "a\u0001b=x"], 'ocidx: --annotation "a\\u0001b=...": "a\\u0001b" is not'],
          [[...base, "--annotation", "a\nb=x"], 'ocidx: --annotation "a\\nb=...": '],
          [[...base, "--annotation", "a\u202eb=x"], 'ocidx: --annotation "a\\u202eb=...": '],
          [[...base, "--media-type", "bad\u001b[31m"], 'ocidx: --media-type: "bad\\u001b[31m" is not a media type'],
          [[...base, "--media-type", "nope"], 'ocidx: --media-type: "nope" is not a media type'],
          [[...base, "--name", "bad name"], 'ocidx: --name: invalid reference "bad name"'],
          [["put", dir, "--digest", "sha256:\u001b[2J", "--size", "1"], 'ocidx: --digest: "sha256:\\u001b[2J"'],
          [["put", dir, "--digest", image.manifest.digest, "--size", "1\n2"], 'ocidx: --size: "1\\n2" is not a size']
        ]
        for (const [args, start] of cases) {
          const result = yield* ocidx(args)
          expect(result.code, label(args, result)).toBe(65)
          expectOneLine(args, result, start)
          expect(result.stderr, label(args, result)).not.toContain("Fix or restore the file")
          expectSafe(args, result)
        }
        expect(snapshot(dir)).toEqual(before)
      }),
    timeout
  )

  it.scopedLive(
    "tags with a newline or an escape sequence on the command line: one escaped line each, nothing written",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const image = writeImage(dir)
        writeLayout(dir, [tagged(image.manifest, "v1")])
        const before = snapshot(dir)
        const put = ["--digest", image.manifest.digest, "--size", String(image.manifest.size)]
        const cases: ReadonlyArray<readonly [ReadonlyArray<string>, number, string]> = [
          [["put", dir, "a\nb", ...put], 65, 'ocidx: invalid reference "a\\nb": '],
          [["put", dir, "a\u001b[31mred", ...put], 65, 'ocidx: invalid reference "a\\u001b[31mred": '],
          [["get", dir, "a\u001b[31mred"], 1, `ocidx: ${dir}/index.json has no entry named "a\\u001b[31mred"`],
          [["get", dir, "a\nb"], 1, `ocidx: ${dir}/index.json has no entry named "a\\nb"`],
          [["rm", dir, "a\nb", "x\u202ey"], 1, `ocidx: ${dir}/index.json has no entry named "a\\nb", "x\\u202ey"`],
          [["cat", dir, "a\u009b31m"], 1, `ocidx: ${dir}/index.json has no entry named "a\\u009b31m"`]
        ]
        for (const [args, code, start] of cases) {
          const result = yield* ocidx(args)
          expect(result.code, label(args, result)).toBe(code)
          expectOneLine(args, result, start)
          expectSafe(args, result)
        }
        expect(snapshot(dir)).toEqual(before)
      }),
    timeout
  )

  it.scopedLive(
    "names with control characters found in index.json: ls, get, rm and verify print them escaped",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const image = writeImage(dir)
        const hostile = (name: string) => ({
          ...tagged(image.manifest, name),
          annotations: { "org.opencontainers.image.ref.name": name, "x\u001b[1m": "v\u001b[2J" }
        })
        writeLayout(dir, [hostile("a\nb"), hostile("a\u001b[31mred"), hostile("x\u202ey"), hostile("ok")])

        const ls = yield* ocidx(["ls", dir])
        expect(ls.code, ls.stderr).toBe(0)
        expectSafe(["ls"], ls)
        const rows = ls.stdout.trimEnd().split("\n")
        expect(rows).toHaveLength(5)
        expect(rows.map((row) => row.split(/\s{3,}/)[0])).toEqual([
          "NAME",
          "a\\nb",
          "a\\u001b[31mred",
          "x\\u202ey",
          "ok"
        ])

        // get answers with JSON, where the name is escaped as JSON escapes it.
        const get = yield* ocidx(["get", dir, "a\u001b[31mred"])
        expect(get.code, get.stderr).toBe(0)
        expectSafe(["get"], get)
        expect(JSON.parse(get.stdout).annotations["org.opencontainers.image.ref.name"]).toBe("a\u001b[31mred")

        const verify = yield* ocidx(["verify", dir])
        expectSafe(["verify"], verify)
        expect(verify.stdout).toContain('"a\\u001b[31mred" is not a valid ref name')

        const rm = yield* ocidx(["rm", dir, "a\nb"])
        expect(rm.code, rm.stderr).toBe(0)
        expectSafe(["rm"], rm)
        expect(rm.stdout).toBe(`${dir}: removed a\\nb -> ${image.manifest.digest.slice(0, 19)}\n`)
        const left = JSON.parse(NodeFs.readFileSync(NodePath.join(dir, "index.json"), "utf8"))
        expect(left.manifests).toHaveLength(3)
      }),
    timeout
  )

  it.scopedLive(
    "odd inputs: an exit code from the contract, never a stack trace or exit 70",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const layout = NodePath.join(dir, "layout")
        NodeFs.mkdirSync(layout)
        const image = writeImage(layout)
        writeLayout(layout, [tagged(image.manifest, "v1")])
        const garbage = NodePath.join(dir, "garbage")
        // Binary, without NUL: every other byte value, in a fixed order.
        NodeFs.writeFileSync(garbage, Buffer.from(Array.from({ length: 4096 }, (_, i) => 1 + ((i * 37) % 255))))
        const plainFile = NodePath.join(dir, "plain")
        NodeFs.writeFileSync(plainFile, "not a layout\n")
        // Long, but under the kernel's 128 KiB limit on one argument (MAX_ARG_STRLEN).
        const long = "a".repeat(60_000)
        const put = ["--digest", image.manifest.digest, "--size", String(image.manifest.size)]
        const inputs: ReadonlyArray<ReadonlyArray<string>> = [
          ["put", layout, long, ...put],
          ["put", layout, "v2", ...put, "--annotation", `${long}=${long}`],
          ["put", layout, "v2", ...put, "--name", `${long}/x:y`],
          ["put", layout, "v2", ...put, "--media-type", long],
          ["put", layout, "v2", "--digest", `sha256:${long}`, "--size", long],
          ["put", layout, "v2", ...put, "--platform", `${long}/${long}`],
          ["put", layout, "v2", "--descriptor", garbage],
          ["put", layout, "v2", "--descriptor", dir],
          ["put", layout, "v2", "--descriptor", NodePath.join(dir, "missing")],
          ["get", layout, long],
          ["rm", layout, long],
          ["cat", layout, long],
          ["blob", "get", layout, `sha256:${long}`],
          ["ls", plainFile],
          ["ls", garbage],
          ["verify", plainFile],
          ["get", NodePath.join(layout, "index.json"), "v1"],
          ["ls", long],
          ["ls", `${dir}/\u001b[31m`],
          [long]
        ]
        // Some of these are valid (a 60,000-character tag or annotation is not against the spec): only the
        // way each ends is checked here.
        for (const args of inputs) {
          const result = yield* ocidx(args)
          expectClean(args, result)
          expectSafe(args, result)
        }

        // index.json that is JSON, but not an object: refused as invalid data by readers and writers.
        for (const text of ['"a string"', "42", "[1,2]", "null", "true", "{}"]) {
          NodeFs.writeFileSync(NodePath.join(layout, "index.json"), text)
          const stillThere = snapshot(layout)
          for (const args of [
            ["ls", layout],
            ["get", layout, "v1"],
            ["rm", layout, "v1"],
            ["put", layout, "v2", ...put]
          ]) {
            const result = yield* ocidx(args)
            const what = [...args, `(index.json ${text})`]
            expectClean(what, result)
            expect(result.code, label(what, result)).toBe(65)
            // A file with several problems gets the schema's account of each after the first line.
            expect(result.stderr.startsWith(`ocidx: ${layout}/index.json is invalid`), label(what, result)).toBe(true)
          }
          expect(snapshot(layout)).toEqual(stillThere)
        }
      }),
    timeout
  )
})
