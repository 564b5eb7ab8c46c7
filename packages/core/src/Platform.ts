/**
 * The platform a manifest runs on, and the `os/arch[/variant]` notation users type.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { quote } from "./Text.js"

const NonEmpty = Schema.String.pipe(Schema.minLength(1, { message: () => "must be a non-empty string" }))

/**
 * A descriptor's platform. `architecture` and `os` are required; fields ocidx does not model are kept.
 *
 * @since 0.1.0
 * @category schema
 */
export const Platform = Schema.Struct({
  architecture: NonEmpty,
  os: NonEmpty,
  "os.version": Schema.optional(Schema.String),
  "os.features": Schema.optional(Schema.Array(Schema.String)),
  variant: Schema.optional(Schema.String),
  features: Schema.optional(Schema.Array(Schema.String))
}).annotations({ identifier: "Platform", parseOptions: { onExcessProperty: "preserve" } })

/**
 * @since 0.1.0
 * @category model
 */
export type Platform = typeof Platform.Type

/**
 * What a user asks for: `os/arch` or `os/arch/variant`.
 *
 * @since 0.1.0
 * @category model
 */
export interface PlatformSelector {
  readonly os: string
  readonly architecture: string
  readonly variant?: string | undefined
}

const segment = /^[A-Za-z0-9._-]+$/

/**
 * Parses `os/arch[/variant]` (e.g. `linux/arm64/v8`), or explains what is wrong with it.
 *
 * @since 0.1.0
 * @category constructor
 */
export const parseSelector = (text: string): Either.Either<PlatformSelector, string> => {
  const parts = text.split("/")
  if (parts.length < 2 || parts.length > 3 || !parts.every((part) => segment.test(part))) {
    return Either.left(
      `${quote(text)} is not a platform: expected os/arch or os/arch/variant, e.g. linux/amd64 or linux/arm/v7`
    )
  }
  const [os = "", architecture = "", variant] = parts
  return Either.right(variant === undefined ? { os, architecture } : { os, architecture, variant })
}

/**
 * Formats a platform as `os/arch[/variant]`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (platform: PlatformSelector): string =>
  [platform.os, platform.architecture, ...(platform.variant ? [platform.variant] : [])].join("/")

// arm64 images usually omit "v8", and amd64 ones "v1": a selector without a variant matches any variant,
// and these defaults let "linux/arm64/v8" match an entry that states no variant.
const defaultVariants: Record<string, string> = { arm64: "v8", amd64: "v1" }

/**
 * Whether a platform satisfies a selector: same os and architecture, and the variant when one is asked for.
 *
 * @since 0.1.0
 * @category predicate
 */
export const matches = (platform: Platform, selector: PlatformSelector): boolean => {
  if (platform.os !== selector.os || platform.architecture !== selector.architecture) return false
  if (!selector.variant) return true
  const variant = platform.variant ?? defaultVariants[platform.architecture]
  return variant === selector.variant
}
