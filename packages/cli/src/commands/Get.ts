/**
 * `ocidx get <dir> [<name-or-tag-or-digest>] [--platform os/arch[/variant]] [--json]`: the descriptor an
 * entry holds (or, with `--platform`, the manifest for that platform inside a multi-arch index), as JSON.
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import type { Descriptor } from "@ocidx/core/Descriptor"
import type { Layout } from "@ocidx/core/Layout"
import type { PlatformSelector } from "@ocidx/core/Platform"
import * as Text from "@ocidx/core/Text"
import { Effect, Option } from "effect"
import { NotFound } from "../CliError.js"
import * as Flags from "../Flags.js"
import * as Output from "../Output.js"
import { Stdio } from "../Stdio.js"
import { openLayout, withLockTimeout } from "./Root.js"

/**
 * The entry `x` names, or the only entry when `x` is `None`; with a platform, the manifest for it. Fails
 * with `NotFound`, saying what there is instead.
 *
 * @since 0.1.0
 * @category lookup
 */
export const lookup = (layout: Layout, x: Option.Option<string>, platform: Option.Option<PlatformSelector>) =>
  Effect.gen(function* () {
    const indexPath = layout.index.indexPath
    const entry: Descriptor = yield* Option.match(x, {
      onSome: (name) =>
        Effect.flatMap(layout.index.get(name), (found) =>
          Option.match(found, {
            onSome: Effect.succeed,
            onNone: () =>
              Effect.fail(
                new NotFound({
                  message: `${indexPath} has no entry named ${Text.quote(name)} (no image name, tag or digest matches). List the entries with \`ocidx ls ${layout.directory}\`.`
                })
              )
          })
        ),
      onNone: () =>
        Effect.flatMap(layout.index.list, (entries) => {
          const [only] = entries
          return entries.length === 1 && only !== undefined
            ? Effect.succeed(only)
            : Effect.fail(
                new NotFound({
                  message: `${indexPath} holds ${entries.length} entries, so there is no single one to get. Name one: \`ocidx get ${layout.directory} <name-or-tag-or-digest>\` (see \`ocidx ls ${layout.directory}\`).`
                })
              )
        })
    })
    if (Option.isNone(platform)) return entry
    const wanted = platform.value
    // From the entry found by name, not by its digest: another entry may share the digest with another media type.
    const resolved = yield* layout.descend(entry, wanted)
    return yield* Option.match(resolved, {
      onSome: Effect.succeed,
      onNone: () =>
        Effect.fail(
          new NotFound({
            message: `${indexPath}: ${Text.quote(Option.getOrElse(x, () => entry.digest))} has no manifest for ${Output.formatPlatform(wanted)}. See its platforms with \`ocidx ls ${layout.directory}\`.`
          })
        )
    })
  })

/**
 * The name argument of `get` and `cat`.
 *
 * @since 0.1.0
 * @category args
 */
export const nameArg = Args.text({ name: "name-or-tag-or-digest" }).pipe(
  Args.withDescription("An image name (io.containerd.image.name), a tag (ref.name) or a digest, tried in that order.")
)

/**
 * @since 0.1.0
 * @category commands
 */
export const get = Command.make(
  "get",
  {
    directory: Flags.directory,
    name: Args.optional(nameArg),
    platform: Flags.platform("Descend a multi-arch index to the manifest for this platform."),
    json: Flags.json,
    lockTimeout: Flags.lockTimeout
  },
  ({ directory, name, platform }) =>
    Effect.gen(function* () {
      const stdio = yield* Stdio
      const layout = yield* openLayout(directory)
      const descriptor = yield* lookup(layout, name, platform)
      // With or without --json the descriptor is printed as JSON: it is the only faithful form.
      yield* stdio.out(Output.json(descriptor))
    })
).pipe(
  withLockTimeout,
  Command.withDescription(
    "Print the descriptor of an entry as JSON. Without a name, the index's only entry. --platform descends a multi-arch index."
  )
)
