/**
 * Test doubles for programs built on ocidx: an in-memory FileSystem with injectable faults and an
 * in-memory IndexLock whose holders and history can be inspected, and `layer`, which provides both with
 * ready layouts, directories and files laid out in one call; and an in-memory OCI registry
 * (`layerRegistry`, `layerRegistryClient`) to run the real `RegistryClient` against, offline. ocidx's own
 * tests use exactly these.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Path from "@effect/platform/Path"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Credentials from "./Credentials.js"
import type * as Descriptor from "./Descriptor.js"
import type { Digest } from "./Digest.js"
import type { LockReason } from "./Errors.js"
import * as Hasher from "./Hasher.js"
import * as IndexLock from "./IndexLock.js"
import * as LayoutFiles from "./LayoutFiles.js"
import * as RegistryClient from "./RegistryClient.js"
import * as memoryFileSystem from "./internal/memoryFileSystem.js"
import * as memoryLock from "./internal/memoryLock.js"
import * as memoryRegistry from "./internal/registry/memory.js"
import * as seeding from "./internal/seed.js"

/**
 * The file-system operations a fault can be attached to. `open` is an open for writing; `open-read` one
 * for reading.
 *
 * @since 0.1.0
 * @category model
 */
export type FaultOp =
  | "open"
  | "open-read"
  | "write"
  | "sync"
  | "rename"
  | "chmod"
  | "stat"
  | "remove"
  | "makeDirectory"
  | "readDirectory"
  | "readFile"
  | "symlink"

/**
 * The errors a fault can raise, as the real file system reports them.
 *
 * @since 0.1.0
 * @category model
 */
export type Errno =
  | "ENOENT"
  | "EEXIST"
  | "EACCES"
  | "EPERM"
  | "EROFS"
  | "ENOSPC"
  | "EIO"
  | "EISDIR"
  | "ENOTDIR"
  | "ENOTEMPTY"
  | "ELOOP"
  | "EINVAL"

/**
 * An in-memory file system and the controls a test needs.
 *
 * @since 0.1.0
 * @category model
 */
export interface MemoryFileSystem {
  readonly fileSystem: FileSystem.FileSystem
  /** Every regular file and its bytes (copies). */
  readonly files: () => Record<string, Uint8Array>
  readonly readText: (path: string) => string | undefined
  /** Writes a file directly, creating parent directories, bypassing faults. */
  readonly writeText: (path: string, content: string | Uint8Array, mode?: number) => void
  /** Creates a directory and its missing parents directly (mode 0755), bypassing faults. */
  readonly makeDirectory: (path: string) => void
  readonly mode: (path: string) => number | undefined
  /**
   * Makes the `nth` call (1-based; 0 = every call) of `op`, optionally only on `path`, fail with `errno`,
   * or never complete ("hang"), as a process killed mid-operation would.
   */
  readonly inject: (
    op: FaultOp,
    errno: Errno | "hang",
    options?: { readonly nth?: number; readonly path?: string }
  ) => void
  /** Every mutating operation fails with EROFS while set. */
  readonly setReadOnly: (readOnly: boolean) => void
  readonly clearFaults: () => void
  /** The operations performed so far, in order. */
  readonly calls: () => ReadonlyArray<{ readonly op: FaultOp; readonly path: string }>
}

/**
 * @since 0.1.0
 * @category tag
 */
export const MemoryFileSystem: Context.Tag<MemoryFileSystem, MemoryFileSystem> = Context.GenericTag<MemoryFileSystem>(
  "@ocidx/core/testing/MemoryFileSystem"
)

/**
 * A new, empty in-memory file system with only `/`.
 *
 * @since 0.1.0
 * @category constructor
 */
export const makeMemoryFileSystem: () => MemoryFileSystem = memoryFileSystem.make

/**
 * One lock event, for asserting which mode an operation held.
 *
 * @since 0.1.0
 * @category model
 */
export interface LockEvent {
  readonly lockPath: string
  readonly mode: IndexLock.LockMode
  readonly owner: "ocidx" | "external"
  readonly event: "acquired" | "released"
}

/**
 * The in-memory lock's controls: what is held, a simulated other process, and injected failures.
 *
 * @since 0.1.0
 * @category model
 */
export interface MemoryLock {
  readonly holders: (lockPath: string) => { readonly shared: number; readonly exclusive: boolean }
  /** Holds the lock as another process would, for the life of the scope. `false` when it was busy. */
  readonly holdExternally: (lockPath: string, mode: IndexLock.LockMode) => Effect.Effect<boolean, never, Scope.Scope>
  readonly events: () => ReadonlyArray<LockEvent>
  /** Makes every attempt on `lockPath` fail with `reason` (shared ones on a read-only layout succeed unlocked). */
  readonly failWith: (lockPath: string, reason: LockReason | undefined) => void
}

/**
 * @since 0.1.0
 * @category tag
 */
export const MemoryLock: Context.Tag<MemoryLock, MemoryLock> = Context.GenericTag<MemoryLock>(
  "@ocidx/core/testing/MemoryLock"
)

/**
 * A fresh in-memory lock. Build it once per test: it holds state.
 *
 * @since 0.1.0
 * @category layer
 */
export const layerMemoryLock = (options?: IndexLock.LockOptions): Layer.Layer<IndexLock.IndexLock | MemoryLock> =>
  Layer.syncContext(() => {
    const { backend, handle } = memoryLock.make()
    return Context.make(IndexLock.IndexLock, IndexLock.make(backend, options)).pipe(Context.add(MemoryLock, handle))
  })

/**
 * One image layout to lay out before the program runs: everything `Layout.init` creates (`oci-layout`,
 * `blobs/sha256/`, an `index.json`), plus the blobs and tags given.
 *
 * @since 0.1.0
 * @category model
 */
export interface LayoutSeed {
  /** Blob contents (text is UTF-8), each stored at `blobs/sha256/<its sha256>`. */
  readonly blobs?: ReadonlyArray<string | Uint8Array> | undefined
  /**
   * `index.json` entries, in key order: each descriptor tagged with its key (`org.opencontainers.image.ref.name`),
   * as `StoreIndex.put(descriptor, [Reference.tag(key)])` would store it. The blob need not be seeded.
   */
  readonly tags?: Readonly<Record<string, Descriptor.DescriptorInput>> | undefined
}

/**
 * What the in-memory file system holds before the program runs. Layouts are laid out first, then
 * directories, then files, so a file can replace what a layout seeded (say, a corrupt `index.json`).
 * A seed that is not valid (a bad descriptor or tag) is a defect of the test: building the layer dies.
 *
 * @since 0.1.0
 * @category model
 */
export interface Seed {
  /** Ready image layouts: directories initialised empty, or, keyed by directory, with blobs and tags. */
  readonly layouts?: ReadonlyArray<string> | Readonly<Record<string, LayoutSeed>> | undefined
  /** Empty directories, parents created. */
  readonly directories?: ReadonlyArray<string> | undefined
  /** Files by absolute path (text is UTF-8), mode 0644, parents created. */
  readonly files?: Readonly<Record<string, string | Uint8Array>> | undefined
}

/**
 * Lays out `seed` in the current in-memory file system, bypassing its faults and leaving `calls()` empty:
 * for a test that needs more files after the layer was built.
 *
 * @since 0.1.0
 * @category constructor
 */
export const seed = (seed: Seed): Effect.Effect<void, never, MemoryFileSystem> =>
  Effect.flatMap(MemoryFileSystem, (memory) => seeding.seed(memory, seed))

const layerSeeded = (seed: Seed): Layer.Layer<FileSystem.FileSystem | MemoryFileSystem> =>
  Layer.effectContext(
    Effect.suspend(() => {
      const memory = memoryFileSystem.make()
      return Effect.as(
        seeding.seed(memory, seed),
        Context.make(MemoryFileSystem, memory).pipe(Context.add(FileSystem.FileSystem, memory.fileSystem))
      )
    })
  )

/**
 * A fresh in-memory file system. Build it once per test: it holds state.
 *
 * @since 0.1.0
 * @category layer
 */
export const layerMemoryFileSystem: Layer.Layer<FileSystem.FileSystem | MemoryFileSystem> = layerSeeded({})

/**
 * Options of `layer`: what the file system holds at the start, and how the lock waits.
 *
 * @since 0.1.0
 * @category model
 */
export interface LayerOptions extends IndexLock.LockOptions, Seed {}

/**
 * Everything the core needs, in memory: FileSystem (seeded as `options` says), Path, IndexLock, a WebCrypto
 * Hasher, the portable `LayoutFiles` on that FileSystem, and the controls of the file system and the lock.
 * Fresh each time it is built.
 *
 * @example
 * ```ts
 * import { StoreIndex, testing } from "@ocidx/core"
 * import { Effect } from "effect"
 *
 * const program = Effect.flatMap(StoreIndex.make({ directory: "/layout" }), (store) => store.list)
 * // An initialised, empty layout at /layout: the program sees an index with no entries.
 * Effect.provide(program, testing.layer({ layouts: ["/layout"] }))
 * ```
 *
 * @since 0.1.0
 * @category layer
 */
export const layer = (
  options?: LayerOptions
): Layer.Layer<
  | FileSystem.FileSystem
  | MemoryFileSystem
  | Path.Path
  | IndexLock.IndexLock
  | MemoryLock
  | Hasher.Hasher
  | LayoutFiles.LayoutFiles
> =>
  LayoutFiles.layer.pipe(
    Layer.provideMerge(
      Layer.mergeAll(layerSeeded(options ?? {}), Path.layer, layerMemoryLock(options), Hasher.layerWebCrypto)
    )
  )

/**
 * How the in-memory registry behaves.
 *
 * @since 0.1.0
 * @category model
 */
export interface MemoryRegistryOptions {
  /**
   * Require credentials: `basic` (the default) answers 401 with a Basic challenge to anything else;
   * `bearer` answers with a Bearer challenge whose realm is `<origin>/token`, which issues tokens for the
   * scopes asked when given these credentials in Basic auth (and tokens with no access to anyone else).
   */
  readonly auth?:
    | {
        readonly username: string
        readonly password: string
        readonly scheme?: "basic" | "bearer" | undefined
        /** With `bearer`: the refresh token the token endpoint accepts in its OAuth2 form (POST). */
        readonly identityToken?: string | undefined
      }
    | undefined
  /** Tags per page of `tags/list` when the client gives no `n` (default 100); more pages are linked. */
  readonly tagsPageSize?: number | undefined
  /** Whether `GET /v2/<name>/referrers/<digest>` is served (default true); without it the answer is 404. */
  readonly referrersApi?: boolean | undefined
  /**
   * Ask for chunked uploads: the upload session carries `OCI-Chunk-Min-Length`, and a PUT with the whole
   * blob is refused with 416.
   */
  readonly chunkMinLength?: number | undefined
}

/**
 * A request the in-memory registry received. `headers` are as sent, the Authorization header included: it
 * is for tests that check where credentials went.
 *
 * @since 0.1.0
 * @category model
 */
export interface MemoryRegistryRequest {
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
}

/**
 * What the in-memory registry did: blobs received by upload, blobs mounted from another repository,
 * manifests put, blob downloads and tokens issued.
 *
 * @since 0.1.0
 * @category model
 */
export interface MemoryRegistryStats {
  readonly uploads: number
  readonly mounts: number
  readonly manifestPuts: number
  readonly blobGets: number
  readonly tokens: number
}

/**
 * The controls of the in-memory registry: seed it, look inside, and answer requests yourself (faults,
 * redirects, other origins). Repositories are named without the registry: it answers for every host.
 *
 * @since 0.1.0
 * @category model
 */
export interface MemoryRegistry {
  /** Stores a blob in a repository (text is UTF-8); returns its sha256 digest. */
  readonly putBlob: (repository: string, content: string | Uint8Array) => Effect.Effect<Digest>
  /** Stores a manifest, under a tag when `tag` is given; returns its sha256 digest. */
  readonly putManifest: (
    repository: string,
    tag: string | undefined,
    manifest: { readonly mediaType: string; readonly bytes: string | Uint8Array }
  ) => Effect.Effect<Digest>
  readonly blob: (repository: string, digest: string) => Uint8Array | undefined
  /** A manifest by tag or digest. */
  readonly manifest: (
    repository: string,
    reference: string
  ) => { readonly mediaType: string; readonly bytes: Uint8Array } | undefined
  /** The repository's tags, sorted. */
  readonly tags: (repository: string) => ReadonlyArray<string>
  readonly stats: () => MemoryRegistryStats
  /** Every request received, in order. */
  readonly requests: () => ReadonlyArray<MemoryRegistryRequest>
  /**
   * Answers requests before the registry does: `handler` returns a `Response` to send, or `undefined` to let
   * the registry answer. `undefined` removes the handler.
   */
  readonly intercept: (handler: ((request: MemoryRegistryRequest) => Response | undefined) | undefined) => void
}

/**
 * @since 0.1.0
 * @category tag
 */
export const MemoryRegistry: Context.Tag<MemoryRegistry, MemoryRegistry> = Context.GenericTag<MemoryRegistry>(
  "@ocidx/core/testing/MemoryRegistry"
)

/**
 * An OCI distribution registry (spec 1.1) in memory, as an `HttpClient` that answers for every host:
 * manifests by tag and digest (a manifest put before its blobs, or an index before its manifests, is refused
 * as distribution refuses it), blobs (with `Range`), uploads (POST, PATCH with `Content-Range`, PUT with
 * `digest`; each answer names a new `Location` that must be followed), cross-repository mounts, tag lists
 * with `Link` pagination, the referrers API, and Basic or Bearer auth. Put `RegistryClient.layer()` on top to
 * test a program that moves images, offline. Fresh each time it is built.
 *
 * @example
 * ```ts
 * import { RegistryClient, testing } from "@ocidx/core"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function* () {
 *   const registry = yield* testing.MemoryRegistry
 *   const digest = yield* registry.putBlob("app", "hello")
 *   const client = yield* RegistryClient.RegistryClient
 *   return yield* client.headBlob({ registry: "registry.test", repository: "app" }, digest)
 * })
 * Effect.provide(program, testing.layerRegistryClient())
 * ```
 *
 * @since 0.1.0
 * @category layer
 */
export const layerRegistry = (options?: MemoryRegistryOptions): Layer.Layer<HttpClient.HttpClient | MemoryRegistry> =>
  Layer.syncContext(() => {
    const { client, registry } = memoryRegistry.make(options)
    return Context.make(HttpClient.HttpClient, client).pipe(Context.add(MemoryRegistry, registry))
  })

/**
 * A `RegistryClient` on the in-memory registry (as `layerRegistry` with `options`), with the credentials
 * given (`Credentials.layerStatic`) and a WebCrypto Hasher; the registry's controls, the HttpClient and the
 * credential store are provided too. `client` configures the client (fast retries for tests, say).
 *
 * @since 0.1.0
 * @category layer
 */
export const layerRegistryClient = (
  options?: MemoryRegistryOptions & {
    readonly credentials?: Readonly<Record<string, Credentials.Credential>> | undefined
    readonly client?: RegistryClient.Options | undefined
  }
): Layer.Layer<
  RegistryClient.RegistryClient | HttpClient.HttpClient | MemoryRegistry | Credentials.CredentialStore | Hasher.Hasher
> =>
  RegistryClient.layer(options?.client).pipe(
    Layer.provideMerge(
      Layer.mergeAll(layerRegistry(options), Credentials.layerStatic(options?.credentials), Hasher.layerWebCrypto)
    )
  )
