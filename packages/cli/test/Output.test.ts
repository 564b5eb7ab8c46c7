import { describe, expect, it } from "@effect/vitest"
import { Descriptor } from "@ocidx/core/Descriptor"
import { Schema } from "effect"
import * as Output from "../src/Output.js"

describe("Output", () => {
  it("formats sizes in binary units with one decimal", () => {
    expect(Output.formatSize(0)).toBe("0 B")
    expect(Output.formatSize(1023)).toBe("1023 B")
    expect(Output.formatSize(1024)).toBe("1.0 KiB")
    expect(Output.formatSize(1_258_291)).toBe("1.2 MiB")
    expect(Output.formatSize(1024 * 1024 - 1)).toBe("1.0 MiB")
    expect(Output.formatSize(5 * 1024 ** 3)).toBe("5.0 GiB")
    expect(Output.formatSize(3 * 1024 ** 5)).toBe("3.0 PiB")
  })

  it("shortens digests to the algorithm and 12 characters", () => {
    expect(Output.shortDigest(`sha256:abcd1234ef56${"0".repeat(52)}`)).toBe("sha256:abcd1234ef56")
    expect(Output.shortDigest(`sha512:${"f".repeat(128)}`)).toBe("sha512:ffffffffffff")
    expect(Output.shortDigest("blob-1234.tmp")).toBe("blob-1234.tmp")
  })

  it("aligns table columns and does not pad the last one", () => {
    expect(
      Output.table(
        ["A", "BB"],
        [
          ["long value", "x"],
          ["y", "z"]
        ]
      )
    ).toBe("A            BB\nlong value   x\ny            z\n")
  })

  it("names an entry by image name, else tag, else <none>", () => {
    const entry = (annotations?: Record<string, string>) =>
      Output.entryName(
        Schema.decodeUnknownSync(Descriptor)({
          mediaType: "m/t",
          digest: `sha256:${"a".repeat(64)}`,
          size: 1,
          ...(annotations ? { annotations } : {})
        })
      )
    expect(entry({ "org.opencontainers.image.ref.name": "v1", "io.containerd.image.name": "r/a:v1" })).toBe("r/a:v1")
    expect(entry({ "org.opencontainers.image.ref.name": "v1" })).toBe("v1")
    expect(entry()).toBe("<none>")
  })

  it("prints verify and gc JSON with exactly the documented keys", () => {
    const finding = {
      severity: "error" as const,
      code: "blob-missing" as const,
      message: "m",
      path: "/p",
      digest: undefined
    }
    expect(Output.verifyJson({ ok: false, findings: [finding], blobsChecked: 3, bytesChecked: 9 })).toEqual({
      ok: false,
      findings: [{ severity: "error", code: "blob-missing", message: "m", path: "/p" }]
    })
    expect(
      Output.gcJson({ removed: [{ digest: "sha256:ab", size: 4, path: "/l/blobs/sha256/ab" }], bytes: 4, dryRun: true })
    ).toEqual({ removed: [{ digest: "sha256:ab", size: 4 }], bytes: 4 })
  })

  it("ends JSON documents with one newline", () => {
    expect(Output.json({ a: 1 })).toBe('{\n  "a": 1\n}\n')
  })
})
