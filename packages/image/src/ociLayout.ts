import { type Digest, hexOf } from "@berth/oci";

/**
 * File names and shapes of image archives: the OCI image layout (`oci-layout`, `index.json`,
 * `blobs/<alg>/<hex>`) and docker's own files next to it (`manifest.json`, `repositories`), as
 * `docker save` writes them since docker 25 and as every earlier docker wrote the docker part.
 *
 * @since 0.1.0
 */

/** OCI_LAYOUT_FILE names the layout marker file. */
export const OCI_LAYOUT_FILE = "oci-layout";
/** OCI_LAYOUT_CONTENT is the marker's content as docker writes it. */
export const OCI_LAYOUT_CONTENT = '{"imageLayoutVersion": "1.0.0"}';
/** OCI_INDEX_FILE names the layout's entry point, an OCI image index. */
export const OCI_INDEX_FILE = "index.json";
/** DOCKER_MANIFEST_FILE names docker's archive manifest (a JSON array of {@link DockerManifestItem}). */
export const DOCKER_MANIFEST_FILE = "manifest.json";
/** DOCKER_REPOSITORIES_FILE names docker's legacy `{repo: {tag: v1 id}}` file. */
export const DOCKER_REPOSITORIES_FILE = "repositories";

/** ANNOTATION_IMAGE_NAME is containerd's annotation with the full image name (`docker.io/library/x:tag`). */
export const ANNOTATION_IMAGE_NAME = "io.containerd.image.name";
/** ANNOTATION_REF_NAME is the OCI annotation with the reference name (docker writes the tag). */
export const ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name";

/** One image in docker's `manifest.json`. */
export interface DockerManifestItem {
  /** Path of the config JSON inside the archive (`blobs/sha256/<hex>` or, before docker 25, `<hex>.json`). */
  Config: string;
  /** Familiar `name:tag` references; `null` for an image saved by ID. */
  RepoTags: string[] | null;
  /** Paths of the layer tars inside the archive, bottom first. */
  Layers: string[];
  /** Parent image ID (local builds); optional. */
  Parent?: string;
  /** Descriptors of foreign layers by diff ID; optional. */
  LayerSources?: Record<string, unknown>;
}

/** blobPath is where a blob lives inside an OCI layout: `blobs/sha256/<hex>`. */
export function blobPath(digest: Digest): string {
  return `blobs/${digest.slice(0, digest.indexOf(":"))}/${hexOf(digest)}`;
}

/** BLOB_PATH matches a layout blob path and captures algorithm and hex. */
export const BLOB_PATH = /^blobs\/(sha256)\/([0-9a-f]{64})$/;
