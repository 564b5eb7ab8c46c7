/**
 * Tags and image names as `index.json` stores them: `Tag(t)` sets `org.opencontainers.image.ref.name`,
 * `Name(n)` also sets `io.containerd.image.name` and uses the tag part of `n` as the ref name, as buildkit does.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { InvalidReference } from "./Errors.js"
import { quote } from "./Text.js"

const component = "[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*"
const refNamePattern = new RegExp(`^${component}(?:/${component})*$`)

/**
 * A value of `org.opencontainers.image.ref.name`, by the grammar of the OCI annotations spec.
 *
 * @since 0.1.0
 * @category schema
 */
export const RefName = Schema.String.pipe(
  Schema.filter(
    (value) =>
      refNamePattern.test(value) ||
      `${quote(value)} is not a valid ref name: use letters and digits, separated by one of - . _ : @ + or --, and / between components`
  ),
  Schema.brand("RefName"),
  Schema.annotations({ identifier: "RefName" })
)

/**
 * @since 0.1.0
 * @category model
 */
export type RefName = typeof RefName.Type

/**
 * How an entry is named: by a bare tag, or by a full image name whose tag part becomes the ref name.
 *
 * @since 0.1.0
 * @category model
 */
export type NameOrTag = Data.TaggedEnum<{
  Tag: { readonly refName: RefName }
  Name: { readonly imageName: string; readonly refName: RefName }
}>

const NameOrTag = Data.taggedEnum<NameOrTag>()

/**
 * Whether `value` is a ref name: `Schema.is(RefName)` as a plain test, with no parse behind it (verify and the
 * index writer ask it once per entry).
 *
 * @since 0.1.0
 * @category refinements
 */
export const isRefName = (value: unknown): value is RefName => typeof value === "string" && refNamePattern.test(value)

/**
 * A bare tag, such as `v1.2` or `latest`.
 *
 * @since 0.1.0
 * @category constructor
 */
export const tag = (value: string): Either.Either<NameOrTag, InvalidReference> =>
  isRefName(value)
    ? Either.right(NameOrTag.Tag({ refName: value }))
    : Either.left(
        new InvalidReference({
          value,
          problem: "a tag uses letters and digits separated by one of - . _ : @ + or --, with / between components"
        })
      )

const imageNamePattern = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$/

/**
 * The tag part of a full image reference: `docker.io/library/alpine:3.20` -> `3.20`,
 * `localhost:5000/a/b:v1` -> `v1`, `ghcr.io/o/r@sha256:...` -> `sha256:...`, `r:v1@sha256:...` ->
 * `v1@sha256:...`, and `latest` for a name with neither tag nor digest.
 *
 * @since 0.1.0
 * @category getter
 */
export const tagPart = (imageName: string): string => {
  const at = imageName.indexOf("@")
  const named = at === -1 ? imageName : imageName.slice(0, at)
  const digest = at === -1 ? undefined : imageName.slice(at + 1)
  const lastSegment = named.slice(named.lastIndexOf("/") + 1)
  const colon = lastSegment.indexOf(":")
  const tagged = colon === -1 ? undefined : lastSegment.slice(colon + 1)
  if (digest !== undefined) return tagged ? `${tagged}@${digest}` : digest
  return tagged ?? "latest"
}

/**
 * A full image name, such as `docker.io/library/alpine:3.20`. Stored as given under
 * `io.containerd.image.name`; its tag part becomes the ref name.
 *
 * @since 0.1.0
 * @category constructor
 */
export const name = (value: string): Either.Either<NameOrTag, InvalidReference> => {
  if (!imageNamePattern.test(value)) {
    return Either.left(
      new InvalidReference({
        value,
        problem: "an image name looks like registry/repository:tag or repository@sha256:..., without spaces"
      })
    )
  }
  const refName = tagPart(value)
  return isRefName(refName)
    ? Either.right(NameOrTag.Name({ imageName: value, refName }))
    : Either.left(new InvalidReference({ value, problem: `its tag part ${quote(refName)} is not a valid ref name` }))
}

/**
 * Matches `NameOrTag` values by tag.
 *
 * @since 0.1.0
 * @category pattern matching
 */
export const match = NameOrTag.$match
