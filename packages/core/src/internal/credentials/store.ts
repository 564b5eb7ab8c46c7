/**
 * The credential store over docker's and podman's files and docker's credential helpers.
 * @internal
 */
import type { CommandExecutor } from "@effect/platform"
import type { FileSystem } from "@effect/platform"
import * as Path from "@effect/platform/Path"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { Credential, StoredIn } from "../../Credentials.js"
import { CredentialStore } from "../../Credentials.js"
import { CredentialError, type CredentialOperation } from "../../Errors.js"
import * as ImageReference from "../../ImageReference.js"
import * as ConfigFile from "./configFile.js"
import * as Helper from "./helper.js"

/** @internal */
export interface Options {
  readonly configDir?: string | undefined
  readonly authFiles?: ReadonlyArray<string> | undefined
}

const optionalEnv = (name: string): Effect.Effect<Option.Option<string>> =>
  Config.option(Config.nonEmptyString(name)).pipe(Effect.orElseSucceed(() => Option.none<string>()))

/** The config.json in force: the option, else `$DOCKER_CONFIG`, else `$HOME/.docker`. */
const configPath = (options: Options): Effect.Effect<Option.Option<string>, never, Path.Path> =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    if (options.configDir !== undefined) return Option.some(path.join(options.configDir, "config.json"))
    const dockerConfig = yield* optionalEnv("DOCKER_CONFIG")
    if (Option.isSome(dockerConfig)) return Option.some(path.join(dockerConfig.value, "config.json"))
    const home = yield* optionalEnv("HOME")
    return Option.map(home, (dir) => path.join(dir, ".docker", "config.json"))
  })

/** podman's files, in its order: `$REGISTRY_AUTH_FILE`, then `$XDG_RUNTIME_DIR/containers/auth.json`. */
const authFilePaths = (options: Options): Effect.Effect<ReadonlyArray<string>, never, Path.Path> =>
  Effect.gen(function* () {
    if (options.authFiles !== undefined) return options.authFiles
    const path = yield* Path.Path
    const registryAuthFile = yield* optionalEnv("REGISTRY_AUTH_FILE")
    const runtimeDir = yield* optionalEnv("XDG_RUNTIME_DIR")
    return [
      ...Option.toArray(registryAuthFile),
      ...Option.toArray(Option.map(runtimeDir, (dir) => path.join(dir, "containers", "auth.json")))
    ]
  })

const validRegistry = (registry: string, operation: CredentialOperation): Effect.Effect<string, CredentialError> =>
  Either.match(ImageReference.parseRegistry(registry), {
    onLeft: (error) =>
      Effect.fail(new CredentialError({ registry, operation, reason: "invalid", detail: error.problem })),
    onRight: Effect.succeed
  })

/** @internal */
export const make = (
  options: Options = {}
): Effect.Effect<CredentialStore, never, FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor> =>
  Effect.gen(function* () {
    const context = yield* Effect.context<FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor>()

    // The config.json to write: there must be somewhere to put it.
    const writablePath = (registry: string, operation: CredentialOperation) =>
      Effect.flatMap(configPath(options), (path) =>
        Option.match(path, {
          onNone: () =>
            Effect.fail(
              new CredentialError({
                registry,
                operation,
                reason: "no-config",
                source: "config.json",
                detail: "neither DOCKER_CONFIG nor HOME is set, so there is no config.json to use; set one of them"
              })
            ),
          onSome: Effect.succeed
        })
      )

    const loadConfig = (registry: string) =>
      Effect.flatMap(configPath(options), (path) =>
        Option.match(path, {
          onNone: () => Effect.succeed(Option.none<ConfigFile.Loaded>()),
          onSome: (file) => Effect.map(ConfigFile.load(registry, file, "get"), Option.some)
        })
      )

    const fromConfig = (registry: string, loaded: ConfigFile.Loaded) =>
      Effect.gen(function* () {
        if (Option.isNone(loaded.config)) return Option.none<Credential>()
        const config = loaded.config.value
        const serverUrl = ImageReference.configKey(registry)
        const helpers = config.credHelpers ?? {}
        const helperKey = ImageReference.findConfigKey(registry, Object.keys(helpers))
        const specific = helperKey === undefined ? undefined : helpers[helperKey]
        const named = [specific, config.credsStore].filter(
          (helper, i, all): helper is string => helper !== undefined && helper !== "" && all.indexOf(helper) === i
        )
        for (const helper of named) {
          const found = yield* Helper.get(registry, helper, serverUrl)
          if (Option.isSome(found)) return found
        }
        return yield* ConfigFile.lookupAuths(registry, loaded)
      })

    const get = (name: string) =>
      Effect.gen(function* () {
        const registry = yield* validRegistry(name, "get")
        const loaded = yield* loadConfig(registry)
        if (Option.isSome(loaded)) {
          const found = yield* fromConfig(registry, loaded.value)
          if (Option.isSome(found)) return found
        }
        for (const file of yield* authFilePaths(options)) {
          const found = yield* Effect.flatMap(ConfigFile.load(registry, file, "get"), (authFile) =>
            ConfigFile.lookupAuths(registry, authFile)
          )
          if (Option.isSome(found)) return found
        }
        return Option.none<Credential>()
      }).pipe(Effect.provide(context), Effect.withSpan("Credentials.get"))

    const store = (name: string, credential: { readonly username: string; readonly password: string }) =>
      Effect.gen(function* () {
        const registry = yield* validRegistry(name, "store")
        if (credential.username === "" || credential.username.includes(":")) {
          return yield* new CredentialError({
            registry,
            operation: "store",
            reason: "invalid",
            detail: "a user name must be given and cannot contain ':'"
          })
        }
        const path = yield* writablePath(registry, "store")
        const loaded = yield* ConfigFile.load(registry, path, "store")
        const config = Option.getOrElse(loaded.config, (): ConfigFile.ConfigFile => ({}))
        const helper = ConfigFile.helperFor(config, registry)
        if (helper !== undefined) {
          yield* Helper.store(registry, helper, ImageReference.configKey(registry), credential)
          // As docker does: a password left in `auths` from before the helper was configured goes.
          const { config: cleaned, removed } = ConfigFile.withoutAuths(config, registry)
          if (removed > 0) yield* ConfigFile.save(registry, path, cleaned, "store")
          return { _tag: "Helper", location: Helper.programOf(helper) } satisfies StoredIn
        }
        yield* ConfigFile.save(registry, path, ConfigFile.withAuth(config, registry, credential), "store")
        return { _tag: "ConfigFile", location: path } satisfies StoredIn
      }).pipe(Effect.provide(context), Effect.withSpan("Credentials.store"))

    const erase = (name: string) =>
      Effect.gen(function* () {
        const registry = yield* validRegistry(name, "erase")
        const path = yield* writablePath(registry, "erase")
        const loaded = yield* ConfigFile.load(registry, path, "erase")
        if (Option.isNone(loaded.config)) return false
        const helper = ConfigFile.helperFor(loaded.config.value, registry)
        const erased =
          helper === undefined ? false : yield* Helper.erase(registry, helper, ImageReference.configKey(registry))
        const { config, removed } = ConfigFile.withoutAuths(loaded.config.value, registry)
        if (removed > 0) yield* ConfigFile.save(registry, path, config, "erase")
        return erased || removed > 0
      }).pipe(Effect.provide(context), Effect.withSpan("Credentials.erase"))

    return { get, store, erase } satisfies CredentialStore
  })

/** @internal */
export const layer = (
  options?: Options
): Layer.Layer<CredentialStore, never, FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor> =>
  Layer.effect(CredentialStore, make(options))

/** @internal */
export const makeStatic = (entries: Readonly<Record<string, Credential>> = {}): CredentialStore => {
  const held = new Map<string, Credential>()
  const key = (registry: string) => ImageReference.normaliseRegistry(registry)
  for (const [registry, credential] of Object.entries(entries)) held.set(key(registry), credential)
  return {
    get: (registry) => Effect.sync(() => Option.fromNullable(held.get(key(registry)))),
    store: (registry, credential) =>
      Effect.sync(() => {
        held.set(key(registry), { _tag: "Password", username: credential.username, password: credential.password })
        return { _tag: "ConfigFile", location: "memory" } satisfies StoredIn
      }),
    erase: (registry) => Effect.sync(() => held.delete(key(registry)))
  }
}

/** @internal */
export const layerStatic = (entries?: Readonly<Record<string, Credential>>): Layer.Layer<CredentialStore> =>
  Layer.sync(CredentialStore, () => makeStatic(entries))
