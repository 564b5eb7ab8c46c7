/**
 * Content digests (`algorithm:encoded`) as the OCI image-spec defines them. `sha256` and `sha512` are
 * checked exactly; other algorithms only by the grammar, since ocidx cannot verify what it cannot compute.
 *
 * @since 0.1.0
 */
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { quote } from "./Text.js"

const grammar = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/

/**
 * The algorithms ocidx can compute and therefore verify, with the length of their hex encoding.
 *
 * @since 0.1.0
 * @category model
 */
export const registeredAlgorithms = { sha256: 64, sha512: 128 } as const

/**
 * @since 0.1.0
 * @category model
 */
export type Algorithm = keyof typeof registeredAlgorithms

/**
 * Whether ocidx can compute this algorithm (`sha256`, `sha512`), and so hash content to check it.
 *
 * @since 0.1.0
 * @category validation
 */
export const isAlgorithm = (algorithm: string): algorithm is Algorithm => Object.hasOwn(registeredAlgorithms, algorithm)

/**
 * Explains why a string is not a valid digest, or returns `undefined` when it is one.
 *
 * @since 0.1.0
 * @category validation
 */
export const problem = (value: string): string | undefined => {
  if (!grammar.test(value)) {
    return `${quote(value)} is not a digest: expected algorithm:encoded, e.g. sha256: followed by 64 lowercase hex characters`
  }
  const colon = value.indexOf(":")
  const algorithm = value.slice(0, colon)
  const encoded = value.slice(colon + 1)
  if (isAlgorithm(algorithm)) {
    const length = registeredAlgorithms[algorithm]
    if (encoded.length !== length || !/^[a-f0-9]+$/.test(encoded)) {
      return `${quote(value)} is not a valid ${algorithm} digest: expected exactly ${length} lowercase hex characters after "${algorithm}:", got ${encoded.length}${/[A-F]/.test(encoded) ? " (uppercase hex is not allowed)" : ""}`
    }
  }
  return undefined
}

/**
 * A validated digest string. Only a value of this type is ever turned into a blob path.
 *
 * @since 0.1.0
 * @category schema
 */
export const Digest = Schema.String.pipe(
  Schema.filter((value) => problem(value) ?? true),
  Schema.brand("Digest"),
  Schema.annotations({ identifier: "Digest", description: "an OCI content digest, algorithm:encoded" })
)

/**
 * @since 0.1.0
 * @category model
 */
export type Digest = typeof Digest.Type

/**
 * Parses a string into a `Digest`, or `None` when it is not one.
 *
 * @since 0.1.0
 * @category constructor
 */
export const parse = (value: string): Option.Option<Digest> => (is(value) ? Option.some(value) : Option.none())

/**
 * Whether a string is a valid digest. The schema's one rule is `problem`, so this is its check without the
 * parse machinery around it: verify's scan asks it of every file name under blobs/.
 *
 * @since 0.1.0
 * @category validation
 */
export const is = (value: unknown): value is Digest => typeof value === "string" && problem(value) === undefined

/**
 * The algorithm part of a digest (`sha256`).
 *
 * @since 0.1.0
 * @category getter
 */
export const algorithm = (digest: Digest): string => digest.slice(0, digest.indexOf(":"))

/**
 * The encoded part of a digest (the hex for sha256).
 *
 * @since 0.1.0
 * @category getter
 */
export const encoded = (digest: Digest): string => digest.slice(digest.indexOf(":") + 1)

/**
 * Whether ocidx can compute this digest's algorithm, and so verify content against it.
 *
 * @since 0.1.0
 * @category validation
 */
export const isVerifiable = (digest: Digest): boolean => isAlgorithm(algorithm(digest))

/**
 * Builds a digest from an algorithm ocidx computes and its lowercase hex encoding.
 *
 * @since 0.1.0
 * @category constructor
 */
export const fromHex = (alg: Algorithm, hex: string): Option.Option<Digest> => parse(`${alg}:${hex}`)
