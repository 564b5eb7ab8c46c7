/**
 * The index changes as pure functions, with buildkit's semantics (client/ociindex), in time linear in the
 * size of the index plus the size of the change, so a batch of 10,000 puts is one pass, not 10,000.
 * @internal
 */
import * as Option from "effect/Option"
import * as Annotations from "../Annotations.js"
import { annotation, type Descriptor } from "../Descriptor.js"
import type { ImageIndex, PutRequest } from "../ImageIndex.js"
import type { NameOrTag } from "../Reference.js"

const refNameOf = (entry: Descriptor) => annotation(entry, Annotations.refName)
const imageNameOf = (entry: Descriptor) => annotation(entry, Annotations.containerdImageName)

/**
 * Entries that a put replaces share this key: the same ref name and the same containerd name (missing and
 * empty count as equal, as in Go), or, for untagged entries, the same digest.
 */
const keyOf = (entry: Descriptor): string | undefined => {
  const refName = refNameOf(entry)
  const imageName = imageNameOf(entry)
  return refName !== undefined
    ? `r\u0000${refName}\u0000${imageName ?? ""}`
    : imageName === undefined
      ? `u\u0000${entry.digest}`
      : undefined
}

const named = (descriptor: Descriptor, name: NameOrTag): Descriptor => ({
  ...descriptor,
  annotations: {
    ...descriptor.annotations,
    ...(name._tag === "Name" ? { [Annotations.containerdImageName]: name.imageName } : {}),
    [Annotations.refName]: name.refName
  }
})

/**
 * Applies puts in order. Each adds its descriptor once per name (untagged when there is none), replacing
 * the entries with the same key; the same name twice in one put is one entry.
 * @internal
 */
export const putAll = (
  index: ImageIndex,
  requests: ReadonlyArray<PutRequest>
): { readonly index: ImageIndex; readonly added: ReadonlyArray<ReadonlyArray<Descriptor>> } => {
  if (requests.length === 0) return { index, added: [] }
  const freshOf = requests.map(({ descriptor, names }) =>
    names.length === 0 ? [descriptor] : names.map((name) => named(descriptor, name))
  )
  // Only the keys this batch puts can be replaced: index the existing entries that have one of them, not all.
  // An entry's key is built only when its ref name (or, untagged, its digest) is one of theirs: a put into
  // 10,000 entries then reads two annotations of each and builds a handful of strings, not 10,000.
  const wanted = new Set<string>()
  const wantedRefNames = new Set<string>()
  const wantedDigests = new Set<string>()
  for (const fresh of freshOf) {
    for (const entry of fresh) {
      const key = keyOf(entry)
      if (key === undefined) continue
      wanted.add(key)
      const refName = refNameOf(entry)
      if (refName === undefined) wantedDigests.add(entry.digest)
      else wantedRefNames.add(refName)
    }
  }
  const entries: Array<Descriptor | undefined> = [...index.manifests]
  const positions = new Map<string, Array<number>>()
  for (let position = 0; position < entries.length; position++) {
    const entry = entries[position]
    if (entry === undefined) continue
    const refName = refNameOf(entry)
    if (refName === undefined ? !wantedDigests.has(entry.digest) : !wantedRefNames.has(refName)) continue
    const key = keyOf(entry)
    if (key === undefined || !wanted.has(key)) continue
    const list = positions.get(key)
    if (list) list.push(position)
    else positions.set(key, [position])
  }
  const added = freshOf.map((fresh) => {
    const result: Array<Descriptor> = []
    const keysOfThisPut = new Set<string>()
    for (const entry of fresh) {
      const key = keyOf(entry)
      if (key !== undefined) {
        if (keysOfThisPut.has(key)) continue
        keysOfThisPut.add(key)
        for (const position of positions.get(key) ?? []) entries[position] = undefined
        positions.set(key, [entries.length])
      }
      entries.push(entry)
      result.push(entry)
    }
    return result
  })
  const manifests = entries.filter((entry): entry is Descriptor => entry !== undefined)
  return { index: { ...index, manifests }, added }
}

/** @internal */
export const put = (
  index: ImageIndex,
  descriptor: Descriptor,
  names: ReadonlyArray<NameOrTag>
): { readonly index: ImageIndex; readonly added: ReadonlyArray<Descriptor> } => {
  const result = putAll(index, [{ descriptor, names }])
  return { index: result.index, added: result.added[0] ?? [] }
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
