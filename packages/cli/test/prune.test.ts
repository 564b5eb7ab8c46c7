/**
 * `ocidx prune` and `ocidx ls --sizes` on the built bundle: BuildKit local cache directories of both forms,
 * umoci-made layouts read back by skopeo, and the values that are usage errors.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Either } from "effect"
import { Effect } from "effect"
import { type CacheDirectory, cacheDirectory, refNameKey, writeCacheDirectory } from "@ocidx/testkit/BuildkitCache"
import { runOk } from "@ocidx/testkit/Processes"
import { tempDir } from "@ocidx/testkit/TempDir"
import { announceSkip, missing, skopeoPath, umociPath } from "@ocidx/testkit/Tools"
import { parseAge, parseByteSize, parseCount } from "../src/commands/Prune.js"
import { formatSize } from "../src/Output.js"
import { ocidx, ocidxExpect } from "./support/cli.js"
import { blobPath, snapshot } from "./support/layout.js"

const hour = 3_600_000

/** Four exports sharing a base layer, the first two in the older index form. */
const cache = (): CacheDirectory =>
  cacheDirectory([
    { form: "index", layers: ["base", "main 1"], tag: "main" },
    { form: "index", layers: ["base", "pr-1 1", "pr-1 2"], tag: "pr-1" },
    { form: "manifest", layers: ["base", "pr-2 1"], tag: "pr-2" },
    { form: "manifest", layers: ["base", "pr-3 1"], tag: "pr-3" }
  ])

/** Writes the cache at `dir`: every blob two days old, entry i's root `hoursAgo[i]` hours old. */
const writeAged = (dir: string, written: CacheDirectory, hoursAgo: ReadonlyArray<number>) => {
  writeCacheDirectory(dir, written)
  const now = Date.now()
  for (const name of NodeFs.readdirSync(NodePath.join(dir, "blobs", "sha256"))) {
    const old = new Date(now - 48 * hour)
    NodeFs.utimesSync(NodePath.join(dir, "blobs", "sha256", name), old, old)
  }
  written.entries.forEach((entry, i) => {
    const when = new Date(now - (hoursAgo[i] ?? 0) * hour)
    NodeFs.utimesSync(blobPath(dir, entry.digest), when, when)
  })
}

const sum = (sizes: Iterable<number>) => [...sizes].reduce((total, size) => total + size, 0)

/** The bytes of the blobs only the exports `gone` reach. */
const freedBy = (written: CacheDirectory, gone: ReadonlyArray<number>) => {
  const kept = new Set(written.blobs.flatMap((blobs, i) => (gone.includes(i) ? [] : [...blobs.keys()])))
  const freed = new Map<string, number>()
  for (const i of gone)
    for (const [digest, size] of written.blobs[i] ?? []) if (!kept.has(digest)) freed.set(digest, size)
  return freed
}

const tags = (entries: ReadonlyArray<{ readonly annotations?: Record<string, string> }>) =>
  entries.map((entry) => entry.annotations?.[refNameKey])

const ingestBytes = (dir: string, written: CacheDirectory) =>
  written.ingest.map((path) => NodeFs.readFileSync(NodePath.join(dir, path), "utf8"))

describe("ocidx prune on BuildKit cache directories", () => {
  it.scopedLive(
    "ls --sizes shows each entry's total and unique bytes, in the table and in --json",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const written = cache()
        writeAged(dir, written, [10, 5, 3, 1])
        const json = JSON.parse((yield* ocidxExpect(0, ["ls", dir, "--sizes", "--json"])).stdout)
        expect(json).toEqual(
          written.entries.map((entry, i) => ({
            ...entry,
            sizes: { total: sum(written.blobs[i]?.values() ?? []), unique: sum(freedBy(written, [i]).values()) }
          }))
        )
        // Without --sizes, the descriptors exactly as stored.
        expect(JSON.parse((yield* ocidxExpect(0, ["ls", dir, "--json"])).stdout)).toEqual(written.entries)
        const table = (yield* ocidxExpect(0, ["ls", dir, "--sizes"])).stdout.split("\n")
        expect(table[0]).toMatch(/^NAME\s+DIGEST\s+MEDIA TYPE\s+SIZE\s+TOTAL\s+UNIQUE\s+PLATFORM$/)
        expect(table[1]).toMatch(
          new RegExp(
            `^main\\s.*\\s${formatSize(sum(written.blobs[0]?.values() ?? []))}\\s+${formatSize(sum(freedBy(written, [0]).values()))}\\s+-$`
          )
        )
        expect(table).toHaveLength(written.entries.length + 2)
      }),
    120_000
  )

  it.scopedLive(
    "--keep main --keep-last 1 removes pr-1 and pr-2 and their own blobs; gc then finds nothing, verify is clean, ingest/ untouched",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const written = cache()
        writeAged(dir, written, [10, 5, 3, 1])
        const before = ingestBytes(dir, written)
        const result = yield* ocidxExpect(0, [
          "prune",
          dir,
          "--keep",
          "main",
          "--keep-last",
          "1",
          "--grace",
          "0",
          "--json"
        ])
        const report = JSON.parse(result.stdout)
        expect(tags(report.removed)).toEqual(["pr-1", "pr-2"])
        expect(report.removed).toEqual([written.entries[1], written.entries[2]])
        const freed = freedBy(written, [1, 2])
        expect(report.blobs.map((blob: { digest: string }) => blob.digest).sort()).toEqual([...freed.keys()].sort())
        expect(report.bytes).toBe(sum(freed.values()))
        for (const digest of freed.keys()) expect(NodeFs.existsSync(blobPath(dir, digest))).toBe(false)
        expect(tags(JSON.parse((yield* ocidxExpect(0, ["ls", dir, "--json"])).stdout))).toEqual(["main", "pr-3"])
        expect(JSON.parse((yield* ocidxExpect(0, ["gc", dir, "--grace", "0", "--json"])).stdout)).toEqual({
          removed: [],
          bytes: 0
        })
        expect(JSON.parse((yield* ocidxExpect(0, ["verify", dir, "--strict", "--json"])).stdout)).toEqual({
          ok: true,
          findings: []
        })
        expect(ingestBytes(dir, written)).toEqual(before)
      }),
    120_000
  )

  it.scopedLive(
    "--dry-run changes no byte and prints what the real run then does",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const written = cache()
        writeAged(dir, written, [10, 5, 3, 1])
        const before = snapshot(dir)
        const indexMtime = NodeFs.statSync(NodePath.join(dir, "index.json")).mtimeMs
        const args = ["prune", dir, "--keep", "main", "--older-than", "4h", "--grace", "0"]
        const dry = yield* ocidxExpect(0, [...args, "--dry-run"])
        expect(snapshot(dir)).toEqual(before)
        expect(NodeFs.statSync(NodePath.join(dir, "index.json")).mtimeMs).toBe(indexMtime)
        const real = yield* ocidxExpect(0, args)
        expect(dry.stdout.replaceAll("would remove", "removed").replace(" (dry run)", "")).toBe(real.stdout)
        const freed = freedBy(written, [1])
        expect(real.stdout).toBe(
          `removed pr-1  ${written.entries[1]?.digest.slice(0, 19)}\n${dir}: removed 1 entry and ${freed.size} blobs, ${formatSize(sum(freed.values()))}\n`
        )
      }),
    120_000
  )

  it.scopedLive(
    "--max-size removes the oldest until the rest fits; nothing left to remove says so",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const written = cache()
        writeAged(dir, written, [10, 5, 3, 1])
        const fits = sum(new Map([...(written.blobs[2] ?? []), ...(written.blobs[3] ?? [])]).values())
        const report = JSON.parse(
          (yield* ocidxExpect(0, ["prune", dir, "--max-size", String(fits), "--grace", "0", "--json"])).stdout
        )
        expect(tags(report.removed)).toEqual(["main", "pr-1"])
        const again = yield* ocidxExpect(0, ["prune", dir, "--max-size", String(fits), "--grace", "0"])
        expect(again.stdout).toBe(`${dir}: nothing to remove\n`)
      }),
    120_000
  )
})

describe("ocidx prune when a manifest cannot be read", () => {
  it.scopedLive(
    "exits 65 and changes nothing, as gc does; --force judges the entry by what could be read",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const written = cache()
        writeAged(dir, written, [10, 5, 3, 1])
        const root = written.entries[1]?.digest ?? ""
        NodeFs.rmSync(blobPath(dir, root))
        const before = snapshot(dir)
        const refused = yield* ocidx(["prune", dir, "--keep-last", "2", "--grace", "0"])
        expect(refused.code).toBe(65)
        expect(refused.stderr).toContain(`the manifest ${root} is reachable from index.json but cannot be read`)
        expect(refused.stderr).toContain("prune removed nothing")
        expect(refused.stderr).toContain("Pass --force")
        // ls --sizes meets the same manifest: exit 65, a message about sizes, and no flag ls does not have.
        const sizes = yield* ocidx(["ls", dir, "--sizes"])
        expect(sizes.code).toBe(65)
        expect(sizes.stderr).toBe(
          `ocidx: ${blobPath(dir, root)}: the manifest ${root} is reachable from index.json but cannot be read (blob ${root} is not in the layout (expected at ${blobPath(dir, root)}). Add the blob, or copy the image again.); the sizes cannot be counted. Restore the blob.\n`
        )
        expect(snapshot(dir)).toEqual(before)
        // Its manifest gone, pr-1 counts as the oldest: it goes, with main.
        const forced = JSON.parse(
          (yield* ocidxExpect(0, ["prune", dir, "--keep-last", "2", "--grace", "0", "--force", "--json"])).stdout
        )
        expect(tags(forced.removed)).toEqual(["main", "pr-1"])
        expect(JSON.parse((yield* ocidxExpect(0, ["verify", dir, "--strict", "--json"])).stdout).ok).toBe(true)
      }),
    120_000
  )
})

describe("ocidx prune: usage", () => {
  it("parses sizes: K/M/G/T and KiB... binary, KB... decimal, any case", () => {
    const bytes = (text: string) => Either.getOrUndefined(parseByteSize(text))
    expect(bytes("0")).toBe(0)
    expect(bytes("1234")).toBe(1234)
    expect(bytes("10B")).toBe(10)
    expect(bytes("500MiB")).toBe(500 * 1024 ** 2)
    expect(bytes("2G")).toBe(2 * 1024 ** 3)
    expect(bytes("2g")).toBe(2 * 1024 ** 3)
    expect(bytes("1.5KiB")).toBe(1536)
    expect(bytes("10GB")).toBe(10 * 1000 ** 3)
    expect(bytes("3kb")).toBe(3000)
    expect(bytes("1T")).toBe(1024 ** 4)
    for (const bad of ["", "10x", "-1", "1e3", "G", "1.5.0M", "10 GiBs", "99999999999999999999"]) {
      expect(Either.isLeft(parseByteSize(bad)), bad).toBe(true)
    }
  })

  it("parses ages (what --grace takes, and days and weeks) and counts", () => {
    const millis = (text: string) => Either.getOrUndefined(Either.map(parseAge(text), Duration.toMillis))
    expect(millis("0")).toBe(0)
    expect(millis("30m")).toBe(30 * 60_000)
    expect(millis("12h")).toBe(12 * hour)
    expect(millis("7d")).toBe(7 * 24 * hour)
    expect(millis("2w")).toBe(14 * 24 * hour)
    for (const bad of ["", "7", "-1d", "3 days", "1y"]) expect(Either.isLeft(parseAge(bad)), bad).toBe(true)
    expect(Either.getOrUndefined(parseCount("0"))).toBe(0)
    expect(Either.getOrUndefined(parseCount("12"))).toBe(12)
    for (const bad of ["", "-1", "1.5", "x"]) expect(Either.isLeft(parseCount(bad)), bad).toBe(true)
  })

  it.scopedLive(
    "bad values, and no rule at all, exit 2 and change nothing",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        writeAged(dir, cache(), [10, 5, 3, 1])
        const before = snapshot(dir)
        const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
          [["--max-size", "10x"], '--max-size: "10x" is not a size'],
          [["--keep-last", "-1"], ""],
          [["--keep-last", "two"], '--keep-last: "two" is not a count'],
          [["--older-than", "3 days"], '--older-than: "3 days" is not a duration'],
          [["--keep", "main"], "prune needs a rule"],
          [[], "prune needs a rule"]
        ]
        for (const [args, message] of cases) {
          const result = yield* ocidx(["prune", dir, ...args])
          expect(result.code, `${args.join(" ")}: ${result.stderr}`).toBe(2)
          expect(result.stderr).toContain(message)
          expect(result.stdout).toBe("")
        }
        expect(snapshot(dir)).toEqual(before)
      }),
    120_000
  )
})

const noTools = missing(["skopeo", skopeoPath], ["umoci", umociPath])
announceSkip("prune on umoci-made layouts", noTools)

describe("ocidx prune on umoci-made layouts", () => {
  it.scopedLive.skipIf(noTools !== undefined)(
    "removes exactly what the rules say; gc finds nothing more, verify is clean, skopeo reads every remaining tag",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const layout = NodePath.join(dir, "umoci")
        const umoci = umociPath ?? "umoci"
        yield* runOk(umoci, ["init", "--layout", layout])
        const rootless = process.getuid?.() === 0 ? [] : ["--rootless"]
        // Four images, each one file more than the one before: they share their first layers.
        yield* runOk(umoci, ["new", "--image", `${layout}:v0`])
        for (const n of [1, 2, 3]) {
          const file = NodePath.join(dir, `file${n}.txt`)
          NodeFs.writeFileSync(file, `file ${n}\n`.repeat(100 * n))
          yield* runOk(umoci, ["tag", "--image", `${layout}:v${n - 1}`, `v${n}`])
          yield* runOk(umoci, ["insert", ...rootless, "--image", `${layout}:v${n}`, file, `/file${n}.txt`])
        }
        const entries = JSON.parse((yield* ocidxExpect(0, ["ls", layout, "--json"])).stdout)
        expect(tags(entries)).toEqual(["v0", "v1", "v2", "v3"])
        // Ages: v0 oldest ... v3 newest, a day apart.
        const now = Date.now()
        entries.forEach((entry: { digest: string }, i: number) => {
          const when = new Date(now - (4 - i) * 24 * hour)
          NodeFs.utimesSync(blobPath(layout, entry.digest), when, when)
        })
        const report = JSON.parse(
          (yield* ocidxExpect(0, ["prune", layout, "--keep", "v0", "--keep-last", "1", "--grace", "0", "--json"]))
            .stdout
        )
        expect(tags(report.removed)).toEqual(["v1", "v2"])
        expect(JSON.parse((yield* ocidxExpect(0, ["gc", layout, "--grace", "0", "--json"])).stdout).removed).toEqual([])
        expect(JSON.parse((yield* ocidxExpect(0, ["verify", layout, "--json"])).stdout)).toEqual({
          ok: true,
          findings: []
        })
        for (const tag of ["v0", "v3"]) {
          const inspected = JSON.parse(yield* runOk(skopeoPath ?? "skopeo", ["inspect", `oci:${layout}:${tag}`]))
          expect(inspected.Layers).toHaveLength(tag === "v0" ? 0 : 3)
        }
      }),
    120_000
  )
})
