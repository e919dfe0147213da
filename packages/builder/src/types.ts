import type { ContentStore, ImageStore, SnapshotStore } from "@berth/image";
import type { ImageConfig } from "@berth/oci";
import type { Runtime } from "@berth/runtime";
import type { BuildCache } from "./BuildCache.ts";
import type { FileDigests } from "./FileDigests.ts";

/** BuildOptions is one `docker build`: where the context and Dockerfile come from, and what to make. */
export interface BuildOptions {
  /** Context directory on the host. Exactly one of `contextDir` and `contextTar` is required. */
  readonly contextDir?: string;
  /** Context as a tar stream (plain, gzip or zstd), as POST /build receives it; extracted to a temp dir. */
  readonly contextTar?: NodeJS.ReadableStream;
  /** Remembered digests of the files under `contextDir` (a synced context): COPY/ADD hash only changed files. */
  readonly fileDigests?: FileDigests;
  /**
   * The context directory is the build's own (a copy nothing edits in place: files are only
   * ever replaced): COPY may then hard-link its files into layers instead of copying them. Never
   * set it for a directory someone works in; a tar context is extracted into such a copy.
   */
  readonly ownContext?: boolean;
  /** Dockerfile path inside the context (resolved inside it, never outside; default `Dockerfile`). */
  readonly dockerfile?: string;
  /** Dockerfile text; overrides `dockerfile`. */
  readonly dockerfileText?: string;
  /** Names to tag the result with (`friendlyhello`, `repo:tag`). */
  readonly tags?: readonly string[];
  /** `--build-arg` values; an `undefined` value means "take it from the caller's environment" and is skipped. */
  readonly buildArgs?: Readonly<Record<string, string | undefined>>;
  /** Stage name (or index) to stop at; default the last stage. */
  readonly target?: string;
  /** Do not use the build cache (results are still recorded in it). */
  readonly noCache?: boolean;
  /** Labels added to the final image's config. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Aborts the build; a running RUN is killed. */
  readonly signal?: AbortSignal;
  /**
   * Layer compression: `gzip` (default, `application/vnd.oci.image.layer.v1.tar+gzip`) or `zstd`
   * (`...tar+zstd`, through the `zstd` binary). Cache entries are kept apart per compression.
   */
  readonly compression?: LayerCompression;
  /**
   * Secrets for `RUN --mount=type=secret`, by id (`docker build --secret id=x,src=file` reads the
   * file on the client). Mounted as tmp files or set as environment variables only for the RUN
   * that asks; never written to a layer, the history, the cache index or progress output, and
   * not part of cache keys (as BuildKit).
   */
  readonly secrets?: Readonly<Record<string, string | Uint8Array>>;
  /**
   * Network of RUN steps that have no `--network` flag (docker's `--network` / `networkmode`):
   * `default` (a namespace on the default bridge when {@link BuildDeps.network} is given, else an
   * empty one), `none` (only `lo`) or `host` (the host's namespace).
   */
  readonly networkMode?: "default" | "none" | "host";
}

/** RunSandbox is a network for one RUN: a namespace to join and the /etc files that go with it. */
export interface RunSandbox {
  /** Path of the network namespace (bind-mounted nsfs file). */
  readonly netns: string;
  /** Contents for the RUN's /etc/resolv.conf. */
  readonly resolvConf: string;
  /** Contents for the RUN's /etc/hosts. */
  readonly hosts: string;
  /** Disconnects and removes the namespace (idempotent). */
  release(): Promise<void>;
}

/** LayerCompression is how the builder compresses the layers it commits. */
export type LayerCompression = "gzip" | "zstd";

/**
 * BuildDeps are the stores and runtime the build runs against. The builder never opens or owns
 * them; `root` is where it keeps its cache index (`<root>/build-cache.json`) and `workDir` where
 * it puts bundles and temporary contexts (keep it short: conmon's socket path must fit 107 bytes).
 */
export interface BuildDeps {
  readonly images: ImageStore;
  readonly snapshots: SnapshotStore;
  readonly content: ContentStore;
  readonly runtime: Runtime;
  /** Directory for the persisted build cache index. */
  readonly root: string;
  /** Scratch directory for RUN bundles and extracted contexts. */
  readonly workDir: string;
  /** A cache opened by the caller, to share between builds of one process; default: opened from `root`. */
  readonly cache?: BuildCache;
  /** Compression of committed layers (set by build() from {@link BuildOptions.compression}); default gzip. */
  readonly layerCompression?: LayerCompression;
  /**
   * Gives a RUN with the default network a namespace with outside access (the engine plugs one
   * into its default bridge). Without it, such RUNs get an empty namespace (only `lo`).
   */
  readonly network?: (id: string) => Promise<RunSandbox>;
  /** cgroup parent of RUN containers; default `/berth-build`. */
  readonly cgroupParent?: string;
}

/** BuildProgress is one progress event; `stream` is the text docker's classic builder would print. */
export type BuildProgress =
  | { readonly kind: "step"; readonly step: number; readonly total: number; readonly stream: string }
  | { readonly kind: "cached"; readonly stream: string }
  | {
      readonly kind: "output";
      readonly fd: "stdout" | "stderr";
      readonly data: Buffer;
      readonly stream: string;
    }
  | { readonly kind: "result"; readonly id: string; readonly stream: string }
  | { readonly kind: "warning"; readonly stream: string };

/** BuildResult is what a successful build made. */
export interface BuildResult {
  /** The image ID (`sha256:` + config digest). */
  readonly imageId: string;
  /** Tags applied, normalised (`docker.io/library/x:latest` as the store names it). */
  readonly tags: readonly string[];
  /** Steps executed and steps taken from the cache. */
  readonly steps: { readonly executed: number; readonly cached: number };
}

/** LayerState is one layer of an image being built. */
export interface LayerState {
  /** Compressed blob digest in the content store. */
  readonly digest: `sha256:${string}`;
  readonly diffId: `sha256:${string}`;
  /** Compressed size. */
  readonly size: number;
  readonly mediaType: string;
  /** Bytes of file content (docker's layer size). */
  readonly unpackedSize: number;
}

/** ImageState is an image as the build sees it between steps: its config and its layers. */
export interface ImageState {
  readonly config: ImageConfig;
  readonly layers: readonly LayerState[];
}
