/**
 * Media types of the OCI image-spec and of Docker's v2 schema2 format, and helpers to classify
 * them. Berth writes OCI or Docker schema2 and reads both; Docker schema1 is recognised only so
 * it can be refused with a clear message.
 *
 * @since 0.1.0
 */
import { InvalidArgument } from "@berth/errdefs";

/** OCI descriptor (`application/vnd.oci.descriptor.v1+json`). */
export const OCI_DESCRIPTOR = "application/vnd.oci.descriptor.v1+json";
/** OCI image-layout `oci-layout` file. */
export const OCI_LAYOUT_HEADER = "application/vnd.oci.layout.header.v1+json";
/** OCI image index. */
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
/** OCI image manifest. */
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
/** OCI image config. */
export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
/** OCI empty descriptor content (`{}`), used by artifacts. */
export const OCI_EMPTY = "application/vnd.oci.empty.v1+json";
/** OCI uncompressed layer tar. */
export const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar";
/** OCI gzip-compressed layer tar. */
export const OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
/** OCI zstd-compressed layer tar. */
export const OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd";
/** OCI non-distributable uncompressed layer (deprecated by the spec, still accepted). */
export const OCI_LAYER_NONDISTRIBUTABLE = "application/vnd.oci.image.layer.nondistributable.v1.tar";
/** OCI non-distributable gzip layer (deprecated by the spec, still accepted). */
export const OCI_LAYER_NONDISTRIBUTABLE_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
/** OCI non-distributable zstd layer (deprecated by the spec, still accepted). */
export const OCI_LAYER_NONDISTRIBUTABLE_ZSTD = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";

/** Docker v2 schema2 image manifest. */
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
/** Docker v2 manifest list (the Docker equivalent of an OCI index). */
export const DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
/** Docker container image config. */
export const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
/** Docker layer, gzip-compressed (`rootfs.diff.tar.gzip`). */
export const DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/** Docker layer, uncompressed (seen in some tools; not written by dockerd). */
export const DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar";
/** Docker layer, zstd-compressed (containerd extension). */
export const DOCKER_LAYER_ZSTD = "application/vnd.docker.image.rootfs.diff.tar.zstd";
/** Docker foreign layer (e.g. Windows base layers, fetched from `urls`). */
export const DOCKER_LAYER_FOREIGN_GZIP = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
/** Docker foreign uncompressed layer. */
export const DOCKER_LAYER_FOREIGN = "application/vnd.docker.image.rootfs.foreign.diff.tar";
/** Docker schema1 manifest (refused). */
export const DOCKER_SCHEMA1_MANIFEST = "application/vnd.docker.distribution.manifest.v1+json";
/** Docker signed schema1 manifest (refused). */
export const DOCKER_SCHEMA1_SIGNED_MANIFEST = "application/vnd.docker.distribution.manifest.v1+prettyjws";

/** MediaTypes groups every constant by name, for `MediaTypes.OCI_MANIFEST`-style access. */
export const MediaTypes = {
  OCI_DESCRIPTOR,
  OCI_LAYOUT_HEADER,
  OCI_INDEX,
  OCI_MANIFEST,
  OCI_CONFIG,
  OCI_EMPTY,
  OCI_LAYER,
  OCI_LAYER_GZIP,
  OCI_LAYER_ZSTD,
  OCI_LAYER_NONDISTRIBUTABLE,
  OCI_LAYER_NONDISTRIBUTABLE_GZIP,
  OCI_LAYER_NONDISTRIBUTABLE_ZSTD,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  DOCKER_CONFIG,
  DOCKER_LAYER,
  DOCKER_LAYER_GZIP,
  DOCKER_LAYER_ZSTD,
  DOCKER_LAYER_FOREIGN,
  DOCKER_LAYER_FOREIGN_GZIP,
  DOCKER_SCHEMA1_MANIFEST,
  DOCKER_SCHEMA1_SIGNED_MANIFEST,
} as const;

/** Compression of a layer blob. */
export type Compression = "none" | "gzip" | "zstd";

const LAYERS: Readonly<Record<string, Compression>> = {
  [OCI_LAYER]: "none",
  [OCI_LAYER_GZIP]: "gzip",
  [OCI_LAYER_ZSTD]: "zstd",
  [OCI_LAYER_NONDISTRIBUTABLE]: "none",
  [OCI_LAYER_NONDISTRIBUTABLE_GZIP]: "gzip",
  [OCI_LAYER_NONDISTRIBUTABLE_ZSTD]: "zstd",
  [DOCKER_LAYER]: "none",
  [DOCKER_LAYER_GZIP]: "gzip",
  [DOCKER_LAYER_ZSTD]: "zstd",
  [DOCKER_LAYER_FOREIGN]: "none",
  [DOCKER_LAYER_FOREIGN_GZIP]: "gzip",
};

/** Strip media-type parameters (`; charset=utf-8`) and whitespace, lower-cased, as HTTP allows. */
export function baseMediaType(mt: string): string {
  const semi = mt.indexOf(";");
  return (semi >= 0 ? mt.slice(0, semi) : mt).trim().toLowerCase();
}

/** isManifest tells whether `mt` is an image manifest type (OCI or Docker schema2). */
export function isManifest(mt: string): boolean {
  const b = baseMediaType(mt);
  return b === OCI_MANIFEST || b === DOCKER_MANIFEST;
}

/** isIndex tells whether `mt` is an index type (OCI index or Docker manifest list). */
export function isIndex(mt: string): boolean {
  const b = baseMediaType(mt);
  return b === OCI_INDEX || b === DOCKER_MANIFEST_LIST;
}

/** isConfig tells whether `mt` is an image config type (OCI or Docker). */
export function isConfig(mt: string): boolean {
  const b = baseMediaType(mt);
  return b === OCI_CONFIG || b === DOCKER_CONFIG;
}

/** isLayer tells whether `mt` is a layer type Berth can apply (OCI, Docker, foreign, non-distributable). */
export function isLayer(mt: string): boolean {
  return baseMediaType(mt) in LAYERS;
}

/** isForeignLayer tells whether `mt` is a layer that registries do not serve (Docker foreign or OCI non-distributable). */
export function isForeignLayer(mt: string): boolean {
  const b = baseMediaType(mt);
  return b.includes(".foreign.") || b.includes(".nondistributable.");
}

/** isDocker tells whether `mt` belongs to Docker's `application/vnd.docker.` family. */
export function isDocker(mt: string): boolean {
  return baseMediaType(mt).startsWith("application/vnd.docker.");
}

/** isSchema1 tells whether `mt` is a Docker schema1 manifest (which Berth refuses). */
export function isSchema1(mt: string): boolean {
  const b = baseMediaType(mt);
  return b === DOCKER_SCHEMA1_MANIFEST || b === DOCKER_SCHEMA1_SIGNED_MANIFEST;
}

/**
 * layerCompression returns how a layer blob of type `mt` is compressed; throws InvalidArgument
 * for a type that is not a layer.
 */
export function layerCompression(mt: string): Compression {
  const c = LAYERS[baseMediaType(mt)];
  if (c === undefined) {
    throw new InvalidArgument(
      `unsupported layer media type: expected an OCI or Docker layer type, found ${JSON.stringify(mt)}`,
    );
  }
  return c;
}

/** layerMediaType returns the layer type for a format and compression (OCI unless `docker`). */
export function layerMediaType(compression: Compression, format: "oci" | "docker" = "oci"): string {
  if (format === "docker") {
    return compression === "gzip"
      ? DOCKER_LAYER_GZIP
      : compression === "zstd"
        ? DOCKER_LAYER_ZSTD
        : DOCKER_LAYER;
  }
  return compression === "gzip" ? OCI_LAYER_GZIP : compression === "zstd" ? OCI_LAYER_ZSTD : OCI_LAYER;
}
