/**
 * Hostile JSON end to end (issue 10): the exit code of each case, one `ocidx:` line and never a stack trace,
 * and index.json byte for byte as it was whenever the command refused.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { tempDir } from "@ocidx/testkit/TempDir"
import { Effect } from "effect"
import { ocidx } from "./support/cli.js"
import { indexType, manifestType, sha256, snapshot, tagged, writeImage, writeLayout } from "./support/layout.js"

// Each case runs the CLI several times; on a loaded machine a start can take seconds.
const timeout = 180_000

const indexPath = (dir: string) => NodePath.join(dir, "index.json")
const readText = (path: string) => NodeFs.readFileSync(path, "utf8")

/** No stack trace, no internal error: exit 70 is never an answer to input. */
const expectClean = (result: { readonly code: number | null; readonly stderr: string }, label: string) => {
  expect(result.code, label).not.toBe(70)
  expect(result.stderr, label).not.toMatch(/\n\s+at /)
}

describe.concurrent("hostile JSON through the CLI", () => {
  it.scopedLive(
    "put keeps an unknown 1e400 and an untouched entry's 12345678901234567890 exactly",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const image = writeImage(dir)
        const other = writeImage(dir, "arm64")
        writeLayout(dir)
        const entry = `{"mediaType":"${manifestType}","digest":"${image.manifest.digest}","size":${image.manifest.size},"annotations":{"org.opencontainers.image.ref.name":"v1"},"x-big":12345678901234567890}`
        NodeFs.writeFileSync(
          indexPath(dir),
          `{"schemaVersion":2,"mediaType":"${indexType}","x-top":1e400,"manifests":[${entry}]}`
        )
        const args = ["put", dir, "v2", "--digest", other.manifest.digest, "--size", String(other.manifest.size)]
        const result = yield* ocidx(args)
        expect(result.code, result.stderr).toBe(0)
        const text = readText(indexPath(dir))
        expect(text).toContain(`"x-top":1e400,`)
        expect(text).toContain(entry)
      }),
    timeout
  )

  it.scopedLive(
    "get and ls --json print an entry's 1e400 and 12345678901234567890 as index.json has them, not null or rounded",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const image = writeImage(dir)
        writeLayout(dir)
        const entry = `{"mediaType":"${manifestType}","digest":"${image.manifest.digest}","size":${image.manifest.size},"x-exp":1e400,"annotations":{"org.opencontainers.image.ref.name":"v1"},"x-big":12345678901234567890}`
        NodeFs.writeFileSync(indexPath(dir), `{"schemaVersion":2,"mediaType":"${indexType}","manifests":[ ${entry} ]}`)
        const before = snapshot(dir)
        const get = yield* ocidx(["get", dir, "v1"])
        expect(get.code, get.stderr).toBe(0)
        expect(get.stdout).toContain(`\n  "x-exp": 1e400,\n`)
        expect(get.stdout).toContain(`\n  "x-big": 12345678901234567890\n}\n`)
        const ls = yield* ocidx(["ls", "--json", dir])
        expect(ls.code, ls.stderr).toBe(0)
        expect(ls.stdout).toContain(`\n    "x-exp": 1e400,\n`)
        const sizes = yield* ocidx(["ls", "--json", "--sizes", dir])
        expect(sizes.code, sizes.stderr).toBe(0)
        expect(sizes.stdout).toContain(`\n    "x-big": 12345678901234567890,\n    "sizes": {\n`)
        // Otherwise the same documents JSON.parse reads.
        const parsed: unknown = JSON.parse(ls.stdout)
        expect(parsed).toEqual([JSON.parse(get.stdout)])
        // Piped back into put, the number is refused rather than written as null.
        const put = yield* ocidx(["put", dir, "v2", "--descriptor", "-"], { input: get.stdout })
        expect(put.code).toBe(65)
        expect(put.stderr).toContain("1e400")
        expect(snapshot(dir)).toEqual(before)
      }),
    timeout
  )

  it.scopedLive(
    "a duplicate manifests key: put, rm and ls exit 65 and index.json is untouched",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const image = writeImage(dir)
        writeLayout(dir)
        const entry = JSON.stringify(tagged(image.manifest, "v1"))
        NodeFs.writeFileSync(
          indexPath(dir),
          `{"schemaVersion":2,"mediaType":"${indexType}","manifests":[${entry}],"manifests":[]}`
        )
        const before = snapshot(dir)
        for (const args of [
          ["put", dir, "v2", "--digest", image.manifest.digest, "--size", String(image.manifest.size)],
          ["rm", dir, "v1"],
          ["ls", dir]
        ]) {
          const result = yield* ocidx(args)
          const label = `ocidx ${args.join(" ")}\n${result.stderr}`
          expect(result.code, label).toBe(65)
          expect(result.stderr, label).toContain(`${indexPath(dir)} is invalid at ["manifests"]`)
          expect(result.stderr, label).toContain("more than once")
        }
        expect(snapshot(dir)).toEqual(before)
      }),
    timeout
  )

  it.scopedLive(
    "a 100,000-deep --descriptor: exit 65 too-deep, no stack trace, nothing written",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const image = writeImage(dir)
        writeLayout(dir)
        const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`
        const descriptor = `{"mediaType":"${manifestType}","digest":"${image.manifest.digest}","size":${image.manifest.size},"x":${deep}}`
        const file = NodePath.join(dir, "..", `${NodePath.basename(dir)}-descriptor.json`)
        NodeFs.writeFileSync(file, descriptor)
        yield* Effect.addFinalizer(() => Effect.sync(() => NodeFs.rmSync(file, { force: true })))
        const before = snapshot(dir)
        for (const [args, input] of [
          [["put", dir, "v1", "--descriptor", file], undefined],
          [["put", dir, "v1", "--descriptor", "-"], descriptor]
        ] as const) {
          const result = yield* ocidx(args, input === undefined ? {} : { input })
          const label = `ocidx ${args.join(" ")}\n${result.stderr}`
          expectClean(result, label)
          expect(result.code, label).toBe(65)
          expect(result.stderr, label).toContain("nest more than 64 levels deep")
        }
        expect(snapshot(dir)).toEqual(before)
      }),
    timeout
  )

  it.scopedLive(
    "a 100,000-deep array in index.json: ls and put exit 65, no stack trace",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const image = writeImage(dir)
        writeLayout(dir)
        NodeFs.writeFileSync(
          indexPath(dir),
          `{"schemaVersion":2,"manifests":[],"x":${"[".repeat(100_000)}${"]".repeat(100_000)}}`
        )
        const before = snapshot(dir)
        for (const args of [
          ["ls", dir],
          ["put", dir, "v1", "--digest", image.manifest.digest, "--size", String(image.manifest.size)]
        ]) {
          const result = yield* ocidx(args)
          const label = `ocidx ${args.join(" ")}\n${result.stderr}`
          expectClean(result, label)
          expect(result.code, label).toBe(65)
        }
        expect(snapshot(dir)).toEqual(before)
      }),
    timeout
  )

  it.scopedLive(
    "a --descriptor holding 1e400: exit 65 inexact-number, not written as null",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const image = writeImage(dir)
        writeLayout(dir)
        const before = snapshot(dir)
        const descriptor = `{"mediaType":"${manifestType}","digest":"${image.manifest.digest}","size":${image.manifest.size},"x":1e400}`
        const result = yield* ocidx(["put", dir, "v1", "--descriptor", "-"], { input: descriptor })
        expect(result.code, result.stderr).toBe(65)
        expect(result.stderr).toContain("cannot be kept exactly")
        expect(snapshot(dir)).toEqual(before)
      }),
    timeout
  )

  it.scopedLive(
    "a manifest above 4 MiB: get --platform, verify and gc refuse it unread; cat streams it",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        writeLayout(dir)
        // Above the cap; verify still hashes every blob (streaming), so not 1 GiB on a busy test machine.
        const size = 8 * 1024 * 1024
        /** A blob of `size` zero bytes, sparse: the test writes almost nothing. */
        const zeros = (size: number) => {
          const digest = sha256(new Uint8Array(size))
          const file = NodePath.join(dir, "blobs", "sha256", digest.slice("sha256:".length))
          NodeFs.closeSync(NodeFs.openSync(file, "w"))
          NodeFs.truncateSync(file, size)
          return { digest, size }
        }
        writeLayout(dir, [
          { mediaType: manifestType, ...zeros(size), annotations: { "org.opencontainers.image.ref.name": "v1" } },
          { mediaType: indexType, ...zeros(size + 1), annotations: { "org.opencontainers.image.ref.name": "multi" } }
        ])
        const before = snapshot(dir)
        const cases: ReadonlyArray<readonly [ReadonlyArray<string>, number]> = [
          [["get", dir, "multi", "--platform", "linux/amd64"], 65],
          [["verify", dir], 1],
          [["gc", dir, "--dry-run"], 65],
          [["ls", dir], 0]
        ]
        for (const [args, code] of cases) {
          const result = yield* ocidx(args)
          const label = `ocidx ${args.join(" ")}\n${result.stderr}`
          expectClean(result, label)
          expect(result.code, label).toBe(code)
          if (code !== 0) expect(`${result.stdout}${result.stderr}`, label).toContain("over the 4 MiB")
        }
        // cat copies bytes, streamed and checked; it does not parse them.
        const cat = yield* ocidx(["cat", dir, "v1"])
        expect(cat.code, cat.stderr).toBe(0)
        expect(snapshot(dir)).toEqual(before)
      }),
    timeout
  )
})
