/**
 * `ocidx import <archive|-> <dir> [--tag t]...` and `ocidx export <dir>[:<name-or-tag>]... <archive|->
 * [--format oci|docker]`: image tarballs (buildx `type=oci`, skopeo `oci-archive:`/`docker-archive:`,
 * `docker save`) into and out of a layout, through the copy engine's archive transports. The archive code
 * loads with the copier, on first use, so commands that move nothing never load the tar library.
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import type * as Copy from "@ocidx/core/Copy"
import { type CredentialError, WriteError } from "@ocidx/core/Errors"
import * as Text from "@ocidx/core/Text"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { BrokenPipe, UsageError } from "../CliError.js"
import * as CopierModule from "../Copier.js"
import * as Flags from "../Flags.js"
import * as Output from "../Output.js"
import * as Progress from "../Progress.js"
import { Stdio } from "../Stdio.js"
import { withLockTimeout } from "./Root.js"

const progressOf =
  (progress: Progress.Progress) =>
  (finished: { count: number }) =>
  (event: Copy.Progress): Effect.Effect<void> => {
    const name = Output.shortDigest(event.descriptor.digest)
    const total = Output.formatSize(event.descriptor.size)
    switch (event._tag) {
      case "Started":
        return progress.update(`${finished.count} blobs done; ${name} 0 B/${total}`)
      case "Bytes":
        return progress.update(`${finished.count} blobs done; ${name} ${Output.formatSize(event.done)}/${total}`)
      case "Finished":
        finished.count++
        return progress.update(`${finished.count} blobs done; ${name} ${event.outcome}`)
    }
  }

const plural = (n: number) => `${n} blob${n === 1 ? "" : "s"}`

/** The layout argument, `<dir>[:<name-or-tag>]` as `oci:` takes it. */
const layoutOf = (text: string): { readonly directory: string; readonly reference: string | undefined } => {
  const colon = text.indexOf(":")
  return colon === -1
    ? { directory: text, reference: undefined }
    : { directory: text.slice(0, colon), reference: text.slice(colon + 1) || undefined }
}

/**
 * @since 0.1.0
 * @category commands
 */
export const importArchive = Command.make(
  "import",
  {
    archive: Flags.positional("archive", "The image archive (tar or tar.gz, OCI or docker), or - for standard input.", {
      allowStdin: true
    }),
    directory: Flags.positional("dir", "The layout to import into (created when missing)."),
    tags: Options.text("tag").pipe(
      Options.withPseudoName("t"),
      Options.withDescription(
        "Name the image with this tag instead of the archive's names; repeat for several. The archive must hold one image."
      ),
      Options.repeated
    ),
    json: Flags.json,
    lockTimeout: Flags.lockTimeout
  },
  (options) =>
    Effect.gen(function* () {
      const stdio = yield* Stdio
      const copier = yield* CopierModule.get
      const source: Copy.Location = { _tag: "Archive", format: "oci", file: options.archive }
      const run = (reference: string | undefined) =>
        Progress.withProgress((progress) =>
          copier.copy(
            source,
            { _tag: "Layout", directory: options.directory, reference },
            { onProgress: progressOf(progress)({ count: 0 }), stdin: stdio.stdin },
            { caFile: undefined, insecure: false }
          )
        )
      if (options.tags.length > 1) {
        return yield* new UsageError({
          message: "import: give one --tag; add more names afterwards with `ocidx put` or a second import."
        })
      }
      const result = yield* run(options.tags[0])
      yield* stdio.out(
        options.json
          ? Output.json({
              manifest: result.manifest,
              copied: result.copied,
              skipped: result.skipped,
              bytes: result.bytes
            })
          : `imported ${plural(result.copied.length)} (${Output.formatSize(result.bytes)}), skipped ${result.skipped.length}; ${result.manifest.digest}\n`
      )
    })
).pipe(
  withLockTimeout,
  Command.withDescription(
    "Import an image archive (oci-archive, docker-archive, docker save, buildx type=oci; plain or gzip) into a layout, in one streaming pass; a hostile or broken archive is refused (exit 65) and nothing is tagged."
  )
)

const usage = (message: string) => ValidationError.invalidValue(HelpDoc.p(message))

/**
 * @since 0.1.0
 * @category commands
 */
export const exportArchive = Command.make(
  "export",
  {
    places: Args.text({ name: "dir[:name-or-tag]... archive" }).pipe(
      Args.withDescription(
        "The layout and the entries to export (every entry when none is named; repeat for several), then the archive file, or - for standard output."
      ),
      Args.atLeast(2),
      Args.mapEffect((values) =>
        Effect.forEach(values, (value, i) =>
          value.startsWith("-") && !(value === "-" && i === values.length - 1)
            ? Effect.fail(HelpDoc.p(`unknown option ${Text.quote(value)}; run with --help to see the options`))
            : Effect.succeed(value)
        )
      )
    ),
    format: Options.choice("format", ["oci", "docker"]).pipe(
      Options.withDescription(
        "oci: an OCI image layout (skopeo oci-archive:, buildx type=oci). docker: what docker load reads (the Docker 25+ form: the OCI layout plus manifest.json)."
      ),
      Options.withDefault("oci" as const)
    ),
    json: Flags.json,
    lockTimeout: Flags.lockTimeout
  },
  (options) =>
    Effect.gen(function* () {
      const stdio = yield* Stdio
      const copier = yield* CopierModule.get
      const file = options.places[options.places.length - 1] ?? "-"
      const layouts = options.places.slice(0, -1).map(layoutOf)
      const directories = [...new Set(layouts.map((layout) => layout.directory))]
      const [directory] = directories
      if (directory === undefined || directories.length > 1) {
        return yield* Effect.fail(
          usage("export: name one layout (entries of several layouts go in one archive only through one layout)")
        )
      }
      if (file === "-" && options.json) {
        return yield* Effect.fail(
          usage("export: --json prints to standard output, where - writes the archive: name a file")
        )
      }
      const references = layouts.flatMap((layout) => (layout.reference === undefined ? [] : [layout.reference]))
      let brokenPipe = false
      const stdout = (archive: Stream.Stream<Uint8Array, Copy.Failure>) =>
        Stream.runForEach(archive, (chunk) =>
          stdio.out(chunk).pipe(
            Effect.catchTag("BrokenPipe", () =>
              Effect.suspend(() => {
                brokenPipe = true
                return Effect.fail(new WriteError({ path: "standard output", reason: "io" }))
              })
            )
          )
        )
      const result = yield* Progress.withProgress((progress) =>
        copier.copy(
          { _tag: "Layout", directory, reference: references[0] },
          { _tag: "Archive", format: options.format, file, entries: references.slice(1) },
          { onProgress: progressOf(progress)({ count: 0 }), stdout },
          { caFile: undefined, insecure: false }
        )
      ).pipe(
        Effect.catchAll(
          (error): Effect.Effect<never, Copy.Failure | CredentialError | BrokenPipe> =>
            brokenPipe ? Effect.fail(new BrokenPipe()) : Effect.fail(error)
        )
      )
      if (file === "-") return
      yield* stdio.out(
        options.json
          ? Output.json({
              manifest: result.manifest,
              copied: result.copied,
              skipped: result.skipped,
              bytes: result.bytes
            })
          : `exported ${plural(result.copied.length)} (${Output.formatSize(result.bytes)}) to ${file}; ${result.manifest.digest}\n`
      )
    })
).pipe(
  withLockTimeout,
  Command.withDescription(
    "Export entries of a layout as an image archive, deterministically (containerd's order: blobs sorted, index.json, oci-layout; uid/gid 0, mtime 0): the same layout always gives the same bytes."
  )
)
