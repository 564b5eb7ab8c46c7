/**
 * Incremental content hashing, as a service: the platform supplies the hash functions (Node's OpenSSL
 * bindings stream in constant memory); core only asks for a hex digest at the end.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Algorithm } from "./Digest.js"
import { concat } from "./internal/bytes.js"

/**
 * One running hash.
 *
 * @since 0.1.0
 * @category model
 */
export interface Hash {
  readonly update: (chunk: Uint8Array) => void
  /** The lowercase hex digest of everything passed to `update`. Call once. */
  readonly digest: Effect.Effect<string>
}

/**
 * @since 0.1.0
 * @category model
 */
export interface Hasher {
  readonly make: (algorithm: Algorithm) => Hash
}

/**
 * @since 0.1.0
 * @category tag
 */
export const Hasher: Context.Tag<Hasher, Hasher> = Context.GenericTag<Hasher>("@ocidx/core/Hasher")

const webCryptoNames: Record<Algorithm, string> = { sha256: "SHA-256", sha512: "SHA-512" }

const toHex = (buffer: ArrayBuffer): string =>
  Array.from(new Uint8Array(buffer), (byte) => byte.toString(16).padStart(2, "0")).join("")

/**
 * A Hasher on the standard WebCrypto API, available wherever JavaScript runs. WebCrypto cannot hash
 * incrementally, so it keeps the whole content in memory: use it for tests and small content.
 *
 * @since 0.1.0
 * @category constructor
 */
export const webCrypto: Hasher = {
  make: (algorithm) => {
    const chunks: Array<Uint8Array> = []
    return {
      // A copy: the caller may reuse its buffer for the next chunk.
      update: (chunk) => {
        chunks.push(chunk.slice())
      },
      digest: Effect.promise(() => globalThis.crypto.subtle.digest(webCryptoNames[algorithm], concat(chunks))).pipe(
        Effect.map(toHex)
      )
    }
  }
}

/**
 * @since 0.1.0
 * @category layer
 */
export const layerWebCrypto: Layer.Layer<Hasher> = Layer.succeed(Hasher, webCrypto)
