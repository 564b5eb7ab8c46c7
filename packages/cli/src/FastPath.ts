/**
 * The fast path: the plain, well-formed command lines of `ls`, `get`, `put`, `verify`, `gc` and `blob put`
 * (of a file), the commands scripts run most, run without loading @effect/cli and the rest of the command tree (`main.ts`), whose parser
 * and help cost more to load and run than these commands take on a small layout.
 *
 * `recognise` is strict on purpose: it takes a command line only when @effect/cli would read it the same way,
 * and returns `undefined` for anything else (help, a flag it does not know or that is given twice, `--flag=value`,
 * a value that does not parse, `--`, a word starting with `-` where an argument goes, a missing or extra
 * argument), which the full path then parses, and reports, as ever. What a command does once its arguments
 * are parsed is the same code either way (`actions/`), and so are its exit code and messages
 * (`ExitCode.report`), and the process around it (`Process.run`).
 *
 * @since 0.1.0
 */
import type { FileSystem } from "@effect/platform/FileSystem"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import type { PlatformSelector } from "@ocidx/core/Platform"
import * as MediaType from "@ocidx/core/MediaType"
import * as Platform from "@ocidx/core/Platform"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { BlobPutConfig } from "./actions/BlobPut.js"
import type { GcConfig } from "./actions/Gc.js"
import type { GetConfig } from "./actions/Get.js"
import { withLockTimeout } from "./actions/Layout.js"
import type { LsConfig } from "./actions/Ls.js"
import type { PutConfig } from "./actions/Put.js"
import type { VerifyConfig } from "./actions/Verify.js"
import * as ExitCode from "./ExitCode.js"
import { parseAnnotation, parseDuration } from "./Parse.js"
import * as Process from "./Process.js"
import type { Stdio } from "./Stdio.js"
import type { Store } from "./Store.js"

/**
 * A command line the fast path takes: the command, its parsed arguments, and the lock timeout in force (its
 * own `--lock-timeout`, else the global one, as `withLockTimeout` in commands/Root.ts has it).
 *
 * @since 0.1.0
 * @category model
 */
export type Plan =
  | { readonly command: "ls"; readonly config: LsConfig; readonly lockTimeout: Option.Option<Duration.Duration> }
  | { readonly command: "get"; readonly config: GetConfig; readonly lockTimeout: Option.Option<Duration.Duration> }
  | { readonly command: "put"; readonly config: PutConfig; readonly lockTimeout: Option.Option<Duration.Duration> }
  | {
      readonly command: "verify"
      readonly config: VerifyConfig
      readonly lockTimeout: Option.Option<Duration.Duration>
    }
  | { readonly command: "gc"; readonly config: GcConfig; readonly lockTimeout: Option.Option<Duration.Duration> }
  | {
      readonly command: "blob put"
      readonly config: BlobPutConfig
      readonly lockTimeout: Option.Option<Duration.Duration>
    }

type Command = Plan["command"]

/** How a flag is given: alone (a boolean), with one value, or with one value each time, repeatable. */
type Arity = "boolean" | "value" | "repeated"

const flagsOf: Record<Command, Readonly<Record<string, Arity>>> = {
  ls: { "--json": "boolean", "--sizes": "boolean", "--lock-timeout": "value" },
  get: { "--json": "boolean", "--platform": "value", "--lock-timeout": "value" },
  put: {
    "--digest": "value",
    "--size": "value",
    "--media-type": "value",
    "--name": "repeated",
    "--annotation": "repeated",
    "--platform": "value",
    "--descriptor": "value",
    "--lock-timeout": "value"
  },
  verify: { "--json": "boolean", "--strict": "boolean", "--lock-timeout": "value" },
  gc: {
    "--dry-run": "boolean",
    "--json": "boolean",
    "--force": "boolean",
    "--grace": "value",
    "--lock-timeout": "value"
  },
  "blob put": { "--media-type": "value", "--lock-timeout": "value" }
}

const isCommand = (word: string | undefined): word is Command => word !== undefined && Object.hasOwn(flagsOf, word)

// @effect/cli takes one of these after a boolean flag as its value (`--json false`): leave such lines to it.
const booleanWords: ReadonlySet<string> = new Set(["true", "1", "y", "yes", "on", "false", "0", "n", "no", "off"])

/** A word the fast path can take as an argument or a value: not empty, not an option. */
const isPlain = (word: string | undefined): word is string => word !== undefined && word !== "" && !word.startsWith("-")

const parsed = <A>(text: string | undefined, parse: (text: string) => Either.Either<A, string>): Option.Option<A> =>
  text === undefined ? Option.none() : Either.getRight(parse(text))

/**
 * The plan for `args` (the arguments after the executable and the script), or `undefined` when the fast path
 * does not take them (see the module's comment).
 *
 * @since 0.1.0
 * @category parsing
 */
export const recognise = (args: ReadonlyArray<string>): Plan | undefined => {
  let at = 0
  let globalTimeout: string | undefined
  if (args[0] === "--lock-timeout") {
    globalTimeout = args[1]
    if (!isPlain(globalTimeout)) return undefined
    at = 2
  }
  // `blob put` is the one command of two words, and they come together.
  const command = args[at] === "blob" ? `blob ${args[at + 1]}` : args[at]
  if (!isCommand(command)) return undefined
  if (command === "blob put") at++
  const flags = flagsOf[command]
  const positionals: Array<string> = []
  const values = new Map<string, Array<string>>()
  for (let i = at + 1; i < args.length; i++) {
    const word = args[i] ?? ""
    if (isPlain(word)) {
      positionals.push(word)
      continue
    }
    const arity = Object.hasOwn(flags, word) ? flags[word] : undefined
    if (arity === undefined) return undefined
    const given = values.get(word) ?? []
    if (given.length > 0 && arity !== "repeated") return undefined
    if (arity === "boolean") {
      if (booleanWords.has((args[i + 1] ?? "").toLowerCase())) return undefined
      values.set(word, [...given, "true"])
      continue
    }
    const value = args[i + 1]
    if (!isPlain(value)) return undefined
    values.set(word, [...given, value])
    i++
  }
  const one = (flag: string): string | undefined => values.get(flag)?.[0]
  const all = (flag: string): ReadonlyArray<string> => values.get(flag) ?? []

  const ownTimeout = one("--lock-timeout")
  const timeoutText = ownTimeout ?? globalTimeout
  const lockTimeout = parsed(timeoutText, parseDuration)
  // A duration @effect/cli would reject (either of them) is its usage error to report.
  if (timeoutText !== undefined && Option.isNone(lockTimeout)) return undefined
  if (globalTimeout !== undefined && Either.isLeft(parseDuration(globalTimeout))) return undefined
  const platformText = one("--platform")
  const platform: Option.Option<PlatformSelector> = parsed(platformText, Platform.parseSelector)
  if (platformText !== undefined && Option.isNone(platform)) return undefined

  const graceText = one("--grace")
  const grace = parsed(graceText, parseDuration)
  if (graceText !== undefined && Option.isNone(grace)) return undefined

  const [directory, ...rest] = positionals
  if (directory === undefined) return undefined
  switch (command) {
    case "ls":
      if (rest.length > 0) return undefined
      return {
        command,
        config: { directory, json: values.has("--json"), sizes: values.has("--sizes") },
        lockTimeout
      }
    case "get":
      if (rest.length > 1) return undefined
      return { command, config: { directory, name: Option.fromNullable(rest[0]), platform }, lockTimeout }
    case "put": {
      const annotations: Array<readonly [string, string]> = []
      for (const text of all("--annotation")) {
        const annotation = parseAnnotation(text)
        if (Either.isLeft(annotation)) return undefined
        annotations.push(annotation.right)
      }
      const config: PutConfig = {
        directory,
        tags: rest,
        names: all("--name"),
        digest: Option.fromNullable(one("--digest")),
        size: Option.fromNullable(one("--size")),
        mediaType: Option.fromNullable(one("--media-type")),
        descriptor: Option.fromNullable(one("--descriptor")),
        annotations,
        platform
      }
      return { command, config, lockTimeout }
    }
    case "verify":
      if (rest.length > 0) return undefined
      return {
        command,
        config: { directory, json: values.has("--json"), strict: values.has("--strict") },
        lockTimeout
      }
    case "gc":
      if (rest.length > 0) return undefined
      return {
        command,
        config: {
          directory,
          dryRun: values.has("--dry-run"),
          json: values.has("--json"),
          force: values.has("--force"),
          grace
        },
        lockTimeout
      }
    case "blob put": {
      // Standard input (`-`) is not a plain word, so it goes to the full path; a file is one argument.
      if (rest.length !== 1) return undefined
      const [source = ""] = rest
      return {
        command,
        config: { directory, source, mediaType: one("--media-type") ?? MediaType.ociManifest },
        lockTimeout
      }
    }
  }
}

/** Runs `action` from a module of its own, loaded now: each command's action is a chunk of the bundle of its own. */
const loaded = <M, E, R>(
  load: () => Promise<M>,
  action: (module: M) => Effect.Effect<void, E, R>
): Effect.Effect<void, E, R> => Effect.flatMap(Effect.promise(load), action)

/** The command's action, from its own chunk of the bundle: `ls` loads nothing of `put`. */
const action = (plan: Plan): Effect.Effect<void, ExitCode.Failure, Stdio | Store | FileSystem> => {
  switch (plan.command) {
    case "ls":
      return loaded(
        () => import("./actions/Ls.js"),
        (actions) => actions.ls(plan.config)
      )
    case "get":
      return loaded(
        () => import("./actions/Get.js"),
        (actions) => actions.get(plan.config)
      )
    case "put":
      return loaded(
        () => import("./actions/Put.js"),
        (actions) => actions.put(plan.config)
      )
    case "verify":
      return loaded(
        () => import("./actions/Verify.js"),
        (actions) => actions.verify(plan.config)
      )
    case "gc":
      return loaded(
        () => import("./actions/Gc.js"),
        (actions) => actions.gc(plan.config)
      )
    case "blob put":
      return loaded(
        () => import("./actions/BlobPut.js"),
        (actions) => actions.blobPut(plan.config)
      )
  }
}

/**
 * Runs a plan to its exit code, as `Cli.run` runs the same command line.
 *
 * @since 0.1.0
 * @category running
 */
export const program = (plan: Plan): Effect.Effect<ExitCode.ExitCode, never, Stdio | Store | FileSystem> =>
  ExitCode.report(withLockTimeout(action(plan), plan.lockTimeout), plan.command)

/**
 * Runs a plan as the process (see `Process.run`), with `store` (the bundle passes `Store.layerNode`).
 *
 * @since 0.1.0
 * @category running
 */
export const main = (plan: Plan, store: Layer.Layer<Store>): void =>
  Process.run(Effect.provide(program(plan), Layer.merge(store, NodeFileSystem.layer)))
