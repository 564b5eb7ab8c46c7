/**
 * The `Hasher` on Node: `node:crypto` hashes (OpenSSL), fed chunk by chunk, so hashing a blob of any size
 * takes constant memory. Use it wherever `@ocidx/core` writes or verifies blobs on Node.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import { Hasher } from "@ocidx/core/Hasher"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/**
 * A `Hasher` on `node:crypto`'s `createHash`. Each `update` feeds the running hash and keeps nothing;
 * `digest` finishes it once and returns the same lowercase hex if asked again.
 *
 * @since 0.1.0
 * @category constructor
 */
export const hasher: Hasher = {
  make: (algorithm) => {
    const hash = createHash(algorithm)
    let hex: string | undefined
    return {
      update: (chunk) => {
        hash.update(chunk)
      },
      digest: Effect.sync(() => {
        hex ??= hash.digest("hex")
        return hex
      })
    }
  }
}

/**
 * Provides the `node:crypto` `Hasher`.
 *
 * @since 0.1.0
 * @category layer
 */
export const layer: Layer.Layer<Hasher> = Layer.succeed(Hasher, hasher)
