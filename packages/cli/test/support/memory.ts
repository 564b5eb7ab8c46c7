/**
 * Runs `Cli.run` (or the fast path, `FastPath.program`) in this process on the in-memory file system and lock of `@ocidx/core/testing`, with the
 * standard streams captured: fast tests of what the CLI does around the store (exit codes, defects,
 * progress, the lock timeout in force).
 */
import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import { FileSystem } from "@effect/platform/FileSystem"
import type { Path } from "@effect/platform/Path"
import { ReadError } from "@ocidx/core/Errors"
import * as Hasher from "@ocidx/core/Hasher"
import type * as IndexLock from "@ocidx/core/IndexLock"
import * as Layout from "@ocidx/core/Layout"
import * as testing from "@ocidx/core/testing"
import { Context, Effect, Layer, Stream } from "effect"
import * as Cli from "../../src/Cli.js"
import * as FastPath from "../../src/FastPath.js"
import { Stdio } from "../../src/Stdio.js"
import { Store } from "../../src/Store.js"

export interface Captured {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

export interface MemoryOptions {
  readonly errIsTTY?: boolean
  /** Whether both streams want ANSI styles (a terminal without NO_COLOR). */
  readonly colors?: boolean
  /** Wraps the in-memory store, e.g. to make it die or to see the lock timeout it is given. */
  readonly wrapStore?: (store: Store) => Store
  /** Runs first, with the in-memory file system, to lay out files. */
  readonly setup?: (memory: testing.MemoryFileSystem) => void
  /** A lock another process holds for the whole run. */
  readonly heldLock?: { readonly lockPath: string; readonly mode: IndexLock.LockMode }
  /**
   * Which way the command line runs: through @effect/cli (`Cli.run`, the default), or through the fast path
   * (`FastPath.program`; a command line it does not take is a defect of the test).
   */
  readonly path?: "full" | "fast"
}

/** `ocidx ...args` in memory. A fresh file system and lock per call. */
export const ocidxInMemory = (args: ReadonlyArray<string>, options: MemoryOptions = {}): Effect.Effect<Captured> =>
  Effect.gen(function* () {
    const services = yield* Effect.context<FileSystem | Path | IndexLock.IndexLock>()
    const fs = Context.get(services, FileSystem)
    let stdout = ""
    let stderr = ""
    const stdio: Stdio = {
      out: (chunk) =>
        Effect.sync(() => {
          stdout += typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk)
        }),
      err: (text) =>
        Effect.sync(() => {
          stderr += text
        }),
      stdin: Stream.empty,
      // The in-memory file system reads a FIFO's stand-in (a file) at offsets, as it does any file.
      readInOrder: (path) => fs.stream(path).pipe(Stream.mapError(ReadError.fromPlatformError(path))),
      errIsTTY: options.errIsTTY ?? false,
      outColors: options.colors ?? false,
      errColors: options.colors ?? false
    }
    const memory = yield* testing.MemoryFileSystem
    options.setup?.(memory)
    if (options.heldLock) {
      yield* (yield* testing.MemoryLock).holdExternally(options.heldLock.lockPath, options.heldLock.mode)
    }
    const memoryStore: Store = {
      layout: (directory) =>
        Layout.make({ directory }).pipe(Effect.provide(Context.add(services, Hasher.Hasher, Hasher.webCrypto)))
    }
    const store = options.wrapStore ? options.wrapStore(memoryStore) : memoryStore
    const plan = options.path === "fast" ? FastPath.recognise(args) : undefined
    if (options.path === "fast" && plan === undefined) {
      return yield* Effect.dieMessage(`the fast path does not take: ${args.join(" ")}`)
    }
    const command = plan === undefined ? Cli.run(["node", "ocidx", ...args]) : FastPath.program(plan)
    const run = command.pipe(
      Effect.provideService(Stdio, stdio),
      Effect.provideService(Store, store),
      Effect.provide(NodeTerminal.layer)
    )
    const code = yield* run
    return { code, stdout, stderr }
  }).pipe(Effect.scoped, Effect.provide(Layer.fresh(testing.layer())))
