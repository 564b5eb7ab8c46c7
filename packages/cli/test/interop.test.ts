/**
 * ocidx beside the Go tools on the same layout: what ocidx writes, skopeo and umoci read, and the reverse.
 * Skipped, with a message, only where skopeo or umoci is not installed.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { run, runOk } from "@ocidx/testkit/Processes"
import { tempDir } from "@ocidx/testkit/TempDir"
import { announceSkip, missing, skopeoPath as skopeo, umociPath as umoci } from "@ocidx/testkit/Tools"
import { ocidxExpect } from "./support/cli.js"
import { blobPath, indexType } from "./support/layout.js"

const noTools = missing(["skopeo", skopeo], ["umoci", umoci])
announceSkip("the skopeo/umoci interop tests", noTools)

const skopeoBin = skopeo ?? "skopeo"
const umociBin = umoci ?? "umoci"

const refNames = (dir: string): ReadonlyArray<string | undefined> =>
  JSON.parse(NodeFs.readFileSync(NodePath.join(dir, "index.json"), "utf8")).manifests.map(
    (entry: { annotations?: Record<string, string> }) => entry.annotations?.["org.opencontainers.image.ref.name"]
  )

/** A umoci-made layout: `base` with one file inserted, and a second tag `other` on it. */
const umociLayout = (dir: string) =>
  Effect.gen(function* () {
    const layout = NodePath.join(dir, "umoci")
    const file = NodePath.join(dir, "hello.txt")
    NodeFs.writeFileSync(file, "hello from umoci\n")
    yield* runOk(umociBin, ["init", "--layout", layout])
    yield* runOk(umociBin, ["new", "--image", `${layout}:base`])
    yield* runOk(umociBin, ["insert", "--image", `${layout}:base`, file, "/hello.txt"])
    yield* runOk(umociBin, ["tag", "--image", `${layout}:base`, "other"])
    return layout
  })

const umociTags = (layout: string) =>
  Effect.map(runOk(umociBin, ["ls", "--layout", layout]), (out) =>
    out
      .split("\n")
      .filter((line) => line !== "")
      .sort()
  )

describe.concurrent("interop with skopeo and umoci", () => {
  it.scopedLive.skipIf(noTools !== undefined)(
    "a tag ocidx puts into a umoci layout is seen by skopeo and umoci; after ocidx rm neither sees it",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const layout = yield* umociLayout(dir)
        const base = JSON.parse((yield* ocidxExpect(0, ["get", layout, "base"])).stdout)
        yield* ocidxExpect(0, ["put", layout, "newtag", "--digest", base.digest, "--size", String(base.size)])

        const inspected = JSON.parse(yield* runOk(skopeoBin, ["inspect", `oci:${layout}:newtag`]))
        expect(inspected.Digest).toBe(base.digest)
        expect(inspected.Layers).toHaveLength(1)
        expect(yield* umociTags(layout)).toEqual(["base", "newtag", "other"])
        yield* ocidxExpect(0, ["verify", layout])

        yield* ocidxExpect(0, ["rm", layout, "newtag"])
        const gone = yield* run(skopeoBin, ["inspect", `oci:${layout}:newtag`])
        expect(gone.code).not.toBe(0)
        expect(gone.stderr).toContain("newtag")
        expect(yield* umociTags(layout)).toEqual(["base", "other"])
        expect(JSON.parse(yield* runOk(skopeoBin, ["inspect", `oci:${layout}:base`])).Digest).toBe(base.digest)
      })
  )

  it.scopedLive.skipIf(noTools !== undefined)("ocidx ls --json lists every tag of umoci- and skopeo-made layouts", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const layout = yield* umociLayout(dir)
      const fromUmoci = JSON.parse((yield* ocidxExpect(0, ["ls", layout, "--json"])).stdout)
      expect(fromUmoci).toEqual(JSON.parse(NodeFs.readFileSync(NodePath.join(layout, "index.json"), "utf8")).manifests)
      expect(
        fromUmoci
          .map(
            (entry: { annotations: Record<string, string> }) => entry.annotations["org.opencontainers.image.ref.name"]
          )
          .sort()
      ).toEqual(["base", "other"])

      const copied = NodePath.join(dir, "skopeo")
      for (const tag of ["one", "two", "three"]) {
        yield* runOk(skopeoBin, ["copy", `oci:${layout}:base`, `oci:${copied}:${tag}`])
      }
      const fromSkopeo = JSON.parse((yield* ocidxExpect(0, ["ls", copied, "--json"])).stdout)
      expect(
        fromSkopeo.map(
          (entry: { annotations: Record<string, string> }) => entry.annotations["org.opencontainers.image.ref.name"]
        )
      ).toEqual(refNames(copied))
      expect([...refNames(copied)].sort()).toEqual(["one", "three", "two"])
      const table = (yield* ocidxExpect(0, ["ls", copied])).stdout
      for (const tag of ["one", "two", "three"]) expect(table).toMatch(new RegExp(`^${tag}\\s`, "m"))
      yield* ocidxExpect(0, ["verify", copied])
    })
  )

  it.scopedLive.skipIf(noTools !== undefined)(
    "get --platform on a multi-arch index picks the manifest skopeo picks with --override-arch",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const layout = NodePath.join(dir, "multi")
        yield* runOk(umociBin, ["init", "--layout", layout])
        // Two arm variants: the choice between them rests on the index entry's platform alone.
        const platforms = [
          ["amd64", undefined],
          ["arm64", undefined],
          ["arm", "v6"],
          ["arm", "v7"]
        ] as const
        const children = []
        for (const [architecture, variant] of platforms) {
          const tag = `img-${architecture}${variant ?? ""}`
          yield* runOk(umociBin, ["new", "--image", `${layout}:${tag}`])
          yield* runOk(umociBin, [
            "config",
            "--image",
            `${layout}:${tag}`,
            "--architecture",
            architecture,
            "--os",
            "linux",
            // umoci 0.4 has no --variant; a label keeps the two arm configs (and manifests) apart.
            "--config.label",
            `org.example.platform=${architecture}${variant ?? ""}`
          ])
          const descriptor = JSON.parse((yield* ocidxExpect(0, ["get", layout, tag])).stdout)
          children.push({
            mediaType: descriptor.mediaType,
            digest: descriptor.digest,
            size: descriptor.size,
            platform: { architecture, os: "linux", ...(variant ? { variant } : {}) }
          })
        }
        expect(new Set(children.map((child) => child.digest)).size).toBe(platforms.length)
        const nestedFile = NodePath.join(dir, "index.json")
        NodeFs.writeFileSync(
          nestedFile,
          JSON.stringify({ schemaVersion: 2, mediaType: indexType, manifests: children })
        )
        const nested = JSON.parse(
          (yield* ocidxExpect(0, ["blob", "put", layout, nestedFile, "--media-type", indexType])).stdout
        )
        yield* ocidxExpect(0, [
          "put",
          layout,
          "multi",
          "--digest",
          nested.digest,
          "--size",
          String(nested.size),
          "--media-type",
          indexType
        ])
        expect(NodeFs.existsSync(blobPath(layout, nested.digest))).toBe(true)

        for (const [architecture, variant] of platforms) {
          const selector = `linux/${architecture}${variant ? `/${variant}` : ""}`
          const ours = JSON.parse((yield* ocidxExpect(0, ["get", layout, "multi", "--platform", selector])).stdout)
          // skopeo copies the instance it picks unchanged, so the copy's manifest digest is the one it chose.
          const copy = NodePath.join(dir, `copy-${architecture}${variant ?? ""}`)
          yield* runOk(skopeoBin, [
            "--override-os",
            "linux",
            "--override-arch",
            architecture,
            ...(variant ? ["--override-variant", variant] : []),
            "copy",
            `oci:${layout}:multi`,
            `oci:${copy}:x`
          ])
          const picked = JSON.parse(NodeFs.readFileSync(NodePath.join(copy, "index.json"), "utf8")).manifests[0].digest
          expect(ours.digest, selector).toBe(picked)
          const inspected = JSON.parse(
            yield* runOk(skopeoBin, ["--override-arch", architecture, "inspect", "--config", `oci:${layout}:multi`])
          )
          expect(inspected.architecture).toBe(architecture)
        }
        const none = yield* ocidxExpect(1, ["get", layout, "multi", "--platform", "linux/s390x"])
        expect(none.stderr).toContain("has no manifest for linux/s390x")
        const skopeoNone = yield* run(skopeoBin, ["--override-arch", "s390x", "inspect", `oci:${layout}:multi`])
        expect(skopeoNone.code).not.toBe(0)
      })
  )
})
