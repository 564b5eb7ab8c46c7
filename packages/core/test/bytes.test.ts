import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { joined, sameBytes } from "../src/internal/bytes.js"

describe("sameBytes", () => {
  it.prop(
    "agrees with a byte-by-byte comparison at any alignment and length",
    [fc.uint8Array({ maxLength: 64 }), fc.nat(7), fc.nat(7), fc.option(fc.nat(63), { nil: undefined })],
    ([bytes, offsetA, offsetB, flip]) => {
      const place = (offset: number) => {
        const buffer = new Uint8Array(bytes.length + offset)
        buffer.set(bytes, offset)
        return buffer.subarray(offset)
      }
      const a = place(offsetA)
      const b = place(offsetB)
      if (flip !== undefined && flip < b.length) b[flip] = (b[flip] ?? 0) ^ 0xff
      const expected = a.length === b.length && a.every((byte, i) => byte === b[i])
      expect(sameBytes(a, b)).toBe(expected)
    }
  )

  it("tells a difference in the last byte of a long buffer and a different length", () => {
    const a = new Uint8Array(1_000_003).fill(7)
    const b = a.slice()
    expect(sameBytes(a, b)).toBe(true)
    b[b.length - 1] = 8
    expect(sameBytes(a, b)).toBe(false)
    expect(sameBytes(a, a.subarray(1))).toBe(false)
  })
})

describe("joined", () => {
  it.prop(
    "is the chunks' bytes in order, and the only chunk itself, uncopied",
    [fc.array(fc.uint8Array())],
    ([chunks]) => {
      const all = joined(chunks)
      expect(Array.from(all)).toEqual(chunks.flatMap((chunk) => Array.from(chunk)))
      if (chunks.length === 1) expect(all).toBe(chunks[0])
    }
  )
})
