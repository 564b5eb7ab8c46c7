/**
 * @ocidx/node: the Node layers for @ocidx/core — the real file system, the buildkit-compatible flock(2)
 * lock, a streaming hasher and the registry client.
 *
 * @since 0.1.0
 */
export * as NodeHasher from "./NodeHasher.js"
export * as NodeIndexLock from "./NodeIndexLock.js"
export * as NodeInflater from "./NodeInflater.js"
export * as NodeLayoutFiles from "./NodeLayoutFiles.js"
export * as NodeRegistry from "./NodeRegistry.js"
export * as NodeServices from "./NodeServices.js"
