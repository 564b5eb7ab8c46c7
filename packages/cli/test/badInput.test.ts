/**
 * The bad-input catalogue: corrupt index files, layouts of a version ocidx does not write, invalid
 * arguments, a missing directory and a read-only one. Each command must exit with the documented code, say
 * which file is wrong, and leave every file of the layout byte for byte as it was.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { ocidx } from "./support/cli.js"
import { readOnlyTmpfs as readOnlyDir, tmpfsUnavailable as readOnlyUnavailable } from "@ocidx/testkit/ReadOnly"
import { tempDir } from "@ocidx/testkit/TempDir"
import { announceSkip } from "@ocidx/testkit/Tools"
import { sha256, snapshot, tagged, writeImage, writeLayout, writeTaggedImage } from "./support/layout.js"

type Args = (dir: string) => ReadonlyArray<string>

/** What to run against a bad layout, the exit code, and what stderr must say (`{dir}` is the layout). */
type Expectation = readonly [Args, number, string?]

const digest = sha256("some manifest")

const reads: ReadonlyArray<Expectation> = [
  [(dir) => ["ls", dir], 65],
  [(dir) => ["ls", dir, "--json"], 65],
  [(dir) => ["get", dir, "v1"], 65],
  [(dir) => ["cat", dir, "v1"], 65]
]
const writes: ReadonlyArray<Expectation> = [
  [(dir) => ["put", dir, "new", "--digest", digest, "--size", "13"], 65],
  [(dir) => ["rm", dir, "v1"], 65],
  [(dir) => ["init", dir], 65],
  [(dir) => ["gc", dir], 65],
  [(dir) => ["gc", dir, "--dry-run"], 65]
]

const indexJson = (dir: string) => NodePath.join(dir, "index.json")

/** A layout with an image tagged v1 whose index.json is then replaced by `bytes`. */
const corruptIndex = (bytes: (valid: Buffer) => Buffer | string) => (dir: string) => {
  writeTaggedImage(dir)
  NodeFs.writeFileSync(indexJson(dir), bytes(NodeFs.readFileSync(indexJson(dir))))
}

const cases: ReadonlyArray<{
  readonly name: string
  readonly prepare: (dir: string) => void
  readonly expectations: ReadonlyArray<Expectation>
  readonly message: (dir: string) => string
}> = [
  {
    name: "index.json truncated",
    prepare: corruptIndex((valid) => valid.subarray(0, Math.floor(valid.length / 2))),
    expectations: [...reads, ...writes, [(dir) => ["verify", dir], 1]],
    message: (dir) => `${dir}/index.json is invalid`
  },
  {
    name: "index.json with schemaVersion 1",
    prepare: corruptIndex((valid) => valid.toString("utf8").replace('"schemaVersion":2', '"schemaVersion":1')),
    expectations: [...reads, ...writes, [(dir) => ["verify", dir], 1]],
    message: (dir) => `${dir}/index.json is invalid at ["schemaVersion"]: schemaVersion must be the number 2`
  },
  {
    name: "index.json with an invalid digest",
    prepare: corruptIndex((valid) => valid.toString("utf8").replace(/"sha256:[0-9a-f]{64}"/, '"sha256:XYZ"')),
    expectations: [...reads, ...writes, [(dir) => ["verify", dir], 1]],
    message: (dir) => `${dir}/index.json is invalid at ["manifests"][0]["digest"]`
  },
  {
    name: "index.json that is not UTF-8",
    prepare: corruptIndex((valid) =>
      Buffer.concat([valid.subarray(0, 20), Buffer.from([0xff, 0xfe]), valid.subarray(20)])
    ),
    expectations: [...reads, ...writes, [(dir) => ["verify", dir], 1]],
    message: (dir) => `${dir}/index.json is invalid`
  },
  {
    name: "index.json that is a JSON array",
    prepare: corruptIndex(() => "[]"),
    expectations: [...reads, ...writes],
    message: (dir) => `${dir}/index.json is invalid`
  },
  {
    name: "oci-layout of version 2.0.0",
    prepare: (dir) => {
      writeTaggedImage(dir)
      NodeFs.writeFileSync(NodePath.join(dir, "oci-layout"), '{"imageLayoutVersion":"2.0.0"}')
    },
    expectations: [...writes, [(dir) => ["ls", dir], 0], [(dir) => ["verify", dir], 1]],
    message: (dir) =>
      `${dir}/oci-layout is invalid at ["imageLayoutVersion"]: imageLayoutVersion is "2.0.0", but ocidx only writes into "1.0.0" layouts`
  },
  {
    name: "invalid arguments",
    prepare: (dir) => writeTaggedImage(dir),
    expectations: [
      [(dir) => ["put", dir, "v2", "--digest", "sha256:1234", "--size", "13"], 65, "--digest: "],
      [(dir) => ["put", dir, "v2", "--digest", "md5:!", "--size", "13"], 65, "--digest: "],
      [(dir) => ["put", dir, "v2", "--digest", digest, "--size", "abc"], 65, '--size: "abc" is not a size'],
      [(dir) => ["put", dir, "v2", "--digest", digest, "--size", "-1"], 65, '--size: "-1" is not a size'],
      [(dir) => ["put", dir, "v2", "--digest", digest, "--size", "1.5"], 65, '--size: "1.5" is not a size'],
      [(dir) => ["put", dir, "v2", "--digest", digest, "--size", "99999999999999999999"], 65, "--size"],
      [(dir) => ["put", dir, "a..b", "--digest", digest, "--size", "13"], 65, 'invalid reference "a..b"'],
      [(dir) => ["put", dir, "with space", "--digest", digest, "--size", "13"], 65, 'invalid reference "with space"'],
      [
        (dir) => ["put", dir, "--name", "bad name!", "--digest", digest, "--size", "13"],
        65,
        'invalid reference "bad name!"'
      ],
      [
        (dir) => ["put", dir, "v2", "--digest", digest, "--size", "13", "--media-type", "nope"],
        65,
        '--media-type: "nope" is not a media type'
      ],
      [(dir) => ["put", dir, "v2", "--digest", digest, "--size", "13", "--annotation", "k"], 2, "--annotation"],
      [(dir) => ["put", dir, "v2", "--digest", digest, "--size", "13", "--annotation", "=x"], 2, "--annotation"],
      [
        (dir) => ["put", dir, "v2", "--digest", digest, "--size", "13", "--annotation", "__proto__=x"],
        65,
        '--annotation "__proto__=...": "__proto__" is not an allowed annotation key'
      ],
      [(dir) => ["put", dir, "v2", "--digest", digest, "--size", "13", "--platform", "linux"], 2, "--platform"],
      [(dir) => ["put", dir, "v2", "--size", "13"], 2, "put needs --digest and --size"],
      [(dir) => ["blob", "get", dir, "sha256:short"], 65, '"sha256:short" is not a valid sha256 digest'],
      [(dir) => ["get", dir, "nope"], 1, 'has no entry named "nope"'],
      [(dir) => ["rm", dir, "nope"], 1, 'has no entry named "nope"'],
      [(dir) => ["cat", dir, "nope"], 1, 'has no entry named "nope"']
    ],
    message: () => ""
  }
]

describe.concurrent("bad input leaves the layout byte for byte as it was", () => {
  for (const { expectations, message, name, prepare } of cases) {
    it.scopedLive(name, () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        prepare(dir)
        const before = snapshot(dir)
        yield* Effect.forEach(
          expectations,
          ([args, code, says]) =>
            Effect.gen(function* () {
              const result = yield* ocidx(args(dir))
              const label = `ocidx ${args(dir).join(" ")}\n${result.stderr}`
              expect(result.code, label).toBe(code)
              if (code === 65 && says === undefined) expect(result.stderr, label).toContain(message(dir))
              if (says !== undefined) expect(result.stderr, label).toContain(says)
              if (code !== 0) expect(result.stdout === "" || code === 1, label).toBe(true)
            }),
          { concurrency: 4 }
        )
        expect(snapshot(dir)).toEqual(before)
      })
    )
  }

  it.scopedLive("a missing directory: every command exits 74 (verify: 1) and creates nothing", () =>
    Effect.gen(function* () {
      const parent = yield* tempDir
      const dir = NodePath.join(parent, "absent")
      const commands: ReadonlyArray<readonly [ReadonlyArray<string>, number]> = [
        [["ls", dir], 74],
        [["get", dir, "v1"], 74],
        [["get", dir], 74],
        [["cat", dir, "v1"], 74],
        [["put", dir, "v1", "--digest", digest, "--size", "13"], 74],
        [["rm", dir, "v1"], 74],
        [["gc", dir], 74],
        [["blob", "put", dir, "-"], 74],
        [["blob", "get", dir, digest], 74],
        [["verify", dir], 1]
      ]
      yield* Effect.forEach(
        commands,
        ([args, code]) =>
          Effect.gen(function* () {
            const result = yield* ocidx(args, { input: "content" })
            expect(result.code, `ocidx ${args.join(" ")}: ${result.stderr}`).toBe(code)
            if (code === 74) {
              expect(result.stderr).toBe(
                `ocidx: cannot read ${dir}: it does not exist; check the path. A new layout is created with \`ocidx init\`.\n`
              )
            }
          }),
        { concurrency: 4 }
      )
      expect(NodeFs.readdirSync(parent)).toEqual([])
    })
  )

  announceSkip("the read-only directory case", readOnlyUnavailable)
  it.scopedLive.skipIf(readOnlyUnavailable !== undefined)(
    "a read-only directory: writes exit 74 saying so, reads work, nothing changes",
    () =>
      Effect.gen(function* () {
        const dir = yield* readOnlyDir((dir) => {
          const image = writeImage(dir)
          writeLayout(dir, [tagged(image.manifest, "v1")])
          // As buildkit or an earlier ocidx would have left it.
          NodeFs.writeFileSync(NodePath.join(dir, "index.json.lock"), "")
        })
        const before = snapshot(dir)
        const failing: ReadonlyArray<ReadonlyArray<string>> = [
          ["put", dir, "v2", "--digest", digest, "--size", "13"],
          ["rm", dir, "v1"],
          ["init", dir],
          ["gc", dir]
        ]
        yield* Effect.forEach(
          failing,
          (args) =>
            Effect.gen(function* () {
              const result = yield* ocidx(args)
              expect(result.code, `ocidx ${args.join(" ")}: ${result.stderr}`).toBe(74)
              expect(result.stderr).toContain(
                `${dir}/index.json.lock: cannot lock for writing because the file system is read-only`
              )
            }),
          { concurrency: 4 }
        )
        const blobPut = yield* ocidx(["blob", "put", dir, "-"], { input: "new content" })
        expect(blobPut.code, blobPut.stderr).toBe(74)
        expect(blobPut.stderr).toContain("the file system is read-only")
        const ls = yield* ocidx(["ls", dir, "--json"])
        expect(ls.code, ls.stderr).toBe(0)
        expect(JSON.parse(ls.stdout)[0].annotations).toEqual({ "org.opencontainers.image.ref.name": "v1" })
        const verify = yield* ocidx(["verify", dir])
        expect(verify.code, verify.stdout + verify.stderr).toBe(0)
        expect(snapshot(dir)).toEqual(before)
      })
  )
})
