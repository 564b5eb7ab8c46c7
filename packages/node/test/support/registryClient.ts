/**
 * The registry client the node tests use, from a layer of theirs.
 */
import * as RegistryClient from "@ocidx/core/RegistryClient"
import { Context, Effect, Layer } from "effect"

/** The client of `layer`, built in the test's scope: it lives as long as the test, not one effect. */
export const clientOf = <E>(layer: Layer.Layer<RegistryClient.RegistryClient, E>) =>
  Effect.map(Layer.build(layer), Context.get(RegistryClient.RegistryClient))
