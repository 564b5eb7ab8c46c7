/**
 * `ocidx put <dir> [<tag>...] --digest <d> --size <n> [--media-type <mt>] [--name <full-ref>]...
 * [--annotation k=v]... [--platform os/arch[/variant]]` (or `--descriptor <file|->`): adds an entry per tag
 * and per name, replacing entries with the same tag and name, through the write protocol. What it does is
 * `actions/Put.ts`.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as MediaType from "@ocidx/core/MediaType"
import * as Actions from "../actions/Put.js"
import * as Flags from "../Flags.js"
import { withLockTimeout } from "./Root.js"

/**
 * @since 0.1.0
 * @category commands
 */
export const put = Command.make(
  "put",
  {
    directory: Flags.directory,
    tags: Flags.positionals("tag", "A tag (org.opencontainers.image.ref.name) for the entry; one entry per tag.", 0),
    digest: Options.text("digest").pipe(
      Options.withPseudoName("algorithm:hex"),
      Options.withDescription("The digest of the blob the entry points to (usually a manifest or an index)."),
      Options.optional
    ),
    size: Options.text("size").pipe(
      Options.withPseudoName("bytes"),
      Options.withDescription("The size of that blob in bytes."),
      Options.optional
    ),
    mediaType: Options.text("media-type").pipe(
      Options.withPseudoName("media-type"),
      Options.withDescription(`The blob's media type. Default ${MediaType.ociManifest}.`),
      Options.optional
    ),
    names: Options.text("name").pipe(
      Options.withPseudoName("full-ref"),
      Options.withDescription(
        "A full image name (io.containerd.image.name), e.g. docker.io/library/alpine:3.20; its tag part becomes the ref name. Repeatable."
      ),
      Options.repeated
    ),
    annotations: Flags.annotations,
    platform: Flags.platform("The platform the manifest is for."),
    descriptor: Options.text("descriptor").pipe(
      Options.withPseudoName("file|-"),
      Options.withDescription("Read the whole descriptor as JSON from a file, or from stdin with -."),
      Options.optional
    ),
    lockTimeout: Flags.lockTimeout
  },
  Actions.put
).pipe(
  withLockTimeout,
  Command.withDescription(
    "Add an index entry for a blob already in the layout: one per tag and per --name, replacing entries with the same tag and name. Without any, one untagged entry."
  )
)
