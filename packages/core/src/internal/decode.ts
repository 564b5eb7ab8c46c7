/** @internal */
import { Effect, Either, ParseResult, Schema } from "effect"
import { DecodeError, DecodeIssue } from "../Errors.js"

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

const single = (path: string, reason: DecodeError["reason"], message: string): DecodeError =>
  new DecodeError({ path, reason, detail: message, issues: [new DecodeIssue({ path: [], message })] })

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false })

/** Bytes to text, refusing invalid UTF-8 rather than replacing it. @internal */
export const decodeUtf8 = (path: string, bytes: Uint8Array): Either.Either<string, DecodeError> =>
  Either.try({
    try: () => utf8.decode(bytes),
    catch: () => single(path, "utf8", "the file is not valid UTF-8")
  })

class ProtoKey extends Error {}

// JSON.parse keeps "__proto__" as an own key, but any later spread or copy turns it into a prototype,
// through which unvalidated fields would be inherited. Such a key has no business in an OCI document.
const refuseProtoKey = (key: string, value: unknown): unknown => {
  if (key === "__proto__") throw new ProtoKey()
  return value
}

/** @internal */
export const parseJson = (path: string, text: string): Either.Either<unknown, DecodeError> =>
  Either.try({
    // The reviver costs a call per value, so only a text that mentions the key pays for it.
    try: (): unknown => (text.includes('"__proto__"') ? JSON.parse(text, refuseProtoKey) : JSON.parse(text)),
    catch: (error) =>
      error instanceof ProtoKey
        ? single(path, "schema", 'a "__proto__" key is not allowed in an OCI document')
        : single(path, "json", `not valid JSON (${error instanceof Error ? error.message : String(error)})`)
  })

/** Decodes a JSON file's bytes against a schema. @internal */
export const decodeJsonFile = <A, I>(
  schema: Schema.Schema<A, I>,
  path: string,
  bytes: Uint8Array
): Effect.Effect<{ readonly value: A; readonly raw: unknown }, DecodeError> =>
  Effect.gen(function* () {
    const text = yield* decodeUtf8(path, bytes)
    const raw = yield* parseJson(path, text)
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
