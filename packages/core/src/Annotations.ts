/**
 * Descriptor and index annotations: a string-to-string map, and the keys ocidx reads and writes.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { isAnnotationKey } from "./internal/rules.js"
import { escapeControls, quote } from "./Text.js"

/**
 * An annotation key: non-empty, and never a key that would reach an object's prototype.
 *
 * @since 0.1.0
 * @category schema
 */
export const AnnotationKey = Schema.String.pipe(
  Schema.filter(
    (key) =>
      isAnnotationKey(key) || "an annotation key must be a non-empty string without NUL and must not be __proto__"
  ),
  Schema.annotations({ identifier: "AnnotationKey" })
)

/**
 * Names that are properties of every JavaScript object: as keys they reach, or shadow, what a reader of the
 * map expects to find there. Files may hold them (other tools wrote them; `AnnotationKey` reads them), but
 * ocidx does not add them.
 */
const reservedKeys: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"])

/**
 * Why `key` is not an annotation key ocidx adds to a descriptor (from `put --annotation`), or `undefined`
 * when it is one: it must be an `AnnotationKey`, not a name every object has, and printable (no control or
 * bidi character, which no tool's annotation uses and which would garble every listing).
 *
 * @since 0.1.0
 * @category validation
 */
export const newKeyProblem = (key: string): string | undefined => {
  if (key.length === 0) return "an annotation key must not be empty"
  if (reservedKeys.has(key) || !isAnnotationKey(key)) return `${quote(key)} is not an allowed annotation key`
  // Text escapes exactly the characters that must not reach a terminal.
  if (escapeControls(key) !== key) {
    return `${quote(key)} is not an allowed annotation key: it contains a control or bidi character`
  }
  return undefined
}

/**
 * @since 0.1.0
 * @category schema
 */
export const Annotations = Schema.Record({ key: AnnotationKey, value: Schema.String }).annotations({
  identifier: "Annotations",
  // A key that fails AnnotationKey must be reported, not kept aside as an unknown field.
  parseOptions: { onExcessProperty: "error" }
})

/**
 * @since 0.1.0
 * @category model
 */
export type Annotations = typeof Annotations.Type

/**
 * The tag of a top-level `index.json` entry.
 *
 * @since 0.1.0
 * @category constants
 */
export const refName = "org.opencontainers.image.ref.name"

/**
 * The full image name that buildkit and containerd write beside `ref.name`.
 *
 * @since 0.1.0
 * @category constants
 */
export const containerdImageName = "io.containerd.image.name"
