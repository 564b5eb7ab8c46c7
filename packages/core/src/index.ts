/**
 * @ocidx/core: OCI image-layout schemas, errors, services and store logic, independent of any platform.
 *
 * @since 0.1.0
 */
export * as Annotations from "./Annotations.js"
export * as BlobStore from "./BlobStore.js"
export * as Copy from "./Copy.js"
export * as Credentials from "./Credentials.js"
export * as Descriptor from "./Descriptor.js"
export * as Digest from "./Digest.js"
export * as Durability from "./Durability.js"
export * as Errors from "./Errors.js"
export * as Hasher from "./Hasher.js"
export * as ImageIndex from "./ImageIndex.js"
export * as ImageManifest from "./ImageManifest.js"
export * as ImageReference from "./ImageReference.js"
export * as IndexLock from "./IndexLock.js"
export * as Json from "./Json.js"
export * as Layout from "./Layout.js"
export * as MediaType from "./MediaType.js"
export * as OciLayout from "./OciLayout.js"
export * as Platform from "./Platform.js"
export * as Prune from "./Prune.js"
export * as Reference from "./Reference.js"
export * as RegistryClient from "./RegistryClient.js"
export * as StoreIndex from "./StoreIndex.js"
export * as Text from "./Text.js"
export * as testing from "./testing.js"
