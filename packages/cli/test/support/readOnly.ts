/**
 * A read-only layout for tests: the tmpfs helper of @ocidx/node's tests, under the names these tests use.
 * CI runs as root, where chmod stops nothing, so a read-only mount is the honest way to make a directory
 * unwritable.
 */
import { canMountTmpfs, readOnlyTmpfs } from "../../../node/test/support/readOnly.js"

/** Why a read-only tmpfs cannot be had here, or `undefined` when it can. */
export const readOnlyUnavailable: string | undefined = canMountTmpfs
  ? undefined
  : "mounting a read-only tmpfs needs Linux, root and a working `mount`"

/** A directory on a tmpfs that `prepare` fills, then read-only; unmounted when the scope closes. */
export const readOnlyDir = readOnlyTmpfs
