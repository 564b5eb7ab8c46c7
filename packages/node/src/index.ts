/**
 * @ocidx/node: the Node layers for ocidx, the real file system and a buildkit-compatible flock(2) lock.
 *
 * @since 0.1.0
 */
export * as NodeIndexLock from "./NodeIndexLock.js"
export * as NodeServices from "./NodeServices.js"
