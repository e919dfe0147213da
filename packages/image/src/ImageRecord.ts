import type { Digest, ImageConfig } from "@berth/oci";

/** One layer of an image as the store knows it. */
export interface LayerRecord {
  /** Digest of the layer blob as stored (compressed or not). */
  readonly digest: Digest;
  /** Size of the blob in bytes. */
  readonly size: number;
  /** Media type of the blob. */
  readonly mediaType: string;
  /** Digest of the uncompressed tar (from the config's rootfs.diff_ids). */
  readonly diffId: Digest;
}

/**
 * ImageRecord is an image as `docker images` / `docker inspect` see it. The
 * ID is the config blob's digest (`sha256:...`), as docker's.
 */
export interface ImageRecord {
  /** Image ID: digest of the config blob. */
  readonly id: Digest;
  /** Tags in docker's familiar form (`busybox:latest`), sorted. */
  readonly repoTags: string[];
  /** Repository digests in familiar form (`busybox@sha256:...`), sorted. */
  readonly repoDigests: string[];
  /** The config's `created`, or the time the image was added. */
  readonly created: string;
  /** Sum of the layers' content sizes (regular-file bytes), like docker's SIZE. */
  readonly size: number;
  /** The parsed image config. */
  readonly config: ImageConfig;
  /** Digest of the manifest blob. */
  readonly manifestDigest: Digest;
  /** Media type of the manifest blob. */
  readonly manifestMediaType: string;
  /** Layers, bottom first. */
  readonly layers: LayerRecord[];
  /** Parent image ID (local builds only). */
  readonly parent?: Digest;
}
