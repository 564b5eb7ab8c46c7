/**
 * Every command and flag of the CLI contract, run as a user runs them: the built bundle in a child process,
 * on layouts on the real disk.
 */
import * as ChildProcess from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { tempDir } from "@ocidx/testkit/TempDir"
import { binPath, ocidx, ocidxExpect } from "./support/cli.js"
import {
  blobPath,
  indexType,
  manifestType,
  readIndex,
  sha256,
  snapshot,
  tagged,
  writeBlob,
  writeImage,
  writeLayout,
  writeTaggedImage
} from "./support/layout.js"

const refName = "org.opencontainers.image.ref.name"
const imageName = "io.containerd.image.name"

describe.concurrent("ocidx init", () => {
  it.scopedLive("creates oci-layout, an empty index.json and blobs/, and is idempotent", () =>
    Effect.gen(function* () {
      const dir = NodePath.join(yield* tempDir, "new", "layout")
      const first = yield* ocidxExpect(0, ["init", dir])
      expect(first.stdout).toBe(`${dir}: OCI image layout ready (oci-layout, index.json, blobs/)\n`)
      expect(NodeFs.readFileSync(NodePath.join(dir, "oci-layout"), "utf8")).toBe('{"imageLayoutVersion":"1.0.0"}')
      expect(JSON.parse(NodeFs.readFileSync(NodePath.join(dir, "index.json"), "utf8"))).toEqual({
        schemaVersion: 2,
        mediaType: indexType,
        manifests: []
      })
      expect(NodeFs.statSync(NodePath.join(dir, "blobs")).isDirectory()).toBe(true)
      const before = snapshot(dir)
      yield* ocidxExpect(0, ["init", dir])
      expect(snapshot(dir)).toEqual(before)
    })
  )

  it.scopedLive("completes a layout and keeps its entries", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      writeTaggedImage(dir)
      NodeFs.rmSync(NodePath.join(dir, "oci-layout"))
      const index = NodeFs.readFileSync(NodePath.join(dir, "index.json"))
      yield* ocidxExpect(0, ["init", dir])
      expect(NodeFs.readFileSync(NodePath.join(dir, "index.json"))).toEqual(index)
      expect(NodeFs.existsSync(NodePath.join(dir, "oci-layout"))).toBe(true)
    })
  )
})

describe.concurrent("ocidx ls", () => {
  it.scopedLive("prints a table: name or tag, short digest, media type, size, platform", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const amd = writeImage(dir, "amd64")
      const arm = writeImage(dir, "arm64")
      const nested = writeBlob(
        dir,
        JSON.stringify({
          schemaVersion: 2,
          mediaType: indexType,
          manifests: [
            { ...amd.manifest, platform: { architecture: "amd64", os: "linux" } },
            { ...arm.manifest, platform: { architecture: "arm64", os: "linux", variant: "v8" } }
          ]
        }),
        indexType
      )
      writeLayout(dir, [
        tagged(amd.manifest, "v1", { platform: { architecture: "amd64", os: "linux" } }),
        { ...amd.manifest, annotations: { [refName]: "1.0", [imageName]: "example.com/app:1.0" } },
        tagged(nested, "multi"),
        arm.manifest
      ])
      const result = yield* ocidxExpect(0, ["ls", dir])
      const lines = result.stdout.trimEnd().split("\n")
      expect(lines[0]).toMatch(/^NAME\s+DIGEST\s+MEDIA TYPE\s+SIZE\s+PLATFORM$/)
      expect(lines[1]).toMatch(
        new RegExp(
          `^v1\\s+${amd.manifest.digest.slice(0, 19)}\\s+${manifestType.replace(/[.+]/g, "\\$&")}\\s+\\d+ B\\s+linux/amd64$`
        )
      )
      expect(lines[2]).toMatch(/^example\.com\/app:1\.0\s+sha256:[0-9a-f]{12}\s/)
      expect(lines[3]).toMatch(
        /^multi\s.*application\/vnd\.oci\.image\.index\.v1\+json\s+\d+ B\s+linux\/amd64,linux\/arm64\/v8$/
      )
      expect(lines[4]).toMatch(/^<none>\s.*\s-$/)
      expect(result.stderr).toBe("")
    })
  )

  it.scopedLive("--json prints the entries exactly as stored, unknown fields included", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const image = writeImage(dir)
      const entries = [
        tagged(image.manifest, "v1", { "x-vendor": { kept: [1, 2] }, urls: ["https://example.com/m"] }),
        {
          ...image.manifest,
          annotations: { "org.example": "é ü" },
          platform: { architecture: "amd64", os: "linux", "x-p": 1 }
        }
      ]
      writeLayout(dir, entries)
      const result = yield* ocidxExpect(0, ["ls", dir, "--json"])
      expect(JSON.parse(result.stdout)).toEqual(entries)
      // One JSON document.
      expect(() => JSON.parse(result.stdout)).not.toThrow()
      const empty = yield* tempDir
      writeLayout(empty)
      expect((yield* ocidxExpect(0, ["ls", "--json", empty])).stdout).toBe("[]\n")
    })
  )
})

describe.concurrent("ocidx get", () => {
  it.scopedLive("finds an entry by tag, by image name and by digest, and prints its descriptor", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const one = writeImage(dir, "amd64", "one")
      const two = writeImage(dir, "amd64", "two")
      const named = { ...two.manifest, annotations: { [refName]: "2.0", [imageName]: "example.com/app:2.0" } }
      writeLayout(dir, [tagged(one.manifest, "v1"), named])
      expect(JSON.parse((yield* ocidxExpect(0, ["get", dir, "v1"])).stdout)).toEqual(tagged(one.manifest, "v1"))
      expect(JSON.parse((yield* ocidxExpect(0, ["get", dir, "example.com/app:2.0"])).stdout)).toEqual(named)
      expect(JSON.parse((yield* ocidxExpect(0, ["get", dir, two.manifest.digest, "--json"])).stdout)).toEqual(named)
      const missing = yield* ocidxExpect(1, ["get", dir, "nope"])
      expect(missing.stdout).toBe("")
      expect(missing.stderr).toBe(
        `ocidx: ${dir}/index.json has no entry named "nope" (no image name, tag or digest matches). List the entries with \`ocidx ls ${dir}\`.\n`
      )
      const ambiguous = yield* ocidxExpect(1, ["get", dir])
      expect(ambiguous.stderr).toContain("holds 2 entries, so there is no single one to get")
    })
  )

  it.scopedLive("without a name, gets the only entry", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const image = writeTaggedImage(dir)
      const result = yield* ocidxExpect(0, ["get", dir])
      expect(JSON.parse(result.stdout).digest).toBe(image.manifest.digest)
      const json = yield* ocidxExpect(0, ["get", "--json", dir])
      expect(json.stdout).toBe(result.stdout)
    })
  )

  it.scopedLive("--platform descends a multi-arch index; a platform it lacks is not found", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const amd = writeImage(dir, "amd64")
      const arm = writeImage(dir, "arm64")
      const armEntry = { ...arm.manifest, platform: { architecture: "arm64", os: "linux" } }
      const nested = writeBlob(
        dir,
        JSON.stringify({
          schemaVersion: 2,
          mediaType: indexType,
          manifests: [{ ...amd.manifest, platform: { architecture: "amd64", os: "linux" } }, armEntry]
        }),
        indexType
      )
      writeLayout(dir, [tagged(nested, "multi")])
      expect(JSON.parse((yield* ocidxExpect(0, ["get", dir, "multi", "--platform", "linux/arm64"])).stdout)).toEqual(
        armEntry
      )
      expect(JSON.parse((yield* ocidxExpect(0, ["get", dir, "--platform", "linux/arm64/v8"])).stdout)).toEqual(armEntry)
      const none = yield* ocidxExpect(1, ["get", dir, "multi", "--platform", "linux/s390x"])
      expect(none.stderr).toContain("has no manifest for linux/s390x")
      const bad = yield* ocidxExpect(2, ["get", dir, "multi", "--platform", "linux"])
      expect(bad.stderr).toContain('--platform: "linux" is not a platform')
    })
  )
})

describe.concurrent("ocidx put", () => {
  it.scopedLive("adds one entry per tag and per --name, with annotations and platform", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const image = writeImage(dir)
      writeLayout(dir)
      const result = yield* ocidxExpect(0, [
        "put",
        dir,
        "v1",
        "latest",
        "--digest",
        image.manifest.digest,
        "--size",
        String(image.manifest.size),
        "--name",
        "docker.io/library/app:3.20",
        "--annotation",
        "org.example.team=infra",
        "--annotation",
        "org.example.note=a=b",
        "--platform",
        "linux/arm/v7"
      ])
      expect(result.stderr).toBe("")
      expect(result.stdout).toBe(
        [
          `${dir}: v1 -> ${image.manifest.digest.slice(0, 19)} (${manifestType})`,
          `${dir}: latest -> ${image.manifest.digest.slice(0, 19)} (${manifestType})`,
          `${dir}: docker.io/library/app:3.20 -> ${image.manifest.digest.slice(0, 19)} (${manifestType})`,
          ""
        ].join("\n")
      )
      const common = {
        ...image.manifest,
        platform: { architecture: "arm", os: "linux", variant: "v7" }
      }
      const annotations = { "org.example.team": "infra", "org.example.note": "a=b" }
      expect(readIndex(dir).manifests).toEqual([
        { ...common, annotations: { ...annotations, [refName]: "v1" } },
        { ...common, annotations: { ...annotations, [refName]: "latest" } },
        { ...common, annotations: { ...annotations, [imageName]: "docker.io/library/app:3.20", [refName]: "3.20" } }
      ])
    })
  )

  it.scopedLive("replaces the entry with the same tag, adds an untagged entry once, honours --media-type", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const one = writeImage(dir, "amd64", "one")
      const two = writeImage(dir, "amd64", "two")
      writeLayout(dir, [tagged(one.manifest, "v1")])
      const args = (image: typeof one) => ["--digest", image.manifest.digest, "--size", String(image.manifest.size)]
      yield* ocidxExpect(0, ["put", dir, "v1", ...args(two)])
      expect(readIndex(dir).manifests).toEqual([tagged(two.manifest, "v1")])
      const untagged = yield* ocidxExpect(0, ["put", dir, ...args(one)])
      expect(untagged.stdout).toContain("untagged entry")
      yield* ocidxExpect(0, ["put", dir, ...args(one)])
      expect(readIndex(dir).manifests).toEqual([tagged(two.manifest, "v1"), one.manifest])
      const docker = "application/vnd.docker.distribution.manifest.v2+json"
      yield* ocidxExpect(0, ["put", dir, "d", ...args(one), "--media-type", docker])
      expect(readIndex(dir).manifests[2]).toEqual(tagged({ ...one.manifest, mediaType: docker }, "d"))
    })
  )

  it.scopedLive("--descriptor reads the whole descriptor from a file or stdin, unknown fields kept", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const image = writeImage(dir)
      writeLayout(dir)
      const descriptor = { ...image.manifest, annotations: { "org.example": "x" }, "x-extra": [true] }
      const file = NodePath.join(dir, "..", `${NodePath.basename(dir)}-descriptor.json`)
      NodeFs.writeFileSync(file, JSON.stringify(descriptor))
      yield* Effect.addFinalizer(() => Effect.sync(() => NodeFs.rmSync(file, { force: true })))
      yield* ocidxExpect(0, ["put", dir, "fromfile", "--descriptor", file])
      yield* ocidxExpect(0, ["put", dir, "fromstdin", "--descriptor", "-", "--platform", "linux/amd64"], {
        input: JSON.stringify(descriptor)
      })
      expect(readIndex(dir).manifests).toEqual([
        { ...descriptor, annotations: { "org.example": "x", [refName]: "fromfile" } },
        {
          ...descriptor,
          annotations: { "org.example": "x", [refName]: "fromstdin" },
          platform: { architecture: "amd64", os: "linux" }
        }
      ])
      // Re-tagging: the names of the entry read back are dropped, the new tag is the entry's only name.
      const named = yield* ocidxExpect(0, ["put", dir, "--name", "example.com/app:1.0", "--descriptor", file])
      expect(named.stdout).toContain("example.com/app:1.0 ->")
      const got = (yield* ocidxExpect(0, ["get", dir, "example.com/app:1.0"])).stdout
      yield* ocidxExpect(0, ["put", dir, "stable", "--descriptor", "-"], { input: got })
      expect(readIndex(dir).manifests[3]).toEqual({
        ...descriptor,
        annotations: { "org.example": "x", [refName]: "stable" }
      })
      const both = yield* ocidxExpect(2, ["put", dir, "x", "--descriptor", file, "--digest", image.manifest.digest])
      expect(both.stderr).toContain("--descriptor gives the whole descriptor; drop --digest")
      const notJson = yield* ocidxExpect(65, ["put", dir, "x", "--descriptor", "-"], { input: "{" })
      expect(notJson.stderr).toContain("the descriptor on standard input is invalid")
      const invalid = yield* ocidxExpect(65, ["put", dir, "x", "--descriptor", "-"], {
        input: JSON.stringify({ ...descriptor, size: -1 })
      })
      expect(invalid.stderr).toContain('the descriptor on standard input is invalid at ["size"]')
    })
  )

  it.scopedLive("warns about a blob that is not there, refuses a size that contradicts the blob", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const image = writeImage(dir)
      writeLayout(dir)
      const absent = sha256("absent")
      const warned = yield* ocidxExpect(0, ["put", dir, "ghost", "--digest", absent, "--size", "6"])
      expect(warned.stderr).toBe(
        `ocidx: warning: ${blobPath(dir, absent)} does not exist, so the new entry points at content the layout does not hold. Add it with \`ocidx blob put\`.\n`
      )
      const before = snapshot(dir)
      const wrong = yield* ocidxExpect(65, ["put", dir, "v1", "--digest", image.manifest.digest, "--size", "1"])
      expect(wrong.stderr).toContain(
        `does not match ${blobPath(dir, image.manifest.digest)}, which is ${image.manifest.size} bytes`
      )
      expect(snapshot(dir)).toEqual(before)
    })
  )

  it.scopedLive("needs --digest and --size: without them it is a usage error", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      writeLayout(dir)
      const result = yield* ocidxExpect(2, ["put", dir, "v1", "--size", "3"])
      expect(result.stderr).toBe(
        "ocidx: put needs --digest and --size (the blob's), or --descriptor <file|->. See `ocidx put --help`.\n"
      )
    })
  )
})

describe.concurrent("ocidx rm", () => {
  it.scopedLive("removes entries by tag, name and digest in one write; reports names it did not find", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const one = writeImage(dir, "amd64", "one")
      const two = writeImage(dir, "amd64", "two")
      const three = writeImage(dir, "amd64", "three")
      const named = { ...two.manifest, annotations: { [refName]: "2", [imageName]: "r/app:2" } }
      writeLayout(dir, [
        tagged(one.manifest, "v1"),
        named,
        tagged(three.manifest, "v3"),
        tagged(three.manifest, "keep")
      ])
      const removed = yield* ocidxExpect(0, ["rm", dir, "v1", "r/app:2"])
      expect(removed.stdout).toBe(
        `${dir}: removed v1 -> ${one.manifest.digest.slice(0, 19)}\n${dir}: removed r/app:2 -> ${two.manifest.digest.slice(0, 19)}\n`
      )
      expect(readIndex(dir).manifests).toEqual([tagged(three.manifest, "v3"), tagged(three.manifest, "keep")])
      const partly = yield* ocidxExpect(1, ["rm", dir, "v3", "nope"])
      expect(partly.stdout).toContain("removed v3")
      expect(partly.stderr).toBe(
        `ocidx: ${dir}/index.json has no entry named "nope" (the others were removed). List the entries with \`ocidx ls ${dir}\`.\n`
      )
      const before = snapshot(dir)
      yield* ocidxExpect(1, ["rm", dir, "nope"])
      expect(snapshot(dir)).toEqual(before)
      yield* ocidxExpect(0, ["rm", dir, three.manifest.digest])
      expect(readIndex(dir).manifests).toEqual([])
      expect(NodeFs.existsSync(blobPath(dir, one.manifest.digest))).toBe(true)
      const none = yield* ocidxExpect(2, ["rm", dir])
      expect(none.stderr).toContain("<name-or-tag>")
    })
  )
})

describe.concurrent("ocidx cat", () => {
  it.scopedLive("writes the blob an entry points to, byte for byte; descends with --platform", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const amd = writeImage(dir, "amd64")
      const arm = writeImage(dir, "arm64")
      const nestedBytes = JSON.stringify({
        schemaVersion: 2,
        mediaType: indexType,
        manifests: [
          { ...amd.manifest, platform: { architecture: "amd64", os: "linux" } },
          { ...arm.manifest, platform: { architecture: "arm64", os: "linux" } }
        ]
      })
      const nested = writeBlob(dir, nestedBytes, indexType)
      writeLayout(dir, [tagged(amd.manifest, "v1"), tagged(nested, "multi")])
      expect((yield* ocidxExpect(0, ["cat", dir, "v1"])).stdout).toBe(amd.manifestBytes)
      expect((yield* ocidxExpect(0, ["cat", dir, "multi"])).stdout).toBe(nestedBytes)
      expect((yield* ocidxExpect(0, ["cat", dir, "multi", "--platform", "linux/arm64"])).stdout).toBe(arm.manifestBytes)
      yield* ocidxExpect(1, ["cat", dir, "nope"])
      NodeFs.writeFileSync(
        blobPath(dir, amd.manifest.digest),
        amd.manifestBytes.replace("layer.v1.tar", "layer.v1.taR")
      )
      const corrupt = yield* ocidxExpect(65, ["cat", dir, "v1"])
      expect(corrupt.stderr).toContain(`${blobPath(dir, amd.manifest.digest)}: digest is sha256:`)
      NodeFs.rmSync(blobPath(dir, arm.manifest.digest))
      const missing = yield* ocidxExpect(1, ["cat", dir, "multi", "--platform", "linux/arm64"])
      expect(missing.stderr).toContain(`blob ${arm.manifest.digest} is not in the layout`)
    })
  )
})

describe.concurrent("ocidx blob", () => {
  it.scopedLive("put adds a file or stdin and prints its descriptor; get writes it back", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      writeLayout(dir)
      const content = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 256))
      const file = `${dir}.input`
      NodeFs.writeFileSync(file, content)
      yield* Effect.addFinalizer(() => Effect.sync(() => NodeFs.rmSync(file, { force: true })))
      const fromFile = yield* ocidxExpect(0, ["blob", "put", dir, file, "--media-type", "application/octet-stream"])
      expect(JSON.parse(fromFile.stdout)).toEqual({
        mediaType: "application/octet-stream",
        digest: sha256(content),
        size: content.length
      })
      expect(NodeFs.readFileSync(blobPath(dir, sha256(content)))).toEqual(content)
      const fromStdin = yield* ocidxExpect(0, ["blob", "put", dir, "-"], { input: "{}" })
      expect(JSON.parse(fromStdin.stdout)).toEqual({ mediaType: manifestType, digest: sha256("{}"), size: 2 })
      const back = yield* ocidxExpect(0, ["blob", "get", dir, sha256(content)])
      expect(back.stdoutBytes).toEqual(content)
      const missing = yield* ocidxExpect(1, ["blob", "get", dir, sha256("nothing")])
      expect(missing.stderr).toContain(`blob ${sha256("nothing")} is not in the layout`)
      const bad = yield* ocidxExpect(65, ["blob", "get", dir, "sha256:ABC"])
      expect(bad.stderr).toContain('"sha256:ABC" is not a valid sha256 digest')
      const badType = yield* ocidxExpect(65, ["blob", "put", dir, "-", "--media-type", "not a type"], { input: "x" })
      expect(badType.stderr).toContain('--media-type: "not a type" is not a media type')
      const noFile = yield* ocidxExpect(74, ["blob", "put", dir, `${dir}.absent`])
      expect(noFile.stderr).toContain(`cannot read ${dir}.absent: it does not exist`)
      NodeFs.writeFileSync(blobPath(dir, sha256("{}")), "{ }")
      const corrupt = yield* ocidxExpect(65, ["blob", "get", dir, sha256("{}")])
      expect(corrupt.stderr).toContain("The content is corrupt")
    })
  )
})

describe.concurrent("ocidx blob put: what the path names", () => {
  it.scopedLive("a link adds the file it names, copied across chunks; no temp file is left", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      writeLayout(dir)
      const inputs = yield* tempDir
      const content = Buffer.from(Array.from({ length: 3 * 1024 * 1024 + 7 }, (_, i) => (i * 13) % 256))
      const file = NodePath.join(inputs, "file")
      NodeFs.writeFileSync(file, content)
      NodeFs.symlinkSync(file, NodePath.join(inputs, "link"))
      const linked = yield* ocidxExpect(0, ["blob", "put", dir, NodePath.join(inputs, "link")])
      expect(JSON.parse(linked.stdout)).toMatchObject({ digest: sha256(content), size: content.length })
      expect(NodeFs.readFileSync(blobPath(dir, sha256(content)))).toEqual(content)
      expect(NodeFs.readdirSync(NodePath.join(dir, "blobs", "sha256"))).toEqual([sha256(content).slice(7)])
      expect(NodeFs.readdirSync(NodePath.join(dir, "blobs"))).toEqual(["sha256"])
      expect(NodeFs.readdirSync(inputs).sort()).toEqual(["file", "link"])
    })
  )

  it.scopedLive("a FIFO and /dev/stdin are read in order, to their end (they cannot be read at an offset)", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      writeLayout(dir)
      const inputs = yield* tempDir
      const content = Buffer.from(Array.from({ length: 3 * 1024 * 1024 + 7 }, (_, i) => (i * 7) % 251))
      const source = NodePath.join(inputs, "content")
      NodeFs.writeFileSync(source, content)
      const fifo = NodePath.join(inputs, "fifo")
      ChildProcess.execFileSync("mkfifo", [fifo])
      // The writer opens the FIFO once ocidx opens it to read, and closes it at the end of the content.
      const writer = ChildProcess.spawn("sh", ["-c", 'cat "$1" > "$2"', "sh", source, fifo], { stdio: "ignore" })
      yield* Effect.addFinalizer(() => Effect.sync(() => writer.kill()))
      const fromFifo = yield* ocidxExpect(0, ["blob", "put", dir, fifo])
      expect(JSON.parse(fromFifo.stdout)).toMatchObject({ digest: sha256(content), size: content.length })
      expect(NodeFs.readFileSync(blobPath(dir, sha256(content)))).toEqual(content)

      // Through a shell's pipe: the tests' own child processes get a socket for stdin, which /dev/stdin cannot open.
      const other = Buffer.from("from /dev/stdin\n")
      const piped = NodePath.join(inputs, "piped")
      NodeFs.writeFileSync(piped, other)
      const fromStdin = ChildProcess.spawnSync(
        "sh",
        ["-c", 'cat "$4" | "$1" "$2" blob put "$3" /dev/stdin', "sh", process.execPath, binPath, dir, piped],
        { encoding: "utf8" }
      )
      expect(fromStdin.status, fromStdin.stderr).toBe(0)
      expect(JSON.parse(fromStdin.stdout)).toMatchObject({ digest: sha256(other), size: other.length })
      expect(NodeFs.readFileSync(blobPath(dir, sha256(other)))).toEqual(other)
      expect(NodeFs.readdirSync(NodePath.join(dir, "blobs", "sha256")).sort()).toEqual(
        [sha256(content), sha256(other)].map((digest) => digest.slice(7)).sort()
      )
    })
  )
})

describe.concurrent("ocidx verify", () => {
  it.scopedLive("reports a sound layout as ok, in text and as JSON", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      writeTaggedImage(dir)
      const text = yield* ocidxExpect(0, ["verify", dir])
      expect(text.stdout).toMatch(new RegExp(`^${dir}: ok, 3 blobs \\(\\d+ B\\) checked\\n$`))
      expect(JSON.parse((yield* ocidxExpect(0, ["verify", dir, "--json"])).stdout)).toEqual({ ok: true, findings: [] })
    })
  )

  it.scopedLive("exits 1 on a corrupt blob; a missing blob is a warning, an error with --strict", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const image = writeTaggedImage(dir)
      NodeFs.rmSync(blobPath(dir, image.layer.digest))
      const lenient = yield* ocidxExpect(0, ["verify", dir, "--json"])
      expect(JSON.parse(lenient.stdout).findings).toEqual([
        expect.objectContaining({ severity: "warning", code: "blob-missing", digest: image.layer.digest })
      ])
      const strict = yield* ocidxExpect(1, ["verify", dir, "--json", "--strict"])
      const report = JSON.parse(strict.stdout)
      expect(report.ok).toBe(false)
      expect(report.findings).toEqual([
        expect.objectContaining({ severity: "error", code: "blob-missing", path: blobPath(dir, image.layer.digest) })
      ])
      for (const finding of report.findings) {
        expect(
          Object.keys(finding).every((key) => ["severity", "code", "message", "path", "digest"].includes(key))
        ).toBe(true)
      }
      expect(strict.stderr).toBe("ocidx: verify found 1 error; see the findings above.\n")
      NodeFs.writeFileSync(blobPath(dir, image.layer.digest), "tampered")
      const corrupt = yield* ocidxExpect(1, ["verify", dir])
      expect(corrupt.stdout).toMatch(/^error\s+blob-(digest|size)-mismatch: /m)
      expect(corrupt.stdout).toContain(`${dir}: 2 errors, 0 warnings; 3 blobs`)
    })
  )
})

describe.concurrent("ocidx gc", () => {
  it.scopedLive("removes what nothing reaches; --dry-run removes nothing; --json has removed and bytes", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const kept = writeTaggedImage(dir)
      const garbage = writeImage(dir, "arm64", "garbage")
      const dry = yield* ocidxExpect(0, ["gc", dir, "--dry-run", "--json", "--grace", "0"])
      const expected = [garbage.layer, garbage.config, garbage.manifest]
      const report = JSON.parse(dry.stdout)
      expect(report.bytes).toBe(expected.reduce((sum, blob) => sum + blob.size, 0))
      expect([...report.removed].sort((a, b) => a.digest.localeCompare(b.digest))).toEqual(
        expected.map(({ digest, size }) => ({ digest, size })).sort((a, b) => a.digest.localeCompare(b.digest))
      )
      for (const blob of expected) expect(NodeFs.existsSync(blobPath(dir, blob.digest))).toBe(true)
      const text = yield* ocidxExpect(0, ["gc", dir, "--grace", "0"])
      expect(text.stdout).toMatch(/^removed sha256:[0-9a-f]{12} {2}\d+ B$/m)
      expect(text.stdout).toContain(`${dir}: removed 3 blobs, `)
      for (const blob of expected) expect(NodeFs.existsSync(blobPath(dir, blob.digest))).toBe(false)
      for (const blob of [kept.manifest, kept.config, kept.layer])
        expect(NodeFs.existsSync(blobPath(dir, blob.digest))).toBe(true)
      expect((yield* ocidxExpect(0, ["gc", dir])).stdout).toBe(`${dir}: nothing to remove\n`)
    })
  )

  it.scopedLive("refuses to collect past an unreadable manifest (65) unless --force", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const image = writeTaggedImage(dir)
      NodeFs.writeFileSync(blobPath(dir, image.manifest.digest), "not json")
      const before = snapshot(dir)
      const refused = yield* ocidxExpect(65, ["gc", dir])
      expect(refused.stderr).toContain(
        "gc deleted nothing. Restore the blob, or force the collection. Pass --force to collect anyway."
      )
      expect(snapshot(dir)).toEqual(before)
      const forced = yield* ocidxExpect(0, ["gc", dir, "--force", "--json", "--grace", "0"])
      const removed = JSON.parse(forced.stdout).removed.map((blob: { digest: string }) => blob.digest)
      expect(removed.sort()).toEqual([image.config.digest, image.layer.digest].sort())
      expect(NodeFs.existsSync(blobPath(dir, image.manifest.digest))).toBe(true)
    })
  )
})

describe.concurrent("ocidx, the program", () => {
  it.scopedLive("--version prints the version and loads neither the store nor koffi; a locking command does", () =>
    Effect.gen(function* () {
      const result = yield* ocidxExpect(0, ["--version"], { env: { NODE_DEBUG: "module" } })
      expect(result.stdout).toBe("0.1.0\n")
      expect(result.stderr).not.toContain("koffi")
      // The same trace shows koffi once a lock is taken, so its absence above means something.
      const dir = yield* tempDir
      writeTaggedImage(dir)
      const ls = yield* ocidxExpect(0, ["ls", dir], { env: { NODE_DEBUG: "module" } })
      expect(ls.stderr).toContain("koffi")
    })
  )

  it.live("--help lists every command; a command's --help shows its flags", () =>
    Effect.gen(function* () {
      const help = yield* ocidxExpect(0, ["--help"])
      for (const command of ["init", "ls", "get", "put", "rm", "cat", "blob put", "blob get", "verify", "gc"]) {
        expect(help.stdout).toContain(`- ${command} `)
      }
      expect(help.stdout).toContain("--lock-timeout duration")
      const put = yield* ocidxExpect(0, ["put", "--help"])
      for (const flag of [
        "--digest",
        "--size",
        "--media-type",
        "--name",
        "--annotation",
        "--platform",
        "--descriptor"
      ]) {
        expect(put.stdout).toContain(flag)
      }
    })
  )

  it.live("--completions prints a shell completion script", () =>
    Effect.gen(function* () {
      const bash = yield* ocidxExpect(0, ["--completions", "bash"])
      expect(bash.stdout).toContain("complete -F")
      expect(bash.stdout).toContain("ocidx")
    })
  )

  it.live("usage errors exit 2 and are printed once", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
        [["bogus"], "unknown command 'bogus'"],
        [["ls"], "Missing argument <dir>"],
        [["ls", "/tmp", "extra"], "Received unknown argument: 'extra'"],
        [["put", "/tmp", "v1", "--bogus"], 'unknown option "--bogus"'],
        [["put", "/tmp", "--size"], "--size"],
        [["--lock-timeout", "soon", "ls", "/tmp"], '--lock-timeout: "soon" is not a duration'],
        [["ls", "/tmp", "--lock-timeout", "-1s"], "--lock-timeout"],
        [["put", "/tmp", "v1", "--annotation", "novalue"], '--annotation: "novalue" is not an annotation'],
        [["get", "/tmp", "v1", "--platform", "a/b/c/d"], '--platform: "a/b/c/d" is not a platform']
      ]
      yield* Effect.forEach(
        cases,
        ([args, message]) =>
          Effect.gen(function* () {
            const result = yield* ocidxExpect(2, args)
            expect(result.stdout).toBe("")
            expect(result.stderr).toContain(message)
            expect(result.stderr.split(message).length - 1, `${args.join(" ")}: ${result.stderr}`).toBe(1)
          }),
        { concurrency: 4 }
      )
    })
  )

  it.scopedLive("exit 74 for a missing layout directory, naming it", () =>
    Effect.gen(function* () {
      const dir = NodePath.join(yield* tempDir, "absent")
      const result = yield* ocidxExpect(74, ["ls", dir])
      expect(result.stderr).toBe(
        `ocidx: cannot read ${dir}: it does not exist; check the path. A new layout is created with \`ocidx init\`.\n`
      )
    })
  )

  it.scopedLive("ocidx with no command prints the help", () =>
    Effect.gen(function* () {
      const result = yield* ocidx([])
      expect(result.code).toBe(0)
      expect(result.stdout).toContain("COMMANDS")
    })
  )
})
