/**
 * The process's standard streams as a service, so that commands never touch `process` (only `Process.ts`,
 * the process entry, does) and tests can capture what a command prints.
 *
 * @since 0.1.0
 */
import type { ReadError, WriteError } from "@ocidx/core/Errors"
import type * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import * as Context from "effect/Context"
import type { BrokenPipe } from "./CliError.js"

/**
 * @since 0.1.0
 * @category model
 */
export interface Stdio {
  /**
   * Writes to standard output and waits until the stream has taken the chunk (back-pressure). Fails with
   * `BrokenPipe` when the reader has gone, `WriteError` on any other error.
   */
  readonly out: (chunk: string | Uint8Array) => Effect.Effect<void, BrokenPipe | WriteError>
  /** Writes to standard error; never fails (there is nowhere left to report a failure). */
  readonly err: (text: string) => Effect.Effect<void>
  /** Standard input, read once. */
  readonly stdin: Stream.Stream<Uint8Array, ReadError>
  /**
   * The file at `path` read once, in order, from where it starts to its end, as standard input is: for a FIFO,
   * a character device or `/dev/stdin`, which cannot be read at an offset (a file system's stream reads at
   * offsets, and such a file fails it with ESPIPE).
   */
  readonly readInOrder: (path: string) => Stream.Stream<Uint8Array, ReadError>
  /** Whether standard error is a terminal: progress is shown only then. */
  readonly errIsTTY: boolean
  /** Whether what goes to standard output may be styled with ANSI escapes: a terminal, and no `NO_COLOR`. */
  readonly outColors: boolean
  /** Whether what goes to standard error may be styled with ANSI escapes: a terminal, and no `NO_COLOR`. */
  readonly errColors: boolean
}

/**
 * @since 0.1.0
 * @category tag
 */
export const Stdio: Context.Tag<Stdio, Stdio> = Context.GenericTag<Stdio>("@ocidx/cli/Stdio")
