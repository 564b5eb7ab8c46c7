/**
 * Incremental content hashing, as a service: the platform supplies the hash functions (Node's OpenSSL
 * bindings stream in constant memory); core only asks for a hex digest at the end.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import type { Algorithm } from "./Digest.js"

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
    let length = 0
    return {
      update: (chunk) => {
        chunks.push(chunk.slice())
        length += chunk.length
      },
      digest: Effect.promise(() => {
        const all = new Uint8Array(length)
        let offset = 0
        for (const chunk of chunks) {
          all.set(chunk, offset)
          offset += chunk.length
        }
        return globalThis.crypto.subtle.digest(webCryptoNames[algorithm], all)
      }).pipe(Effect.map(toHex))
    }
  }
}

/**
 * @since 0.1.0
 * @category layer
 */
export const layerWebCrypto: Layer.Layer<Hasher> = Layer.succeed(Hasher, webCrypto)
