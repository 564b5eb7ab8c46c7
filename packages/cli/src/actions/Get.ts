/**
 * What `ocidx get` does once its arguments are parsed, shared by its @effect/cli command (commands/Get.ts)
 * and the fast path (`FastPath.ts`): the descriptor an entry holds (or, with a platform, the manifest for that
 * platform inside a multi-arch index), as JSON. `lookup` is `cat`'s too.
 *
 * @since 0.1.0
 */
import type { Descriptor } from "@ocidx/core/Descriptor"
import type { Layout } from "@ocidx/core/Layout"
import type { PlatformSelector } from "@ocidx/core/Platform"
import * as Text from "@ocidx/core/Text"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { NotFound } from "../CliError.js"
import * as Output from "../Output.js"
import { Stdio } from "../Stdio.js"
import { openLayout } from "./Layout.js"

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
 * @since 0.1.0
 * @category model
 */
export interface GetConfig {
  readonly directory: string
  readonly name: Option.Option<string>
  readonly platform: Option.Option<PlatformSelector>
}

/**
 * `ocidx get`. With or without `--json` the descriptor is printed as JSON: it is the only faithful form.
 *
 * @since 0.1.0
 * @category actions
 */
export const get = ({ directory, name, platform }: GetConfig) =>
  Effect.gen(function* () {
    const stdio = yield* Stdio
    const layout = yield* openLayout(directory)
    const descriptor = yield* lookup(layout, name, platform)
    yield* stdio.out(Output.entryDocument(descriptor))
  })
