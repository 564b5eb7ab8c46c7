/**
 * `ocidx copy <src> <dst>`, `ocidx pull <registry-ref> <dir>[:<tag>]` and `ocidx push <dir>[:<name-or-tag>]
 * <registry-ref>`: one copy engine between layouts (`oci:`) and registries (`docker://`), named in skopeo's
 * transport syntax. Each prints one summary line (or, with `--json`, one JSON document), and draws per-blob
 * progress on standard error when it is a terminal.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Copy from "@ocidx/core/Copy"
import * as Platform from "@ocidx/core/Platform"
import * as Text from "@ocidx/core/Text"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { UsageError } from "../CliError.js"
import type { Copier } from "../Copier.js"
import * as CopierModule from "../Copier.js"
import * as Flags from "../Flags.js"
import * as Output from "../Output.js"
import * as Progress from "../Progress.js"
import { Stdio } from "../Stdio.js"
import { withLockTimeout } from "./Root.js"

const usage = (message: string) => ValidationError.invalidValue(HelpDoc.p(message))

const platforms = Options.text("platform").pipe(
  Options.withPseudoName("os/arch[/variant]"),
  Options.withDescription(
    "Copy only this platform of an index; repeat for several (a new index of just those). Default: everything."
  ),
  Options.repeated,
  Options.mapEffect((values) =>
    Effect.forEach(values, (value) =>
      Either.match(Platform.parseSelector(value), {
        onLeft: (problem) => Effect.fail(usage(`--platform: ${problem}`)),
        onRight: Effect.succeed
      })
    )
  )
)

const maxJobs = 64

const jobs = Options.integer("jobs").pipe(
  Options.withPseudoName("n"),
  Options.withDescription(`Blobs moved at once, 1 to ${maxJobs}.`),
  Options.withDefault(4),
  Options.mapEffect((n) =>
    n >= 1 && n <= maxJobs
      ? Effect.succeed(n)
      : Effect.fail(usage(`--jobs: ${n} is not a number of blobs at once: use 1 to ${maxJobs}`))
  )
)

/** The flags copy, pull and push share. */
const flags = {
  platforms,
  referrers: Options.boolean("referrers").pipe(
    Options.withDescription("Also copy the signatures, SBOMs and attestations whose subject is the image.")
  ),
  jobs,
  dryRun: Options.boolean("dry-run").pipe(Options.withDescription("List what would move; move nothing.")),
  json: Flags.json,
  caFile: Options.text("ca-file").pipe(
    Options.withPseudoName("file"),
    Options.withDescription("A PEM file of certificate authorities to trust for the registry, beside the system's."),
    Options.optional
  ),
  insecure: Options.boolean("insecure").pipe(
    Options.withDescription(
      "Allow plain http, and TLS without a verified certificate, for a registry beyond this machine (loopback registries use http anyway)."
    )
  ),
  lockTimeout: Flags.lockTimeout
}

interface Settings {
  readonly platforms: ReadonlyArray<Platform.PlatformSelector>
  readonly referrers: boolean
  readonly jobs: number
  readonly dryRun: boolean
  readonly json: boolean
  readonly caFile: Option.Option<string>
  readonly insecure: boolean
}

const supported = ["oci:", "docker://", "oci-archive:", "docker-archive:"]

/**
 * A `copy` argument. A word that names no transport, or one not supported yet, is a usage error (exit 2); a
 * transport with a malformed reference is invalid data (`InvalidReference`, exit 65).
 */
const location = (argument: string, text: string) =>
  Effect.gen(function* () {
    if (!supported.some((prefix) => text.startsWith(prefix))) {
      return yield* new UsageError({
        message: `${argument} ${Text.quote(text)} names no transport: use oci:<dir>[:<name-or-tag>], docker://<registry>/<repository>[:<tag>|@<digest>], oci-archive:<file>[:<name-or-tag>] or docker-archive:<file>[:<name>].`
      })
    }
    return yield* Copy.parseLocation(text)
  })

/** A registry reference as pull and push take it: without the transport, though `docker://` is allowed. */
const registryLocation = (text: string) => Copy.parseLocation(text.startsWith("docker://") ? text : `docker://${text}`)

/** A layout argument as pull and push take it: `<dir>[:<name-or-tag>]`, without the transport. */
const layoutLocation = (text: string) => Copy.parseLocation(text.startsWith("oci:") ? text : `oci:${text}`)

/** The one line a copy prints without --json. */
const summary = (result: Copy.Result, dryRun: boolean): string => {
  const count = `${result.copied.length} blob${result.copied.length === 1 ? "" : "s"} (${Output.formatSize(result.bytes)})`
  return dryRun
    ? `would copy ${count}, skip ${result.skipped.length}; ${result.manifest.digest}\n`
    : `copied ${count}, skipped ${result.skipped.length}; ${result.manifest.digest}\n`
}

const run = (source: Copy.Location, destination: Copy.Location, options: Settings) =>
  Effect.gen(function* () {
    const stdio = yield* Stdio
    const copier: Copier = yield* CopierModule.get
    const result = yield* Progress.withProgress((progress) => {
      let finished = 0
      const onProgress = (event: Copy.Progress): Effect.Effect<void> => {
        const name = Output.shortDigest(event.descriptor.digest)
        const total = Output.formatSize(event.descriptor.size)
        switch (event._tag) {
          case "Started":
            return progress.update(`${finished} blobs done; ${name} 0 B/${total}`)
          case "Bytes":
            return progress.update(`${finished} blobs done; ${name} ${Output.formatSize(event.done)}/${total}`)
          case "Finished":
            finished++
            return progress.update(`${finished} blobs done; ${name} ${event.outcome}`)
        }
      }
      return copier.copy(
        source,
        destination,
        {
          platforms: options.platforms,
          referrers: options.referrers,
          jobs: options.jobs,
          dryRun: options.dryRun,
          onProgress,
          stdin: stdio.stdin
        },
        { caFile: Option.getOrUndefined(options.caFile), insecure: options.insecure }
      )
    })
    yield* stdio.out(
      options.json
        ? Output.json({
            manifest: result.manifest,
            copied: result.copied,
            skipped: result.skipped,
            bytes: result.bytes
          })
        : summary(result, options.dryRun)
    )
  })

/**
 * @since 0.1.0
 * @category commands
 */
export const copy = Command.make(
  "copy",
  {
    source: Flags.positional("src", "Where the image is: oci:<dir>[:<name-or-tag>] or docker://<reference>."),
    destination: Flags.positional("dst", "Where it goes: oci:<dir>[:<tag>] or docker://<reference>."),
    ...flags
  },
  (options) =>
    Effect.gen(function* () {
      const source = yield* location("source", options.source)
      const destination = yield* location("destination", options.destination)
      yield* run(source, destination, options)
    })
).pipe(
  withLockTimeout,
  Command.withDescription(
    "Copy an image between layouts and registries: oci:<dir>[:<name-or-tag>], docker://<registry>/<repository>[:<tag>|@<digest>]. Everything below the image by default, byte for byte; blobs already there are skipped; a layout's tag is written last."
  )
)

/**
 * @since 0.1.0
 * @category commands
 */
export const pull = Command.make(
  "pull",
  {
    reference: Flags.positional("registry-ref", "The image in a registry: <registry>/<repository>[:<tag>|@<digest>]."),
    target: Flags.positional(
      "dir[:tag]",
      "The layout to pull into (created when missing), and the tag to give it; default: the full image name."
    ),
    ...flags
  },
  (options) =>
    Effect.gen(function* () {
      const source = yield* registryLocation(options.reference)
      const destination = yield* layoutLocation(options.target)
      yield* run(source, destination, options)
    })
).pipe(
  withLockTimeout,
  Command.withDescription(
    "Pull an image from a registry into a layout: copy docker://<registry-ref> oci:<dir>[:<tag>]."
  )
)

/**
 * @since 0.1.0
 * @category commands
 */
export const push = Command.make(
  "push",
  {
    target: Flags.positional("dir[:name-or-tag]", "The layout, and the entry to push; default: its only entry."),
    reference: Flags.positional(
      "registry-ref",
      "Where it goes: <registry>/<repository>[:<tag>|@<digest>]; default tag: latest."
    ),
    ...flags
  },
  (options) =>
    Effect.gen(function* () {
      const source = yield* layoutLocation(options.target)
      const destination = yield* registryLocation(options.reference)
      yield* run(source, destination, options)
    })
).pipe(
  withLockTimeout,
  Command.withDescription(
    "Push an image from a layout to a registry: copy oci:<dir>[:<name-or-tag>] docker://<registry-ref>."
  )
)
