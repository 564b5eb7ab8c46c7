import { describe, expect, it } from "@effect/vitest"
import * as Descriptor from "@ocidx/core/Descriptor"
import { type DecodeError, formatPath } from "@ocidx/core/Errors"
import * as ImageIndex from "@ocidx/core/ImageIndex"
import * as MediaType from "@ocidx/core/MediaType"
import { Effect, FastCheck, Schema } from "effect"
import * as IndexCodec from "../src/internal/indexCodec.js"
import {
  arbImageIndex,
  arbImageIndexJson,
  bytesOf,
  entryTexts,
  fixtureBytes,
  fixtureText,
  indexFixtures,
  parseObject,
  sha256Of
} from "./support/schemas.js"

const indexPath = "/srv/layouts/app/index.json"
const refNameKey = "org.opencontainers.image.ref.name"
const header = `{"schemaVersion":2,"mediaType":"${MediaType.ociIndex}",`

const decodeText = (text: string) => IndexCodec.decode(indexPath, bytesOf(text))
const decodeFixture = (name: string) => IndexCodec.decode(indexPath, fixtureBytes(name))
const decodeDescriptor = Schema.decodeUnknownSync(Descriptor.Descriptor)

const entry = {
  mediaType: MediaType.ociManifest,
  digest: sha256Of("entry-0"),
  size: 1023,
  annotations: { [refNameKey]: "v1" }
}
const validIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [entry] }

/** Whether an error points at a `__proto__` key, by its path or its message. */
const mentionsProto = (error: DecodeError): boolean =>
  error.issues.some((issue) => issue.path.includes("__proto__") || issue.message.includes("__proto__"))

/** The text of a valid index whose first entry is replaced. */
const withEntry = (replacement: unknown): string => JSON.stringify({ ...validIndex, manifests: [replacement] })

describe("IndexCodec", () => {
  describe("real-world index.json files", () => {
    it.effect.each(indexFixtures)("decodes %s to exactly its JSON", (name) =>
      Effect.gen(function* () {
        const index = yield* decodeFixture(name)
        const raw = parseObject(fixtureText(name))
        expect(index).toEqual({ ...raw, manifests: raw.manifests ?? [] })
      })
    )

    it.effect("buildkit: compact, tagged with both the image name and the ref name", () =>
      Effect.gen(function* () {
        const index = yield* decodeFixture("buildkit-index.json.golden")
        expect(index.mediaType).toBe(MediaType.ociIndex)
        expect(index.manifests.map((item) => item.mediaType)).toEqual([MediaType.ociIndex, MediaType.ociManifest])
        const [first, second] = index.manifests
        expect(first?.platform).toBeUndefined()
        expect(first && Descriptor.annotation(first, "io.containerd.image.name")).toBe("docker.io/library/app:latest")
        expect(first && Descriptor.annotation(first, refNameKey)).toBe("latest")
        expect(second && Descriptor.annotation(second, "org.opencontainers.image.created")).toBe("2024-06-11T09:15:02Z")
        expect(second && Descriptor.annotation(second, refNameKey)).toBe("v1.2.3")
      })
    )

    it.effect("buildkit: a nested multi-platform index with an attestation entry", () =>
      Effect.gen(function* () {
        const index = yield* decodeFixture("buildkit-nested-index.json.golden")
        expect(index.manifests.map((item) => item.platform)).toEqual([
          { architecture: "amd64", os: "linux" },
          { architecture: "arm64", os: "linux" },
          { architecture: "arm", os: "linux", variant: "v7" },
          { architecture: "unknown", os: "unknown" }
        ])
        const attestation = index.manifests[3]
        expect(attestation && Descriptor.annotation(attestation, "vnd.docker.reference.type")).toBe(
          "attestation-manifest"
        )
      })
    )

    it.effect("skopeo: no top-level mediaType, an index entry without platform", () =>
      Effect.gen(function* () {
        const index = yield* decodeFixture("skopeo-index.json.golden")
        expect("mediaType" in index).toBe(false)
        expect(index.manifests[1]).toMatchObject({ mediaType: MediaType.ociIndex, size: 9218 })
        expect(index.manifests[1]?.platform).toBeUndefined()
      })
    )

    it.effect("umoci: manifests null is an empty index, and is written back as []", () =>
      Effect.gen(function* () {
        const index = yield* decodeFixture("umoci-index.json.golden")
        expect(index.manifests).toEqual([])
        expect(yield* IndexCodec.encode(indexPath, index)).toBe(`${header}"manifests":[]}`)
      })
    )

    it.effect("containerd: Docker manifest list and schema2 media types as entries", () =>
      Effect.gen(function* () {
        const index = yield* decodeFixture("containerd-docker-media-types.json.golden")
        expect(index.manifests.map((item) => item.mediaType)).toEqual([
          MediaType.dockerManifestList,
          MediaType.dockerManifest
        ])
        expect(index.manifests.map((item) => MediaType.isIndex(item.mediaType))).toEqual([true, false])
      })
    )

    it.effect("keeps unknown fields at every level", () =>
      Effect.gen(function* () {
        const index = yield* decodeFixture("unknown-fields-index.json.golden")
        const raw = parseObject(fixtureText("unknown-fields-index.json.golden"))
        expect(index).toMatchObject({ "x-index-extension": raw["x-index-extension"], "x-trailer": null })
        const [first, second] = index.manifests
        expect(first).toMatchObject({ "x-entry-first": true, "x-entry-last": [1, 2, 3] })
        expect(first?.mediaType).toBe("application/vnd.acme.unknown.v1+json")
        expect(first?.platform).toMatchObject({ "x-platform-extra": { cpu: "sifive-u74" } })
        expect(first?.annotations).toMatchObject({ "com.acme.build.id": "8812", "com.acme.empty": "" })
        expect(second).toMatchObject({ size: 0, data: "", artifactType: "application/vnd.acme.sbom+json" })
        expect(index.annotations).toEqual({
          "org.opencontainers.image.created": "2024-01-02T03:04:05Z",
          "com.acme.owner": "team-a"
        })
      })
    )

    it.effect("decodes a UTF-8 BOM-less file with non-ASCII annotation values", () =>
      Effect.gen(function* () {
        const index = yield* decodeText(withEntry({ ...entry, annotations: { "com.example.title": "Grüße 🐳" } }))
        expect(index.manifests[0]?.annotations).toEqual({ "com.example.title": "Grüße 🐳" })
      })
    )
  })

  describe("round trip of an unchanged index", () => {
    it.effect.each(indexFixtures)("%s keeps every field, the entry order and each entry's JSON", (name) =>
      Effect.gen(function* () {
        const source = fixtureText(name)
        const index = yield* decodeFixture(name)
        const written = yield* IndexCodec.encode(indexPath, index)
        const raw = parseObject(source)
        const out = parseObject(written)
        expect(Object.keys(out).slice(0, 2)).toEqual(["schemaVersion", "mediaType"])
        expect(out.mediaType).toBe(MediaType.ociIndex)
        expect(Object.keys(out).slice(2)).toEqual(
          Object.keys(raw).filter((k) => k !== "schemaVersion" && k !== "mediaType")
        )
        for (const key of Object.keys(raw)) if (key !== "manifests") expect(out[key]).toEqual(raw[key])
        expect(entryTexts(written)).toEqual(entryTexts(source))
        expect(yield* decodeText(written)).toEqual({ ...index, mediaType: MediaType.ociIndex })
      })
    )

    it.effect.each([
      "buildkit-index.json.golden",
      "buildkit-nested-index.json.golden",
      "docker-save-index.json.golden"
    ])("%s is written back byte for byte", (name) =>
      Effect.gen(function* () {
        expect(yield* IndexCodec.encode(indexPath, yield* decodeFixture(name))).toBe(fixtureText(name))
      })
    )

    it.effect("skopeo's index gains mediaType right after schemaVersion, and nothing else changes", () =>
      Effect.gen(function* () {
        const source = fixtureText("skopeo-index.json.golden")
        const written = yield* IndexCodec.encode(indexPath, yield* decodeFixture("skopeo-index.json.golden"))
        expect(written).toBe(source.replace('{"schemaVersion":2,', header))
      })
    )

    it.effect("writing is idempotent", () =>
      Effect.gen(function* () {
        for (const name of indexFixtures) {
          const once = yield* IndexCodec.encode(indexPath, yield* decodeFixture(name))
          const twice = yield* IndexCodec.encode(indexPath, yield* decodeText(once))
          expect(twice).toBe(once)
        }
      })
    )

    it.effect("an unknown field before schemaVersion moves behind mediaType, other fields keep their order", () =>
      Effect.gen(function* () {
        const text = `{"zz":1,"manifests":[],"schemaVersion":2,"annotations":{"b":"1","a":"2"},"aa":true}`
        const written = yield* IndexCodec.encode(indexPath, yield* decodeText(text))
        expect(written).toBe(`${header}"zz":1,"manifests":[],"annotations":{"b":"1","a":"2"},"aa":true}`)
      })
    )

    it.effect("a top-level subject keeps its key order, unknown fields included", () =>
      Effect.gen(function* () {
        const subject = `{"mediaType":"${MediaType.ociManifest}","digest":"${sha256Of("subject")}","size":3,"x-extra":1}`
        const text = `${header}"manifests":[],"subject":${subject}}`
        expect(yield* IndexCodec.encode(indexPath, yield* decodeText(text))).toBe(text)
      })
    )
  })

  describe("encoding changed and new indexes", () => {
    it.effect("writes the empty index", () =>
      Effect.gen(function* () {
        expect(yield* IndexCodec.encode(indexPath, ImageIndex.empty)).toBe(`${header}"manifests":[]}`)
      })
    )

    it.effect("writes mediaType even when the value has none", () =>
      Effect.gen(function* () {
        const written = yield* IndexCodec.encode(indexPath, { schemaVersion: 2, manifests: [] })
        expect(written).toBe(`${header}"manifests":[]}`)
      })
    )

    it.effect("writes new entries in Go's field order, unknown fields last", () =>
      Effect.gen(function* () {
        const created = decodeDescriptor({
          "x-extra": "kept",
          platform: { os: "linux", architecture: "arm64" },
          annotations: { [refNameKey]: "v2" },
          size: 2,
          data: "e30=",
          digest: sha256Of("new"),
          mediaType: MediaType.ociManifest,
          artifactType: "application/vnd.example+json",
          urls: ["https://example.com/x"]
        })
        const written = yield* IndexCodec.encode(indexPath, { ...ImageIndex.empty, manifests: [created] })
        const [text] = entryTexts(written)
        expect(Object.keys(JSON.parse(text ?? "{}"))).toEqual([
          "mediaType",
          "digest",
          "size",
          "urls",
          "annotations",
          "data",
          "platform",
          "artifactType",
          "x-extra"
        ])
      })
    )

    it.effect("an appended entry leaves the others byte-identical", () =>
      Effect.gen(function* () {
        const source = fixtureText("containerd-docker-media-types.json.golden")
        const index = yield* decodeFixture("containerd-docker-media-types.json.golden")
        const added = decodeDescriptor({ ...entry, digest: sha256Of("added") })
        const written = yield* IndexCodec.encode(indexPath, { ...index, manifests: [...index.manifests, added] })
        expect(entryTexts(written).slice(0, 2)).toEqual(entryTexts(source))
        expect(entryTexts(written)[2]).toBe(JSON.stringify(Schema.encodeSync(Descriptor.Descriptor)(added)))
      })
    )

    it.effect("a changed entry is written from its new value", () =>
      Effect.gen(function* () {
        const index = yield* decodeFixture("buildkit-index.json.golden")
        const [first, ...rest] = index.manifests
        if (first === undefined) return yield* Effect.die("fixture has entries")
        const retagged = { ...first, annotations: { ...first.annotations, [refNameKey]: "stable" } }
        const written = yield* IndexCodec.encode(indexPath, { ...index, manifests: [retagged, ...rest] })
        const reread = yield* decodeText(written)
        expect(reread.manifests[0]?.annotations?.[refNameKey]).toBe("stable")
        expect(entryTexts(written)[1]).toBe(entryTexts(fixtureText("buildkit-index.json.golden"))[1])
      })
    )

    it.effect("refuses to write a new entry with an invalid ref name, naming it", () =>
      Effect.gen(function* () {
        const index = yield* decodeFixture("docker-save-index.json.golden")
        const bad = decodeDescriptor({ ...entry, annotations: { [refNameKey]: "not a tag" } })
        const error = yield* Effect.flip(
          IndexCodec.encode(indexPath, { ...index, manifests: [...index.manifests, bad] })
        )
        expect(error._tag).toBe("DecodeError")
        expect(error.reason).toBe("schema")
        expect(error.path).toBe(indexPath)
        expect(error.issues.map((issue) => issue.path)).toEqual([["manifests", 1, "annotations", refNameKey]])
        expect(error.message).toContain(`${indexPath} is invalid at ["manifests"][1]["annotations"]["${refNameKey}"]`)
        expect(error.message).toContain('"not a tag" is not a valid ref name')
      })
    )

    it.effect("keeps an invalid ref name another tool wrote, as long as the entry is unchanged", () =>
      Effect.gen(function* () {
        const text = withEntry({ ...entry, annotations: { [refNameKey]: "not a tag" } })
        const written = yield* IndexCodec.encode(indexPath, yield* decodeText(text))
        expect(written).toBe(text)
      })
    )

    it.effect("refuses an invalid new entry, naming its position in manifests", () =>
      Effect.gen(function* () {
        const index = yield* decodeFixture("docker-save-index.json.golden")
        const valid = decodeDescriptor(entry)
        const error = yield* Effect.flip(
          IndexCodec.encode(indexPath, { ...index, manifests: [...index.manifests, { ...valid, size: -1 }] })
        )
        expect(error.reason).toBe("schema")
        expect(error.issues.map((issue) => issue.path)).toContainEqual(["manifests", 1, "size"])
        expect(error.message).toContain(`${indexPath} is invalid at ["manifests"][1]["size"]`)
      })
    )

    it.effect("refuses invalid top-level fields", () =>
      Effect.gen(function* () {
        const subject = { ...decodeDescriptor(entry), size: 1.5 }
        const error = yield* Effect.flip(IndexCodec.encode(indexPath, { ...ImageIndex.empty, subject }))
        expect(error.issues.map((issue) => issue.path)).toContainEqual(["subject", "size"])
      })
    )
  })

  describe("rejects, naming the field", () => {
    const upper = sha256Of("upper").toUpperCase().replace("SHA256", "sha256")
    const hex64 = sha256Of("hex").slice("sha256:".length)
    const entryCases: ReadonlyArray<readonly [string, Record<string, unknown>, ReadonlyArray<string | number>]> = [
      ["uppercase sha256 hex", { ...entry, digest: upper }, ["digest"]],
      ["63 hex chars", { ...entry, digest: `sha256:${hex64.slice(1)}` }, ["digest"]],
      ["65 hex chars", { ...entry, digest: `sha256:${hex64}a` }, ["digest"]],
      ["sha512 with 127 chars", { ...entry, digest: `sha512:${hex64}${hex64.slice(1)}` }, ["digest"]],
      ["a traversal digest", { ...entry, digest: "sha256:../../x" }, ["digest"]],
      ["an empty encoded part", { ...entry, digest: "sha256:" }, ["digest"]],
      ["an empty algorithm", { ...entry, digest: ":abc" }, ["digest"]],
      ["an algorithm ending in a separator", { ...entry, digest: "foo_:abc" }, ["digest"]],
      ["an uppercase algorithm", { ...entry, digest: "Foo:abc" }, ["digest"]],
      ["a slash in the encoded part", { ...entry, digest: "foo:ab/c" }, ["digest"]],
      ["a missing digest", { mediaType: entry.mediaType, size: 1 }, ["digest"]],
      ["a negative size", { ...entry, size: -1 }, ["size"]],
      ["a fractional size", { ...entry, size: 1.5 }, ["size"]],
      ["size 2^53", { ...entry, size: 9007199254740992 }, ["size"]],
      ["size 1e20", { ...entry, size: 1e20 }, ["size"]],
      ['size "1"', { ...entry, size: "1" }, ["size"]],
      ["a missing size", { mediaType: entry.mediaType, digest: entry.digest }, ["size"]],
      ["media type text", { ...entry, mediaType: "text" }, ["mediaType"]],
      ["media type /json", { ...entry, mediaType: "/json" }, ["mediaType"]],
      ["media type a/", { ...entry, mediaType: "a/" }, ["mediaType"]],
      ["media type a b/c", { ...entry, mediaType: "a b/c" }, ["mediaType"]],
      ["a 128-char media type part", { ...entry, mediaType: `application/${"x".repeat(128)}` }, ["mediaType"]],
      ["a missing media type", { digest: entry.digest, size: 1 }, ["mediaType"]],
      ["a bad artifactType", { ...entry, artifactType: "sbom" }, ["artifactType"]],
      ["a platform without os", { ...entry, platform: { architecture: "amd64" } }, ["platform", "os"]],
      ["a platform without architecture", { ...entry, platform: { os: "linux" } }, ["platform", "architecture"]],
      ["a numeric annotation", { ...entry, annotations: { "com.example.n": 1 } }, ["annotations", "com.example.n"]],
      ["a null annotation", { ...entry, annotations: { "com.example.n": null } }, ["annotations", "com.example.n"]],
      ["an empty annotation key", { ...entry, annotations: { "": "x" } }, ["annotations", ""]],
      ["data shorter than size", { ...entry, size: 3, data: "e30=" }, ["data"]],
      ["invalid base64", { ...entry, size: 2, data: "e30" }, ["data"]],
      ["a relative url", { ...entry, urls: ["blobs/sha256/x"] }, ["urls", 0]],
      ["a url with a space", { ...entry, urls: ["https://example.com/ok", "https://exa mple.com"] }, ["urls", 1]],
      ["urls that are not a list", { ...entry, urls: "https://example.com" }, ["urls"]]
    ]

    it.effect.each(entryCases)("an entry with %s", ([_label, replacement, field]) =>
      Effect.gen(function* () {
        const path = ["manifests", 0, ...field]
        const error = yield* Effect.flip(decodeText(withEntry(replacement)))
        expect(error._tag).toBe("DecodeError")
        expect(error.reason).toBe("schema")
        expect(error.path).toBe(indexPath)
        expect(error.issues[0]?.path).toEqual(path)
        expect(error.message).toContain(`${indexPath} is invalid at ${formatPath(path)}: `)
        expect(error.detail).toContain("ImageIndex")
      })
    )

    it.effect.each([
      "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8",
      `blake3:${sha256Of("b3").slice(7)}`,
      `sha512:${sha256Of("a").slice(7)}${sha256Of("b").slice(7)}`
    ])("an entry with digest %s is accepted", (digest) =>
      Effect.gen(function* () {
        const index = yield* decodeText(withEntry({ ...entry, digest }))
        expect(index.manifests[0]?.digest).toBe(digest)
      })
    )

    const topCases: ReadonlyArray<readonly [string, string, ReadonlyArray<string | number>, string]> = [
      ["a missing schemaVersion", `{"manifests":[]}`, ["schemaVersion"], "is missing"],
      [
        "schemaVersion 1",
        `{"schemaVersion":1,"manifests":[]}`,
        ["schemaVersion"],
        "schemaVersion must be the number 2"
      ],
      ['schemaVersion "2"', `{"schemaVersion":"2","manifests":[]}`, ["schemaVersion"], "must be the number 2"],
      ["a missing manifests", `{"schemaVersion":2}`, ["manifests"], "is missing"],
      [
        "another index mediaType",
        `{"schemaVersion":2,"mediaType":"${MediaType.dockerManifestList}","manifests":[]}`,
        ["mediaType"],
        `mediaType must be "${MediaType.ociIndex}" when present`
      ],
      [
        "a bad subject",
        `{"schemaVersion":2,"manifests":[],"subject":{"mediaType":"a/b","size":1}}`,
        ["subject", "digest"],
        "is missing"
      ],
      [
        "a numeric index annotation",
        `{"schemaVersion":2,"manifests":[],"annotations":{"a":1}}`,
        ["annotations", "a"],
        "Expected string"
      ],
      ["an entry that is not an object", `{"schemaVersion":2,"manifests":["sha256:abc"]}`, ["manifests", 0], "Expected"]
    ]

    it.effect.each(topCases)("an index with %s", ([_label, text, path, message]) =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(decodeText(text))
        expect(error.reason).toBe("schema")
        expect(error.issues[0]?.path).toEqual(path)
        expect(error.issues[0]?.message).toContain(message)
        expect(error.message).toContain(`${indexPath} is invalid at ${formatPath(path)}: `)
        expect(error.message).toContain("ocidx did not change it")
      })
    )

    it.effect("reports every bad entry, not just the first", () =>
      Effect.gen(function* () {
        const text = JSON.stringify({
          ...validIndex,
          manifests: [entry, { ...entry, size: -1 }, entry, { ...entry, digest: "sha256:x" }]
        })
        const error = yield* Effect.flip(decodeText(text))
        const paths = error.issues.map((issue) => issue.path)
        expect(paths).toContainEqual(["manifests", 1, "size"])
        expect(paths).toContainEqual(["manifests", 3, "digest"])
        expect(error.message).toContain(error.detail)
      })
    )

    it.effect("one bad entry in a large index gives a short error that names only that entry", () =>
      Effect.gen(function* () {
        const manifests = [...Array.from({ length: 2000 }, () => entry), { ...entry, size: -1 }]
        const error = yield* Effect.flip(decodeText(JSON.stringify({ ...validIndex, manifests })))
        expect(error.issues.map((issue) => issue.path)).toEqual([["manifests", 2000, "size"]])
        expect(error.message.length).toBeLessThan(2000)
      })
    )

    it.effect("an annotation key __proto__", () =>
      Effect.gen(function* () {
        const text = `{"schemaVersion":2,"manifests":[{"mediaType":"a/b","digest":"${entry.digest}","size":1,"annotations":{"__proto__":"x"}}]}`
        const error = yield* Effect.flip(decodeText(text))
        expect(error._tag).toBe("DecodeError")
        expect(mentionsProto(error)).toBe(true)
      })
    )

    it.effect.each<readonly [string, string]>([
      ["the index", `{"schemaVersion":2,"manifests":[],"__proto__":{"mediaType":"evil"}}`],
      [
        "an entry",
        `{"schemaVersion":2,"manifests":[{"mediaType":"a/b","digest":"${entry.digest}","size":1,"__proto__":{"platform":{"os":5}}}]}`
      ],
      [
        "a platform",
        `{"schemaVersion":2,"manifests":[{"mediaType":"a/b","digest":"${entry.digest}","size":1,"platform":{"os":"linux","architecture":"amd64","__proto__":{"variant":7}}}]}`
      ]
    ])("a __proto__ key in %s (it would become the decoded object's prototype)", ([_label, text]) =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(decodeText(text))
        expect(error._tag).toBe("DecodeError")
        expect(mentionsProto(error)).toBe(true)
      })
    )
  })

  describe("rejects bytes that are not a JSON object", () => {
    it.effect.each<readonly [string, ReadonlyArray<number>]>([
      ["a lone continuation byte", [0x7b, 0x80, 0x7d]],
      ["a truncated sequence", [0x7b, 0x22, 0xc3, 0x22, 0x7d]],
      ["an overlong encoding", [0x7b, 0x22, 0xc0, 0xaf, 0x22, 0x7d]],
      ["an encoded surrogate", [0x7b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]],
      ["0xff", [0xff]]
    ])("invalid UTF-8 (%s) with reason utf8", ([_label, bytes]) =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(IndexCodec.decode(indexPath, new Uint8Array(bytes)))
        expect(error.reason).toBe("utf8")
        expect(error.message).toBe(
          `${indexPath} is invalid: the file is not valid UTF-8. Fix or restore the file; ocidx did not change it.`
        )
      })
    )

    it.effect("invalid UTF-8 inside an otherwise valid index, with reason utf8", () =>
      Effect.gen(function* () {
        const text = withEntry({ ...entry, annotations: { a: "XX" } })
        const bytes = bytesOf(text)
        const at = text.indexOf("XX")
        bytes[at] = 0xc3
        bytes[at + 1] = 0x28
        expect((yield* Effect.flip(IndexCodec.decode(indexPath, bytes))).reason).toBe("utf8")
      })
    )

    it.effect.each<readonly [string, string]>([
      ["truncated JSON", JSON.stringify(validIndex).slice(0, 40)],
      ["an empty file", ""],
      ["only whitespace", " \n"],
      ["a trailing comma", `{"schemaVersion":2,"manifests":[],}`],
      ["two documents", `${JSON.stringify(validIndex)}{}`],
      ["NaN", `{"schemaVersion":2,"manifests":[{"mediaType":"a/b","digest":"${entry.digest}","size":NaN}]}`]
    ])("%s with reason json", ([_label, text]) =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(decodeText(text))
        expect(error.reason).toBe("json")
        expect(error.message).toContain(`${indexPath} is invalid: not valid JSON`)
        expect(error.issues.map((issue) => issue.path)).toEqual([[]])
      })
    )

    it.effect.each<readonly [string, string]>([
      ["[]", "[]"],
      ["null", "null"],
      ['"x"', '"x"'],
      ["2", "2"],
      ["true", "true"]
    ])("%s at the top with reason schema", ([_label, text]) =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(decodeText(text))
        expect(error.reason).toBe("schema")
        expect(error.detail).toContain("ImageIndex")
        expect(error.message).toContain(`${indexPath} is invalid`)
      })
    )
  })

  describe("isBlank", () => {
    it("is true for empty and whitespace-only files", () => {
      expect(IndexCodec.isBlank(new Uint8Array())).toBe(true)
      expect(IndexCodec.isBlank(bytesOf(" \t\r\n\f\v"))).toBe(true)
    })

    it("is false as soon as there is content", () => {
      expect(IndexCodec.isBlank(bytesOf(" {}"))).toBe(false)
      expect(IndexCodec.isBlank(new Uint8Array([0x00]))).toBe(false)
      expect(IndexCodec.isBlank(bytesOf("\u00a0"))).toBe(false)
    })
  })

  describe("properties", () => {
    it.effect.prop(
      "decode(JSON(Schema.encode(x))) equals x",
      [arbImageIndex],
      ([index]) =>
        Effect.gen(function* () {
          const text = JSON.stringify(Schema.encodeSync(ImageIndex.ImageIndex)(index))
          expect(yield* decodeText(text)).toEqual(index)
        }),
      { fastCheck: { numRuns: 50 } }
    )

    it.effect.prop(
      "IndexCodec.encode output re-decodes to the same value",
      [arbImageIndex],
      ([index]) =>
        Effect.gen(function* () {
          const written = yield* IndexCodec.encode(indexPath, index)
          expect(written.startsWith(header)).toBe(true)
          expect(yield* decodeText(written)).toEqual({ ...index, mediaType: MediaType.ociIndex })
        }),
      { fastCheck: { numRuns: 50 } }
    )

    it.effect.prop(
      "an unchanged decoded index keeps every entry's JSON and all fields",
      [arbImageIndexJson],
      ([raw]) =>
        Effect.gen(function* () {
          const text = JSON.stringify(raw)
          const written = yield* IndexCodec.encode(indexPath, yield* decodeText(text))
          expect(entryTexts(written)).toEqual(entryTexts(text))
          expect(parseObject(written)).toEqual({ ...raw, mediaType: MediaType.ociIndex })
          expect(yield* IndexCodec.encode(indexPath, yield* decodeText(written))).toBe(written)
        }),
      { fastCheck: { numRuns: 50 } }
    )
  })

  describe("encodeBytes", () => {
    const utf8 = new TextEncoder()
    /** Either an edit of the entries a put or remove makes, or an arbitrary reordering. */
    const arbEdit = FastCheck.oneof(
      FastCheck.record({ kind: FastCheck.constant("append" as const), seed: FastCheck.string({ maxLength: 6 }) }),
      FastCheck.record({ kind: FastCheck.constant("remove" as const), at: FastCheck.nat() }),
      FastCheck.record({ kind: FastCheck.constant("replace" as const), at: FastCheck.nat(), seed: FastCheck.string() }),
      FastCheck.record({ kind: FastCheck.constant("reverse" as const) }),
      FastCheck.record({ kind: FastCheck.constant("rotate" as const), by: FastCheck.nat() })
    )
    const fresh = (seed: string, n: number): Descriptor.Descriptor =>
      decodeDescriptor({
        mediaType: MediaType.ociManifest,
        digest: sha256Of(`${seed}/${n}`),
        size: n,
        annotations: { [refNameKey]: `t-${n}`, "org.example.note": `é ${seed} ✓` }
      })
    const apply = (
      index: ImageIndex.ImageIndex,
      edit: typeof arbEdit extends FastCheck.Arbitrary<infer E> ? E : never,
      n: number
    ) => {
      const manifests = [...index.manifests]
      const at = "at" in edit && manifests.length > 0 ? edit.at % manifests.length : 0
      switch (edit.kind) {
        case "append":
          manifests.push(fresh(edit.seed, n))
          break
        case "remove":
          manifests.splice(at, 1)
          break
        case "replace":
          if (manifests.length > 0) manifests[at] = fresh(edit.seed, n)
          break
        case "reverse":
          manifests.reverse()
          break
        case "rotate":
          manifests.push(...manifests.splice(0, manifests.length === 0 ? 0 : edit.by % manifests.length))
          break
      }
      return { ...index, manifests }
    }

    it.effect.prop(
      "is byte for byte the UTF-8 of encode, through any sequence of edits (runs copied from the previous call)",
      [arbImageIndexJson, FastCheck.array(arbEdit, { maxLength: 12 })],
      ([raw, edits]) =>
        Effect.gen(function* () {
          let index = yield* decodeText(JSON.stringify(raw))
          expect(yield* IndexCodec.encodeBytes(indexPath, index)).toEqual(
            utf8.encode(yield* IndexCodec.encode(indexPath, index))
          )
          for (const [n, edit] of edits.entries()) {
            index = apply(index, edit, n)
            const bytes = yield* IndexCodec.encodeBytes(indexPath, index)
            expect(bytes).toEqual(utf8.encode(yield* IndexCodec.encode(indexPath, index)))
          }
        }),
      { fastCheck: { numRuns: 100 } }
    )

    it.effect("a put into a large index (one entry gone, one appended) gives the bytes of encode", () =>
      Effect.gen(function* () {
        const manifests = Array.from({ length: 500 }, (_, n) => fresh("big", n))
        const before = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests } as const
        const first = yield* IndexCodec.encodeBytes(indexPath, before)
        const after = { ...before, manifests: [...manifests.slice(0, 10), ...manifests.slice(11), fresh("new", 1)] }
        const second = yield* IndexCodec.encodeBytes(indexPath, after)
        expect(second).toEqual(utf8.encode(yield* IndexCodec.encode(indexPath, after)))
        expect(second.length).toBeLessThan(first.length + 200)
      })
    )

    it.effect("still validates what it renders: an invalid new entry fails as encode does", () =>
      Effect.gen(function* () {
        const valid = yield* decodeText(JSON.stringify(validIndex))
        yield* IndexCodec.encodeBytes(indexPath, valid)
        const bad = decodeDescriptor({ ...entry, annotations: { [refNameKey]: "not a tag" } })
        const invalid = { ...valid, manifests: [...valid.manifests, bad] }
        const fromBytes = yield* Effect.flip(IndexCodec.encodeBytes(indexPath, invalid))
        const fromText = yield* Effect.flip(IndexCodec.encode(indexPath, invalid))
        expect(fromBytes).toEqual(fromText)
        expect(fromBytes.issues.map((issue) => issue.path)).toEqual([["manifests", 1, "annotations", refNameKey]])
      })
    )
  })
})
