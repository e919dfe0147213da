/**
 * @berth/oci: OCI image-spec and runtime-spec types and validators, media types, digests,
 * docker image references, platforms and IDs. No I/O beyond stream transforms.
 *
 * Every module is available as a namespace (`Digest.parseDigest`, `Reference.familiarString`,
 * `MediaType.isLayer`, `ImageSpec.validateManifest`, `RuntimeSpec.Spec`, `Platform.parsePlatform`,
 * `Id.randomId`) and the most used names are also exported flat.
 *
 * @since 0.1.0
 */
import * as DigestModule from "./Digest.ts";
import * as PlatformModule from "./Platform.ts";
import * as ReferenceModule from "./Reference.ts";

export * as Id from "./Id.ts";
export * as ImageSpec from "./ImageSpec.ts";
export * as MediaType from "./MediaType.ts";
export * as RuntimeSpec from "./RuntimeSpec.ts";

/** Digest: the Digest.ts module as a namespace (`Digest.parseDigest`), and the digest string type. */
export const Digest = DigestModule;
/** Digest is a validated `sha256:<hex>` (or `sha512:<hex>`) content digest. */
export type Digest = DigestModule.Digest;
/** Types of the Digest namespace. */
export declare namespace Digest {
  export type Algorithm = DigestModule.Algorithm;
  export type DigestTransform = DigestModule.DigestTransform;
  export type Digester = DigestModule.Digester;
}

/** Reference: the Reference.ts module as a namespace (`Reference.parseNormalizedNamed`), and the reference type. */
export const Reference = ReferenceModule;
/** Reference is a parsed image reference `{domain, path, tag?, digest?}`. */
export type Reference = ReferenceModule.Reference;

/** Platform: the Platform.ts module as a namespace (`Platform.parsePlatform`), and the platform type. */
export const Platform = PlatformModule;
/** Platform is the OCI platform object `{os, architecture, variant?, ...}`. */
export type Platform = PlatformModule.Platform;

// Flat re-exports of the most used names.
export {
  type Algorithm,
  Digester,
  type DigestTransform,
  digestTransform,
  hexOf,
  isDigest,
  parseDigest,
  sha256,
  verifyingTransform,
} from "./Digest.ts";
export { isFullId, isIdPrefix, randomId, shortId } from "./Id.ts";
export {
  type Descriptor,
  type ImageConfig,
  type Index,
  type Manifest,
  validateImageConfig,
  validateIndex,
  validateManifest,
} from "./ImageSpec.ts";
export {
  DOCKER_CONFIG,
  DOCKER_LAYER_FOREIGN_GZIP,
  DOCKER_LAYER_GZIP,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  isIndex,
  isLayer,
  isManifest,
  layerCompression,
  MediaTypes,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_LAYER,
  OCI_LAYER_GZIP,
  OCI_LAYER_ZSTD,
  OCI_MANIFEST,
} from "./MediaType.ts";
export { currentPlatform, formatPlatform, parsePlatform, platformMatches } from "./Platform.ts";
export {
  familiarName,
  familiarString,
  formatReference,
  isValidTag,
  parseDockerRef,
  parseNormalizedNamed,
  withDefaultTag,
} from "./Reference.ts";
export type { Spec } from "./RuntimeSpec.ts";
