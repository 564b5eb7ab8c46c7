/**
 * What `ocidx put` does once its arguments are parsed, shared by its @effect/cli command (commands/Put.ts)
 * and the fast path (`FastPath.ts`): adds an entry per tag and per name, replacing entries with the same tag
 * and name, through the write protocol.
 *
 * @since 0.1.0
 */
import { Buffer } from "node:buffer"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Annotations from "@ocidx/core/Annotations"
import * as Descriptor from "@ocidx/core/Descriptor"
import * as Digest from "@ocidx/core/Digest"
import { DecodeError, DecodeIssue, ReadError } from "@ocidx/core/Errors"
import * as Json from "@ocidx/core/Json"
import * as Layout from "@ocidx/core/Layout"
import * as MediaType from "@ocidx/core/MediaType"
import type { PlatformSelector } from "@ocidx/core/Platform"
import * as Reference from "@ocidx/core/Reference"
import * as Text from "@ocidx/core/Text"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { InvalidInput, UsageError } from "../CliError.js"
import * as Output from "../Output.js"
import { parseSize } from "../Parse.js"
import { Stdio } from "../Stdio.js"
import { openLayout } from "./Layout.js"

const JsonObject = Schema.Record({ key: Schema.String, value: Schema.Unknown })

const decodeFailure = (path: string, reason: "json" | "utf8" | "schema", message: string) =>
  new DecodeError({ path, reason, detail: message, issues: [new DecodeIssue({ path: [], message })] })

/** Validates the descriptor to put as the core does: every problem, unknown fields kept. */
const decodeDescriptor = (path: string, raw: unknown) => Descriptor.decodeUnknown(path)(raw)

const sourceName = (source: string) => (source === "-" ? "the descriptor on standard input" : source)

/** At most `max + 1` bytes of a stream: enough to tell input over the cap without reading all of it. */
const collectUpTo = <E, R>(stream: Stream.Stream<Uint8Array, E, R>, max: number): Effect.Effect<Uint8Array, E, R> =>
  Effect.suspend(() => {
    const chunks: Array<Uint8Array> = []
    let total = 0
    return stream.pipe(
      Stream.takeWhile(() => total <= max),
      Stream.runForEach((chunk) =>
        Effect.sync(() => {
          chunks.push(chunk)
          total += chunk.length
        })
      ),
      Effect.map(() => Buffer.concat(chunks))
    )
  })

/**
 * Reads `--descriptor <file|->` as a JSON object, through core's reader and its limits (size, depth, keys,
 * numbers it could not write back exactly); `decodeDescriptor` then checks it is a descriptor.
 */
const readDescriptorFile = (source: string) =>
  Effect.gen(function* () {
    const stdio = yield* Stdio
    const fs = yield* FileSystem.FileSystem
    const path = sourceName(source)
    const input =
      source === "-" ? stdio.stdin : fs.stream(source).pipe(Stream.mapError(ReadError.fromPlatformError(source)))
    const bytes = yield* collectUpTo(input, Json.maxDocumentBytes)
    if (bytes.length > Json.maxDocumentBytes) {
      return yield* Json.tooLarge(path, bytes.length, Json.maxDocumentBytes, "the descriptor")
    }
    const raw = yield* Json.parse(path, bytes, { exactNumbers: true })
    return yield* Schema.decodeUnknown(JsonObject)(raw).pipe(
      Effect.mapError(() =>
        decodeFailure(
          path,
          "json",
          'the descriptor must be one JSON object, e.g. {"mediaType": ..., "digest": ..., "size": ...}'
        )
      )
    )
  })

/**
 * The descriptor without its naming annotations: the entry's names are the tags and `--name`s given, so
 * `ocidx get <dir> a | ocidx put <dir> b --descriptor -` tags a's image as b, not as a and b at once.
 */
const withoutNames = (descriptor: Record<string, unknown>): Record<string, unknown> => {
  const { annotations, ...rest } = descriptor
  if (typeof annotations !== "object" || annotations === null || Array.isArray(annotations)) {
    return annotations === undefined ? rest : descriptor
  }
  const kept = Object.fromEntries(
    Object.entries(annotations).filter(
      ([key]) => key !== Annotations.refName && key !== Annotations.containerdImageName
    )
  )
  return Object.keys(kept).length === 0 ? rest : { ...rest, annotations: kept }
}

/**
 * What `put` is given: the parsed flags and arguments.
 *
 * @since 0.1.0
 * @category model
 */
export interface PutConfig {
  readonly directory: string
  readonly tags: ReadonlyArray<string>
  readonly names: ReadonlyArray<string>
  readonly digest: Option.Option<string>
  readonly size: Option.Option<string>
  readonly mediaType: Option.Option<string>
  readonly descriptor: Option.Option<string>
  readonly annotations: ReadonlyArray<readonly [string, string]>
  readonly platform: Option.Option<PlatformSelector>
}

/** The flag each field of a descriptor built from flags comes from. */
const flagOfField: Record<string, string> = {
  mediaType: "--media-type",
  digest: "--digest",
  size: "--size",
  annotations: "--annotation",
  platform: "--platform"
}

/**
 * A descriptor built from flags that does not decode is a bad flag, not a bad file: one line naming the
 * flag (exit 65), instead of the schema's account of a file to "fix or restore".
 */
const asFlagError = (error: DecodeError): DecodeError | InvalidInput => {
  const [first] = error.issues
  const field = first?.path[0]
  const flag = typeof field === "string" ? flagOfField[field] : undefined
  return first === undefined || flag === undefined
    ? error
    : new InvalidInput({ message: `${flag}: ${Text.escapeControls(first.message)}.` })
}

/** The descriptor to put, from the flags or from `--descriptor`, with annotations and platform applied. */
const descriptorFrom = (flags: PutConfig) =>
  Effect.gen(function* () {
    let base: Record<string, unknown>
    if (Option.isSome(flags.descriptor)) {
      const conflicting = [
        Option.isSome(flags.digest) ? "--digest" : undefined,
        Option.isSome(flags.size) ? "--size" : undefined,
        Option.isSome(flags.mediaType) ? "--media-type" : undefined
      ].filter((flag) => flag !== undefined)
      if (conflicting.length > 0) {
        return yield* new UsageError({
          message: `--descriptor gives the whole descriptor; drop ${conflicting.join(", ")} (or put them in the descriptor file).`
        })
      }
      base = withoutNames(yield* readDescriptorFile(flags.descriptor.value))
    } else {
      if (Option.isNone(flags.digest) || Option.isNone(flags.size)) {
        return yield* new UsageError({
          message: "put needs --digest and --size (the blob's), or --descriptor <file|->. See `ocidx put --help`."
        })
      }
      const digest = flags.digest.value
      const problem = Digest.problem(digest)
      if (problem !== undefined) return yield* new InvalidInput({ message: `--digest: ${problem}.` })
      const size = parseSize(flags.size.value)
      if (Option.isNone(size)) {
        return yield* new InvalidInput({
          message: `--size: ${Text.quote(flags.size.value)} is not a size: give the blob's length in bytes, a whole number from 0 to ${Number.MAX_SAFE_INTEGER}.`
        })
      }
      base = { mediaType: Option.getOrElse(flags.mediaType, () => MediaType.ociManifest), digest, size: size.value }
    }
    for (const [key] of flags.annotations) {
      const problem = Annotations.newKeyProblem(key)
      if (problem !== undefined) {
        return yield* new InvalidInput({ message: `--annotation ${Text.quote(`${key}=...`)}: ${problem}.` })
      }
    }
    if (flags.annotations.length > 0) {
      const existing = typeof base.annotations === "object" && base.annotations !== null ? base.annotations : {}
      base = { ...base, annotations: { ...existing, ...Object.fromEntries(flags.annotations) } }
    }
    if (Option.isSome(flags.platform)) {
      const { architecture, os, variant } = flags.platform.value
      base = { ...base, platform: variant === undefined ? { architecture, os } : { architecture, os, variant } }
    }
    return base
  })

/** Warns when the blob is missing, refuses a size that contradicts the blob on disk. */
const checkBlob = (layout: Layout.Layout, descriptor: Descriptor.Descriptor) =>
  Effect.gen(function* () {
    const stat = yield* layout.blobs.stat(descriptor.digest)
    const path = layout.blobs.pathOf(descriptor.digest)
    if (Option.isNone(stat)) {
      const stdio = yield* Stdio
      return yield* stdio.err(
        `ocidx: warning: ${path} does not exist, so the new entry points at content the layout does not hold. Add it with \`ocidx blob put\`.\n`
      )
    }
    if (stat.value.size !== descriptor.size) {
      return yield* new InvalidInput({
        message: `the size given (${descriptor.size}) does not match ${path}, which is ${stat.value.size} bytes. Give the blob's real size.`
      })
    }
  })

/**
 * `ocidx put`.
 *
 * @since 0.1.0
 * @category actions
 */
export const put = (config: PutConfig) =>
  Effect.gen(function* () {
    const stdio = yield* Stdio
    const names = yield* Effect.all([
      ...config.tags.map((tag) => Reference.tag(tag)),
      ...config.names.map((name) =>
        Reference.name(name).pipe(Effect.mapError((error) => new InvalidInput({ message: `--name: ${error.message}` })))
      )
    ])
    const raw = yield* descriptorFrom(config)
    const descriptor = yield* Option.match(config.descriptor, {
      onNone: () => decodeDescriptor("the descriptor given to put", raw).pipe(Effect.mapError(asFlagError)),
      onSome: (source) => decodeDescriptor(sourceName(source), raw)
    })
    // A missing directory is the error to report, not the missing blob inside it.
    yield* Layout.requireDirectory(config.directory)
    const layout = yield* openLayout(config.directory)
    yield* checkBlob(layout, descriptor)
    // A decoded descriptor is valid input as it is; put validates it again, which costs nothing here.
    const added = yield* layout.index.put(descriptor, names)
    const lines = added.map((entry) => {
      const label =
        Descriptor.annotation(entry, Annotations.containerdImageName) ??
        Descriptor.annotation(entry, Annotations.refName)
      return `${config.directory}: ${label ?? "untagged entry"} -> ${Output.shortDigest(entry.digest)} (${entry.mediaType})`
    })
    yield* stdio.out(`${lines.join("\n")}\n`)
  })
