/**
 * The README's "same task as a command and as a program" example: give the image that one tag points at a second tag, then list the tags, the same
 * task as `ocidx get <dir> v1 | ocidx put <dir> stable --descriptor -`. `usage.test.ts` runs both.
 */
import { Annotations, Descriptor, Layout, Reference } from "@ocidx/core"
import { NodeServices } from "@ocidx/node"
import { Effect, Option } from "effect"

export const promote = (directory: string, from: string, to: string) =>
  Effect.gen(function* () {
    const layout = yield* Layout.make({ directory })
    const found = yield* layout.index.get(from)
    if (Option.isNone(found)) return yield* Effect.fail(`${directory}/index.json has no entry named ${from}`)
    const tag = yield* Reference.tag(to) // Either<NameOrTag, InvalidReference>, yieldable
    yield* layout.index.put(found.value, [tag]) // the write protocol: exclusive lock, atomic replace
    const entries = yield* layout.index.list
    return entries.map((entry) => Descriptor.annotation(entry, Annotations.refName) ?? "<none>")
  }).pipe(
    // Every failure is typed: LockError, ReadError, DecodeError, WriteError, InvalidReference, or our string.
    Effect.catchTags({ LockError: (error) => Effect.fail(`busy, try again later: ${error.message}`) }),
    Effect.provide(NodeServices.layer())
  )
