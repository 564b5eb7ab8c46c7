/**
 * Where `copy`, `pull` and `push` get the copy engine from, with the services it needs on Node (the file
 * system, the flock(2) lock, the hasher, and the registry client). The Node implementation is loaded on first
 * use (a separate chunk of the bundle), so commands that move no image never load the HTTP client.
 *
 * @since 0.1.0
 */
import type * as Copy from "@ocidx/core/Copy"
import type { CredentialError } from "@ocidx/core/Errors"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"

/**
 * How the registry client connects, from `--ca-file` and `--insecure`.
 *
 * @since 0.1.0
 * @category model
 */
export interface RegistryOptions {
  /** A PEM file of certificate authorities to trust besides the system's. */
  readonly caFile: string | undefined
  /** Plain http, and unverified TLS, for registries beyond loopback. */
  readonly insecure: boolean
}

/**
 * @since 0.1.0
 * @category model
 */
export interface Copier {
  readonly copy: (
    source: Copy.Location,
    destination: Copy.Location,
    options: Copy.Options,
    registry: RegistryOptions
  ) => Effect.Effect<Copy.Result, Copy.Failure | CredentialError>
}

/**
 * @since 0.1.0
 * @category tag
 */
export const Copier: Context.Tag<Copier, Copier> = Context.GenericTag<Copier>("@ocidx/cli/Copier")

/**
 * A copier made by `make` on first use, once per run, and released when the run ends.
 *
 * @since 0.1.0
 * @category layer
 */
export const layerLazy = (make: Effect.Effect<Copier, never, Scope.Scope>): Layer.Layer<Copier> =>
  Layer.scoped(
    Copier,
    Effect.gen(function* () {
      const scope = yield* Effect.scope
      const copier = yield* Effect.cached(Scope.extend(make, scope))
      return {
        copy: (source, destination, options, registry) =>
          Effect.flatMap(copier, (made) => made.copy(source, destination, options, registry))
      }
    })
  )

const load = Effect.flatMap(
  Effect.promise(() => import("./internal/nodeCopier.js")),
  (nodeCopier) => nodeCopier.make
)

/**
 * The Node copier, loaded by the first command that copies.
 *
 * @since 0.1.0
 * @category layer
 */
export const layerNode: Layer.Layer<Copier> = layerLazy(load)

/**
 * The copier of the run: the one provided (`main` provides one), else the Node copier, loaded now.
 *
 * @since 0.1.0
 * @category accessors
 */
export const get: Effect.Effect<Copier> = Effect.flatMap(Effect.serviceOption(Copier), (provided) =>
  Option.match(provided, {
    onSome: Effect.succeed,
    // Scoped to the command: the run's scope would do as well, but a command is one copy.
    onNone: () =>
      Effect.succeed<Copier>({ copy: (...args) => Effect.scoped(Effect.flatMap(load, (made) => made.copy(...args))) })
  })
)
