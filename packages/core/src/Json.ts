/**
 * The limits every JSON document ocidx reads is held to, and the reader that applies them, for programs that
 * take JSON input on ocidx's behalf (the CLI's `put --descriptor`): a size cap, a depth limit, no duplicate
 * or `__proto__` keys, valid UTF-8. A byte-order mark is read past; ocidx never writes one.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type { DecodeError } from "./Errors.js"
import * as internal from "./internal/jsonReader.js"

/**
 * The most bytes ocidx reads as a manifest, nested index, `oci-layout` or descriptor: 4 MiB, what registries
 * accept as a manifest. Larger content is refused (`DecodeError` "too-large") before it is read.
 *
 * @since 0.1.0
 * @category limits
 */
export const maxDocumentBytes: number = internal.maxDocumentBytes

/**
 * The most bytes of `index.json` ocidx reads: 128 MiB, about 500,000 entries.
 *
 * @since 0.1.0
 * @category limits
 */
export const maxIndexBytes: number = internal.maxIndexBytes

/**
 * How deeply arrays and objects may nest in any document: 64 levels (`DecodeError` "too-deep" beyond).
 *
 * @since 0.1.0
 * @category limits
 */
export const maxDepth: number = internal.maxDepth

/**
 * @since 0.1.0
 * @category model
 */
export interface ReadOptions {
  /** The size cap; `maxDocumentBytes` unless given. */
  readonly maxBytes?: number | undefined
  /**
   * Refuse (`DecodeError` "inexact-number") a number whose value JavaScript does not keep exactly, such as
   * `1e400` or `12345678901234567890`: for input that will be written back from its parsed value.
   */
  readonly exactNumbers?: boolean | undefined
}

/**
 * Parses JSON bytes under ocidx's limits. `source` names the input in the error (a file, "standard input").
 *
 * @since 0.1.0
 * @category decoding
 */
export const parse = (source: string, bytes: Uint8Array, options?: ReadOptions): Effect.Effect<unknown, DecodeError> =>
  Effect.suspend(() => internal.readJson(source, bytes, options)).pipe(Effect.map((document) => document.value))

/**
 * The error for input over a size cap, for a reader that stops reading at the cap: `size` is what it saw.
 *
 * @since 0.1.0
 * @category errors
 */
export const tooLarge: (source: string, size: number, maxBytes: number, what?: string) => DecodeError =
  internal.tooLarge

/**
 * Lays a compact JSON text out as `JSON.stringify(value, null, 2)` lays out its value, as if nested `depth`
 * levels deep (every line after the first indented two spaces more per level), keeping every string and
 * number exactly as written. For printing a text read from a file, such as `StoreIndex.entryText`'s.
 *
 * @since 0.1.0
 * @category formatting
 */
export const indent = (compactText: string, depth = 0): string => internal.indentText(compactText, depth)
