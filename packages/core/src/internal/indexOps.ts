/**
 * The index changes as pure functions, with buildkit's semantics (client/ociindex).
 * @internal
 */
import { Option } from "effect"
import * as Annotations from "../Annotations.js"
import { annotation, type Descriptor } from "../Descriptor.js"
import type { ImageIndex } from "../ImageIndex.js"
import type { NameOrTag } from "../Reference.js"

const refNameOf = (entry: Descriptor) => annotation(entry, Annotations.refName)
const imageNameOf = (entry: Descriptor) => annotation(entry, Annotations.containerdImageName)

const named = (descriptor: Descriptor, name: NameOrTag): Descriptor => ({
  ...descriptor,
  annotations: {
    ...descriptor.annotations,
    ...(name._tag === "Name" ? { [Annotations.containerdImageName]: name.imageName } : {}),
    [Annotations.refName]: name.refName
  }
})

const isUntagged = (entry: Descriptor) => refNameOf(entry) === undefined && imageNameOf(entry) === undefined

/**
 * Adds `descriptor` once per name. An entry whose ref name and containerd name both equal the new entry's is
 * replaced (a bare tag matches entries without a containerd name). With no names the entry is untagged; an
 * identical untagged entry for the same digest is replaced rather than repeated, so the put is idempotent.
 * @internal
 */
export const put = (
  index: ImageIndex,
  descriptor: Descriptor,
  names: ReadonlyArray<NameOrTag>
): { readonly index: ImageIndex; readonly added: ReadonlyArray<Descriptor> } => {
  let manifests = index.manifests
  const added: Array<Descriptor> = []
  if (names.length === 0) {
    manifests = manifests.filter((entry) => !(isUntagged(entry) && entry.digest === descriptor.digest))
    added.push(descriptor)
  }
  for (const name of names) {
    const imageName = name._tag === "Name" ? name.imageName : undefined
    manifests = manifests.filter((entry) => !(refNameOf(entry) === name.refName && imageNameOf(entry) === imageName))
    const entry = named(descriptor, name)
    manifests = [...manifests, entry]
    added.push(entry)
  }
  if (names.length === 0) manifests = [...manifests, descriptor]
  return { index: { ...index, manifests }, added }
}

/** Which entries `x` names: by containerd name, else by ref name, else by digest. @internal */
export const matcher = (index: ImageIndex, x: string): ((entry: Descriptor) => boolean) => {
  const candidates: ReadonlyArray<(entry: Descriptor) => boolean> = [
    (entry) => imageNameOf(entry) === x,
    (entry) => refNameOf(entry) === x,
    (entry) => entry.digest === x
  ]
  return candidates.find((matches) => index.manifests.some(matches)) ?? (() => false)
}

/** @internal */
export const get = (index: ImageIndex, x: string): Option.Option<Descriptor> =>
  Option.fromNullable(index.manifests.find(matcher(index, x)))

/** @internal */
export const getSingle = (index: ImageIndex): Option.Option<Descriptor> =>
  index.manifests.length === 1 ? Option.fromNullable(index.manifests[0]) : Option.none()

/** Removes every entry each of `xs` names, as `get` would find them. @internal */
export const remove = (
  index: ImageIndex,
  xs: ReadonlyArray<string>
): { readonly index: ImageIndex; readonly removed: ReadonlyArray<Descriptor> } => {
  let manifests = index.manifests
  const removed: Array<Descriptor> = []
  for (const x of xs) {
    const matches = matcher({ ...index, manifests }, x)
    manifests = manifests.filter((entry) => {
      if (!matches(entry)) return true
      removed.push(entry)
      return false
    })
  }
  return { index: removed.length === 0 ? index : { ...index, manifests }, removed }
}
