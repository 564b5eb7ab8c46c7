/**
 * Test doubles for programs built on ocidx: an in-memory FileSystem with injectable faults and an
 * in-memory IndexLock whose holders and history can be inspected. ocidx's own tests use exactly these.
 *
 * @since 0.1.0
 */
import { FileSystem, Path } from "@effect/platform"
import { Context, type Effect, Layer, type Scope } from "effect"
import type { LockReason } from "./Errors.js"
import * as IndexLock from "./IndexLock.js"
import * as memoryFileSystem from "./internal/memoryFileSystem.js"
import * as memoryLock from "./internal/memoryLock.js"

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
 * A fresh in-memory file system. Build it once per test: it holds state.
 *
 * @since 0.1.0
 * @category layer
 */
export const layerMemoryFileSystem: Layer.Layer<FileSystem.FileSystem | MemoryFileSystem> = Layer.syncContext(() => {
  const memory = memoryFileSystem.make()
  return Context.make(MemoryFileSystem, memory).pipe(Context.add(FileSystem.FileSystem, memory.fileSystem))
})

/**
 * Everything the core needs, in memory: FileSystem, Path, IndexLock, and both controls.
 *
 * @since 0.1.0
 * @category layer
 */
export const layer = (
  options?: IndexLock.LockOptions
): Layer.Layer<FileSystem.FileSystem | MemoryFileSystem | Path.Path | IndexLock.IndexLock | MemoryLock> =>
  Layer.mergeAll(layerMemoryFileSystem, Path.layer, layerMemoryLock(options))
