/** @internal */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { DecodeError, DecodeIssue } from "../Errors.js"
import * as JsonReader from "./jsonReader.js"

/** Every decode keeps fields ocidx does not model and reports every problem, not just the first. @internal */
export const parseOptions = { errors: "all", onExcessProperty: "preserve" } as const

/** @internal */
export const fromParseError = (path: string, error: ParseResult.ParseError): DecodeError =>
  new DecodeError({
    path,
    reason: "schema",
    detail: ParseResult.TreeFormatter.formatErrorSync(error),
    issues: ParseResult.ArrayFormatter.formatErrorSync(error).map(
      (issue) =>
        new DecodeIssue({
          path: issue.path.map((key) => (typeof key === "symbol" ? String(key) : key)),
          message: issue.message
        })
    )
  })

/** Bytes to text, refusing invalid UTF-8 rather than replacing it. @internal */
export const decodeUtf8 = JsonReader.decodeUtf8

/**
 * Text to a JSON value under the one reader's checks (size, depth, duplicate and `__proto__` keys).
 * @internal
 */
export const parseJson = (
  path: string,
  text: string,
  options?: JsonReader.ReadOptions
): Either.Either<unknown, DecodeError> => Either.map(JsonReader.parseText(path, text, options), (doc) => doc.value)

/** Decodes a JSON file's bytes against a schema. @internal */
export const decodeJsonFile = <A, I>(
  schema: Schema.Schema<A, I>,
  path: string,
  bytes: Uint8Array,
  options?: JsonReader.ReadOptions
): Effect.Effect<{ readonly value: A; readonly raw: unknown }, DecodeError> =>
  Effect.gen(function* () {
    const { value: raw } = yield* JsonReader.readJson(path, bytes, options)
    const value = yield* Schema.decodeUnknown(
      schema,
      parseOptions
    )(raw).pipe(Effect.mapError((error) => fromParseError(path, error)))
    return { value, raw }
  })

/** @internal */
export const decodeUnknown =
  <A, I>(schema: Schema.Schema<A, I>, path: string) =>
  (input: unknown): Effect.Effect<A, DecodeError> =>
    Schema.decodeUnknown(schema, parseOptions)(input).pipe(Effect.mapError((error) => fromParseError(path, error)))
