/**
 * Helpers for the StoreIndex and IndexLock tests: a layout at a fixed path in the in-memory file system,
 * descriptors and names to put, small fast-check arbitraries, and checks of what is on "disk".
 */
import * as Annotations from "@ocidx/core/Annotations"
import type { Descriptor, DescriptorInput } from "@ocidx/core/Descriptor"
import type { DecodeError, LockError, ReadError, WriteError } from "@ocidx/core/Errors"
import * as MediaType from "@ocidx/core/MediaType"
import * as Reference from "@ocidx/core/Reference"
import * as StoreIndex from "@ocidx/core/StoreIndex"
import * as testing from "@ocidx/core/testing"
import { Effect, Either, FastCheck, Fiber, Option } from "effect"

export const directory = "/layout"
export const indexPath = "/layout/index.json"
export const lockPath = "/layout/index.json.lock"
export const layoutPath = "/layout/oci-layout"
export const layoutContent = `{"imageLayoutVersion":"1.0.0"}`

const decoder = new TextDecoder()

/** A sha256 digest made of `seed` repeated: `digest("a")` is `sha256:aaaa...`. */
export const digest = (seed: string | number): string => {
  const hex = typeof seed === "number" ? seed.toString(16) : seed
  return `sha256:${hex.repeat(Math.ceil(64 / hex.length)).slice(0, 64)}`
}

/** A manifest descriptor to put. */
export const manifest = (seed: string | number, size = 7): DescriptorInput => ({
  mediaType: MediaType.ociManifest,
  digest: digest(seed),
  size
})

/** A raw index.json entry, as another tool might have written it. */
export const rawEntry = (
  seed: string | number,
  annotations?: Record<string, string>,
  extra?: Record<string, unknown>
): Record<string, unknown> => ({
  mediaType: MediaType.ociManifest,
  digest: digest(seed),
  size: 7,
  ...(annotations === undefined ? {} : { annotations }),
  ...extra
})

/** The text of an index.json holding `manifests`. */
export const indexJson = (manifests: ReadonlyArray<unknown>, extra?: Record<string, unknown>): string =>
  JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests, ...extra })

export const tag = (value: string): Reference.NameOrTag =>
  Either.getOrThrowWith(Reference.tag(value), (error) => new Error(error.message))

export const imageName = (value: string): Reference.NameOrTag =>
  Either.getOrThrowWith(Reference.name(value), (error) => new Error(error.message))

export const refNameOf = (entry: Descriptor): string | undefined => entry.annotations?.[Annotations.refName]
export const imageNameOf = (entry: Descriptor): string | undefined =>
  entry.annotations?.[Annotations.containerdImageName]

/** The expected entry for `input` put under a tag. */
export const tagged = (input: DescriptorInput, refName: string): DescriptorInput => ({
  ...input,
  annotations: { ...input.annotations, [Annotations.refName]: refName }
})

export interface Env {
  readonly store: StoreIndex.StoreIndex
  readonly memory: testing.MemoryFileSystem
  readonly lock: testing.MemoryLock
}

/** The store at `/layout` and both test controls. */
export const env = Effect.gen(function* () {
  const memory = yield* testing.MemoryFileSystem
  const lock = yield* testing.MemoryLock
  const store = yield* StoreIndex.make({ directory })
  const result: Env = { store, memory, lock }
  return result
})

/** A fresh in-memory world for one test: a 1 second lock timeout unless said otherwise. */
export const provideFresh =
  (options?: Parameters<typeof testing.layer>[0]) =>
  <A, E, R>(self: Effect.Effect<A, E, R>) =>
    Effect.provide(self, testing.layer({ timeout: "1 second", ...options }))

/** Seeds a layout: `oci-layout` (unless `layout` is null) and, when given, `index.json`. */
export const seedLayout = (
  memory: testing.MemoryFileSystem,
  index?: string | Uint8Array,
  layout: string | null = layoutContent
): void => {
  if (layout !== null) memory.writeText(layoutPath, layout)
  if (index !== undefined) memory.writeText(indexPath, index)
  if (layout === null && index === undefined) memory.writeText(`${directory}/.keep`, "")
}

/** A file's exact bytes as a byte string (latin1), so a failed comparison reads as text. */
export const fileBytes = (memory: testing.MemoryFileSystem, path: string): string | undefined => {
  const bytes = memory.files()[path]
  return bytes === undefined ? undefined : Buffer.from(bytes).toString("latin1")
}

export const fileText = (memory: testing.MemoryFileSystem, path: string): string | undefined => {
  const bytes = memory.files()[path]
  return bytes === undefined ? undefined : decoder.decode(bytes)
}

/** Every regular file, by path, sorted. */
export const paths = (memory: testing.MemoryFileSystem): ReadonlyArray<string> => Object.keys(memory.files()).sort()

/** Files a write left behind: anything in the layout that is not a layout file ocidx or the test put there. */
export const strayFiles = (memory: testing.MemoryFileSystem): ReadonlyArray<string> =>
  paths(memory).filter(
    (path) => path.startsWith(`${directory}/`) && ![indexPath, layoutPath, `${directory}/.keep`].includes(path)
  )

/** The mutating operations the file system saw. */
export const writes = (memory: testing.MemoryFileSystem) =>
  memory
    .calls()
    .filter(
      (call) => call.op !== "readFile" && call.op !== "stat" && call.op !== "readDirectory" && call.op !== "open-read"
    )

/** The parsed entries of the index.json on disk, each as its JSON text. */
export const entryTexts = (memory: testing.MemoryFileSystem): ReadonlyArray<string> => {
  const text = fileText(memory, indexPath)
  if (text === undefined) return []
  const parsed: unknown = JSON.parse(text)
  if (typeof parsed !== "object" || parsed === null || !("manifests" in parsed) || !Array.isArray(parsed.manifests)) {
    return []
  }
  return parsed.manifests.map((entry: unknown) => JSON.stringify(entry))
}

/** Yields until `done` holds, so forked fibers run as far as they can without the clock moving. */
export const settle = (done: () => boolean, rounds = 200): Effect.Effect<void> =>
  Effect.gen(function* () {
    for (let i = 0; i < rounds && !done(); i++) yield* Effect.yieldNow()
  })

/** Whether a fiber has finished. */
export const isDone = <A, E>(fiber: Fiber.Fiber<A, E>): Effect.Effect<boolean> =>
  Effect.map(Fiber.poll(fiber), Option.isSome)

/** The lock is free: no holder of any kind. */
export const free = { shared: 0, exclusive: false } as const

export type StoreError = LockError | ReadError | DecodeError | WriteError

/** Deep-freezes a JSON-like value, so any mutation throws. */
export const deepFreeze = <A>(value: A): A => {
  if (typeof value === "object" && value !== null) {
    for (const key of Object.keys(value)) deepFreeze(Reflect.get(value, key))
    Object.freeze(value)
  }
  return value
}

// ---------------------------------------------------------------------------------------------------------
// Arbitraries (small, fast): enough variety to exercise the index laws, always valid input.
// ---------------------------------------------------------------------------------------------------------

const toHex = (bytes: Uint8Array): string => Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("")

export const arbDigest: FastCheck.Arbitrary<string> = FastCheck.uint8Array({ minLength: 32, maxLength: 32 }).map(
  (bytes) => `sha256:${toHex(bytes)}`
)

export const arbMediaType: FastCheck.Arbitrary<string> = FastCheck.constantFrom(
  MediaType.ociManifest,
  MediaType.ociIndex,
  MediaType.dockerManifest,
  MediaType.dockerManifestList,
  "application/vnd.example.thing+json"
)

/** Ref names by the OCI grammar (no containerd-looking names, no digests). */
export const arbRefName: FastCheck.Arbitrary<string> = FastCheck.stringMatching(
  /^[A-Za-z0-9]{1,6}(?:[-._][A-Za-z0-9]{1,6}){0,2}$/
).filter((value) => Either.isRight(Reference.tag(value)))

const arbAnnotationKey = FastCheck.constantFrom(
  "org.opencontainers.image.created",
  "org.opencontainers.image.source",
  "com.example.note",
  "vnd.example/with slash"
)

export const arbDescriptorInput: FastCheck.Arbitrary<DescriptorInput> = FastCheck.record(
  {
    mediaType: arbMediaType,
    digest: arbDigest,
    size: FastCheck.nat({ max: 2 ** 40 }),
    annotations: FastCheck.dictionary(arbAnnotationKey, FastCheck.string({ maxLength: 12 }), { maxKeys: 3 }),
    platform: FastCheck.record(
      {
        architecture: FastCheck.constantFrom("amd64", "arm64", "arm", "s390x"),
        os: FastCheck.constantFrom("linux", "windows"),
        variant: FastCheck.constantFrom("v7", "v8")
      },
      { requiredKeys: ["architecture", "os"] }
    ),
    urls: FastCheck.array(FastCheck.constantFrom("https://example.com/blob", "oci://mirror/x"), { maxLength: 2 })
  },
  { requiredKeys: ["mediaType", "digest", "size"] }
)
