/**
 * Text: the one escaping of untrusted text in messages and tables, and the errors that use it.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Annotations from "@ocidx/core/Annotations"
import { BlobNotFound, DecodeError, DecodeIssue, InvalidReference, ReadError } from "@ocidx/core/Errors"
import * as Text from "@ocidx/core/Text"
import { unsafeCharacters } from "@ocidx/testkit/Terminal"

describe("Text", () => {
  it("quotes as JSON does, and also C1 controls, DEL, separators and bidi overrides", () => {
    expect(Text.quote("a\nb")).toBe('"a\\nb"')
    expect(Text.quote('say "hi" \\ ok')).toBe('"say \\"hi\\" \\\\ ok"')
    expect(Text.quote("a\u001b[31mred")).toBe('"a\\u001b[31mred"')
    expect(Text.quote("\u007f\u0085\u009b")).toBe('"\\u007f\\u0085\\u009b"')
    expect(Text.quote("x\u202ey\u2066z\u2028")).toBe('"x\\u202ey\\u2066z\\u2028"')
    expect(Text.quote("\b\t\f\r\u0000")).toBe('"\\b\\t\\f\\r\\u0000"')
  })

  it("keeps ordinary text, non-ASCII and astral characters as they are", () => {
    for (const text of ["docker.io/library/alpine:3.20", "café", "名前", "emoji 🐳", ""]) {
      expect(Text.escapeControls(text)).toBe(text)
      expect(Text.quote(text)).toBe(JSON.stringify(text))
    }
  })

  it("escapes lone surrogates, which no terminal can show", () => {
    expect(Text.escapeControls("a\ud800b")).toBe("a\\ud800b")
    expect(Text.escapeControls("a\udc00")).toBe("a\\udc00")
  })

  it("escapeControls leaves quotes and backslashes, and escaping twice changes nothing", () => {
    const once = Text.escapeControls('a"\\\n\u001b')
    expect(once).toBe('a"\\\\n\\u001b')
    expect(Text.escapeControls(once)).toBe(once)
  })

  it("the errors print what they echo on one line, without control characters", () => {
    const hostile = "a\nb\u001b[31m\u202e"
    const errors = [
      new InvalidReference({ value: hostile, problem: "bad" }),
      new ReadError({ path: `/tmp/${hostile}`, reason: "not-found" }),
      new BlobNotFound({ path: `/tmp/${hostile}`, digest: hostile }),
      new DecodeError({
        path: hostile,
        reason: "schema",
        detail: hostile,
        issues: [new DecodeIssue({ path: [hostile, 1], message: hostile })]
      })
    ]
    for (const error of errors) {
      expect(unsafeCharacters(error.message)).toEqual([])
    }
    expect(new InvalidReference({ value: "a\nb", problem: "bad" }).message).toBe('invalid reference "a\\nb": bad')
  })

  it("a DecodeError's detail keeps its lines, each escaped", () => {
    const error = new DecodeError({
      path: "index.json",
      reason: "schema",
      detail: "Root\n└─ \u001b[2J",
      issues: [new DecodeIssue({ path: [], message: "one" }), new DecodeIssue({ path: [], message: "two" })]
    })
    expect(error.message.split("\n")).toEqual([
      "index.json is invalid: one. Fix or restore the file; ocidx did not change it.",
      "Root",
      "└─ \\u001b[2J"
    ])
  })
})

describe("Annotations.newKeyProblem", () => {
  it("refuses empty, prototype and control-character keys, and accepts ordinary ones", () => {
    for (const key of ["", "__proto__", "constructor", "prototype", "a\u0000b", "a\nb", "a\u001bb", "a\u202eb"]) {
      expect(Annotations.newKeyProblem(key), JSON.stringify(key)).toBeDefined()
    }
    for (const key of ["org.opencontainers.image.ref.name", "org.example.team", "x"]) {
      expect(Annotations.newKeyProblem(key)).toBeUndefined()
    }
    expect(Annotations.newKeyProblem("__proto__")).toBe('"__proto__" is not an allowed annotation key')
  })
})
