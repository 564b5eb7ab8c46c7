/** @internal */
import * as NodeCommandExecutor from "@effect/platform-node/NodeCommandExecutor"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as Credentials from "@ocidx/core/Credentials"
import * as RegistryClient from "@ocidx/core/RegistryClient"
import * as NodeRegistry from "@ocidx/node/NodeRegistry"
import type * as Scope from "effect/Scope"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { LoginServices } from "../commands/Login.js"

/**
 * What login and logout run on, on Node: the credential store (config.json, podman's files, helpers run as
 * processes), built once in the caller's scope, and the Node registry client, built for each check with the
 * credential being checked as its only one.
 *
 * @internal
 */
export const make: Effect.Effect<LoginServices, never, Scope.Scope> = Effect.gen(function* () {
  const platform = yield* Layer.build(
    Layer.mergeAll(NodeCommandExecutor.layer, NodePath.layer).pipe(Layer.provideMerge(NodeFileSystem.layer))
  )
  const credentials = yield* Credentials.make().pipe(Effect.provide(platform))
  return {
    credentials,
    verify: (registry, credential, options) =>
      Effect.flatMap(RegistryClient.RegistryClient, (client) => client.ping(registry)).pipe(
        Effect.provide(
          NodeRegistry.layerWithoutCredentials({
            caFile: options.caFile,
            insecure: options.insecure ? [registry] : false
          }).pipe(
            Layer.provide(
              Credentials.layerStatic({
                [registry]: { _tag: "Password", username: credential.username, password: credential.password }
              })
            )
          )
        )
      )
  }
})
