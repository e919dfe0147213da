/**
 * OCI image-spec objects (descriptor, manifest, index, image config, image layout) as
 * TypeScript types, with the Docker extensions dockerd writes into image configs, and
 * validators that check untrusted JSON before anything trusts it.
 *
 * The validators also refuse a document of the wrong kind: an index served where a manifest is
 * expected, or a manifest where an index is expected (CVE-2021-41190, "ambiguous OCI manifest
 * parsing"): without that check, the same bytes could be read as two different images.
 *
 * @since 0.1.0
 */
import { InvalidArgument } from "@berth/errdefs";
import { type Digest, parseDigest } from "./Digest.ts";
import {
  baseMediaType,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  isIndex,
  isManifest,
  isSchema1,
  OCI_INDEX,
  OCI_MANIFEST,
} from "./MediaType.ts";
import type { Platform } from "./Platform.ts";

export type { Platform } from "./Platform.ts";

/**
 * MAX_MANIFEST_BYTES bounds how much of a manifest or index a reader should accept before
 * parsing (containers/image `iolimits.maxManifestBodySize`; unbounded reads were
 * CVE-2020-1702-style memory exhaustion).
 */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** MAX_CONFIG_BYTES bounds how much of an image config a reader should accept before parsing. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/** Annotations are string key/value metadata on descriptors, manifests and indexes. */
export type Annotations = Record<string, string>;

/** Descriptor points at content by media type, digest and size (image-spec descriptor.md). */
export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Annotations;
  /** Base64 of the content itself, when embedded. */
  data?: string;
  /** Platform of the target (only in index entries). */
  platform?: Platform;
  artifactType?: string;
}

/** Manifest is an OCI image manifest or Docker v2 schema2 manifest (same shape). */
export interface Manifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Annotations;
}

/** Index is an OCI image index or Docker manifest list (same shape). */
export interface Index {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Annotations;
}

/** EmptyObject is the JSON `{}` used as the value of port and volume sets. */
export type EmptyObject = Record<string, never>;

/** HealthConfig is Docker's HEALTHCHECK (durations in nanoseconds; `Test` `["NONE"]` disables). */
export interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/**
 * ContainerConfig is the image config's `config` object: the OCI fields plus the Docker
 * extensions dockerd writes (Healthcheck, OnBuild, Shell, StopTimeout).
 */
export interface ContainerConfig {
  User?: string;
  /** Keys `port/proto`, e.g. `80/tcp`. */
  ExposedPorts?: Record<string, EmptyObject>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, EmptyObject> | null;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  ArgsEscaped?: boolean;
  Healthcheck?: HealthConfig;
  OnBuild?: string[] | null;
  Shell?: string[];
  StopTimeout?: number;
}

/** RootFS lists the uncompressed layer digests (diff IDs), bottom first. */
export interface RootFS {
  type: "layers";
  diff_ids: Digest[];
}

/** History describes how one layer (or metadata-only step) was made. */
export interface History {
  created?: string;
  author?: string;
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** ImageConfig is the image config blob (image-spec config.md + Docker extensions). */
export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  "os.version"?: string;
  "os.features"?: string[];
  variant?: string;
  config?: ContainerConfig;
  rootfs: RootFS;
  history?: History[];
}

/** ImageLayout is the `oci-layout` file of an OCI image layout directory. */
export interface ImageLayout {
  imageLayoutVersion: string;
}

/** IMAGE_LAYOUT_VERSION is the image-layout version Berth writes. */
export const IMAGE_LAYOUT_VERSION = "1.0.0";

// ---- validation ----

const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

type Json = Record<string, unknown>;

class Checker {
  constructor(readonly what: string) {}

  fail(path: string, message: string): never {
    throw new InvalidArgument(`invalid ${this.what}: ${path === "" ? "" : `${path}: `}${message}`);
  }

  object(v: unknown, path: string): Json {
    if (typeof v !== "object" || v === null || Array.isArray(v))
      this.fail(path, `expected an object, found ${kind(v)}`);
    return v as Json;
  }

  string(v: unknown, path: string): string {
    if (typeof v !== "string") this.fail(path, `expected a string, found ${kind(v)}`);
    return v;
  }

  optString(o: Json, key: string, path: string): void {
    if (o[key] !== undefined) this.string(o[key], join(path, key));
  }

  optBool(o: Json, key: string, path: string): void {
    if (o[key] !== undefined && typeof o[key] !== "boolean") {
      this.fail(join(path, key), `expected a boolean, found ${kind(o[key])}`);
    }
  }

  optInteger(o: Json, key: string, path: string): void {
    const v = o[key];
    if (v !== undefined && !Number.isSafeInteger(v))
      this.fail(join(path, key), `expected an integer, found ${kind(v)}`);
  }

  array(v: unknown, path: string): unknown[] {
    if (!Array.isArray(v)) this.fail(path, `expected an array, found ${kind(v)}`);
    return v;
  }

  strings(v: unknown, path: string): string[] {
    if (!Array.isArray(v)) this.fail(path, `expected an array of strings, found ${kind(v)}`);
    v.forEach((s, i) => {
      this.string(s, `${path}[${i}]`);
    });
    return v as string[];
  }

  optStrings(o: Json, key: string, path: string, nullable = false): void {
    const v = o[key];
    if (v === undefined || (nullable && v === null)) return;
    this.strings(v, join(path, key));
  }

  stringMap(v: unknown, path: string): void {
    const o = this.object(v, path);
    for (const [k, val] of Object.entries(o)) this.string(val, join(path, k));
  }

  optStringMap(o: Json, key: string, path: string, nullable = false): void {
    const v = o[key];
    if (v === undefined || (nullable && v === null)) return;
    this.stringMap(v, join(path, key));
  }

  emptyObjectMap(o: Json, key: string, path: string, nullable = false): void {
    const v = o[key];
    if (v === undefined || (nullable && v === null)) return;
    const m = this.object(v, join(path, key));
    for (const [k, val] of Object.entries(m)) this.object(val, join(join(path, key), k));
  }

  digest(v: unknown, path: string): Digest {
    const s = this.string(v, path);
    try {
      return parseDigest(s);
    } catch (err) {
      this.fail(path, (err as Error).message);
    }
  }

  mediaType(v: unknown, path: string): string {
    const s = this.string(v, path);
    if (!MEDIA_TYPE.test(s))
      this.fail(path, `expected a media type such as ${OCI_MANIFEST}, found ${quote(s)}`);
    return s;
  }

  platform(v: unknown, path: string): void {
    const p = this.object(v, path);
    this.string(p.architecture, join(path, "architecture"));
    this.string(p.os, join(path, "os"));
    this.optString(p, "os.version", path);
    this.optStrings(p, "os.features", path);
    this.optString(p, "variant", path);
    this.optStrings(p, "features", path);
  }

  descriptor(v: unknown, path: string): Descriptor {
    const d = this.object(v, path);
    this.mediaType(d.mediaType, join(path, "mediaType"));
    this.digest(d.digest, join(path, "digest"));
    if (!Number.isSafeInteger(d.size) || (d.size as number) < 0) {
      this.fail(join(path, "size"), `expected a non-negative integer, found ${kind(d.size)}`);
    }
    this.optStrings(d, "urls", path);
    this.optStringMap(d, "annotations", path);
    if (d.data !== undefined) {
      const data = this.string(d.data, join(path, "data"));
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(data) || data.length % 4 !== 0) {
        this.fail(join(path, "data"), "expected base64");
      }
    }
    if (d.platform !== undefined) this.platform(d.platform, join(path, "platform"));
    if (d.artifactType !== undefined) this.mediaType(d.artifactType, join(path, "artifactType"));
    return d as unknown as Descriptor;
  }

  schemaVersion(o: Json): void {
    if (o.schemaVersion === 1 || o.fsLayers !== undefined) {
      this.fail("", "docker schema1 manifests are not supported, expected schemaVersion 2");
    }
    if (o.schemaVersion !== 2) this.fail("schemaVersion", `expected 2, found ${kind(o.schemaVersion)}`);
  }
}

function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

function quote(s: string): string {
  return JSON.stringify(s.length > 160 ? `${s.slice(0, 160)}...` : s);
}

function kind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return `string ${quote(v)}`;
  if (typeof v === "number") return `number ${v}`;
  if (typeof v === "boolean") return `boolean ${v}`;
  if (v === undefined) return "nothing";
  return typeof v === "object" ? "an object" : typeof v;
}

/** Options for {@link validateManifest} and {@link validateIndex}. */
export interface ValidateOptions {
  /**
   * The media type the document was served or referenced as (HTTP Content-Type or the
   * descriptor's mediaType). When given, it must be of the expected kind and agree with the
   * document's own `mediaType` field.
   */
  mediaType?: string;
}

function checkDeclaredType(
  c: Checker,
  doc: Json,
  opts: ValidateOptions,
  ok: (mt: string) => boolean,
  expected: string,
): void {
  if (opts.mediaType !== undefined) {
    if (isSchema1(opts.mediaType)) c.fail("", "docker schema1 manifests are not supported");
    if (!ok(opts.mediaType)) c.fail("", `expected ${expected} media type, found ${quote(opts.mediaType)}`);
  }
  if (doc.mediaType !== undefined) {
    const own = c.mediaType(doc.mediaType, "mediaType");
    if (!ok(own)) c.fail("mediaType", `expected ${expected} media type, found ${quote(own)}`);
    if (opts.mediaType !== undefined && baseMediaType(opts.mediaType) !== baseMediaType(own)) {
      c.fail("mediaType", `document says ${quote(own)} but was served as ${quote(opts.mediaType)}`);
    }
  }
}

/**
 * validateManifest checks that `json` (already parsed) is an image manifest (OCI or Docker
 * schema2) and returns it typed. Throws InvalidArgument `invalid image manifest: <path>: ...`
 * for a wrong shape, a bad digest or size, schema1, or an index (a `manifests` field or an
 * index media type) served as a manifest (CVE-2021-41190).
 */
export function validateManifest(json: unknown, opts: ValidateOptions = {}): Manifest {
  const c = new Checker("image manifest");
  const doc = c.object(json, "");
  c.schemaVersion(doc);
  if (doc.manifests !== undefined) {
    c.fail("", 'expected a manifest but found an index (it has "manifests")');
  }
  checkDeclaredType(c, doc, opts, isManifest, `${OCI_MANIFEST} or ${DOCKER_MANIFEST}`);
  c.descriptor(doc.config, "config");
  c.array(doc.layers, "layers").forEach((l, i) => {
    c.descriptor(l, `layers[${i}]`);
  });
  if (doc.subject !== undefined) c.descriptor(doc.subject, "subject");
  if (doc.artifactType !== undefined) c.mediaType(doc.artifactType, "artifactType");
  c.optStringMap(doc, "annotations", "");
  return doc as unknown as Manifest;
}

/**
 * validateIndex checks that `json` is an image index (OCI index or Docker manifest list) and
 * returns it typed. Throws InvalidArgument `invalid image index: ...`, including for a manifest
 * (a `config` or `layers` field or a manifest media type) served as an index (CVE-2021-41190).
 */
export function validateIndex(json: unknown, opts: ValidateOptions = {}): Index {
  const c = new Checker("image index");
  const doc = c.object(json, "");
  c.schemaVersion(doc);
  if (doc.config !== undefined || doc.layers !== undefined) {
    c.fail("", 'expected an index but found a manifest (it has "config" or "layers")');
  }
  checkDeclaredType(c, doc, opts, isIndex, `${OCI_INDEX} or ${DOCKER_MANIFEST_LIST}`);
  c.array(doc.manifests, "manifests").forEach((m, i) => {
    c.descriptor(m, `manifests[${i}]`);
  });
  if (doc.subject !== undefined) c.descriptor(doc.subject, "subject");
  if (doc.artifactType !== undefined) c.mediaType(doc.artifactType, "artifactType");
  c.optStringMap(doc, "annotations", "");
  return doc as unknown as Index;
}

/**
 * validateImageConfig checks that `json` is an image config (OCI or Docker) and returns it
 * typed: `architecture`, `os` and `rootfs` (`type: "layers"`, `diff_ids` digests) are
 * required; the types of `config`, `history` and the other known fields are checked.
 * Unknown fields are kept. Throws InvalidArgument `invalid image config: <path>: ...`.
 */
export function validateImageConfig(json: unknown): ImageConfig {
  const c = new Checker("image config");
  const doc = c.object(json, "");
  c.string(doc.architecture, "architecture");
  c.string(doc.os, "os");
  for (const k of ["created", "author", "os.version", "variant"]) c.optString(doc, k, "");
  c.optStrings(doc, "os.features", "");
  const rootfs = c.object(doc.rootfs, "rootfs");
  if (rootfs.type !== "layers") c.fail("rootfs.type", `expected "layers", found ${kind(rootfs.type)}`);
  c.array(rootfs.diff_ids, "rootfs.diff_ids").forEach((d, i) => {
    c.digest(d, `rootfs.diff_ids[${i}]`);
  });
  if (doc.config !== undefined && doc.config !== null) {
    const cfg = c.object(doc.config, "config");
    const p = "config";
    for (const k of ["User", "WorkingDir", "StopSignal"]) c.optString(cfg, k, p);
    c.emptyObjectMap(cfg, "ExposedPorts", p, true);
    c.emptyObjectMap(cfg, "Volumes", p, true);
    c.optStrings(cfg, "Env", p, true);
    c.optStrings(cfg, "Entrypoint", p, true);
    c.optStrings(cfg, "Cmd", p, true);
    c.optStrings(cfg, "OnBuild", p, true);
    c.optStrings(cfg, "Shell", p, true);
    c.optStringMap(cfg, "Labels", p, true);
    c.optBool(cfg, "ArgsEscaped", p);
    c.optInteger(cfg, "StopTimeout", p);
    if (cfg.Healthcheck !== undefined && cfg.Healthcheck !== null) {
      const h = c.object(cfg.Healthcheck, "config.Healthcheck");
      c.optStrings(h, "Test", "config.Healthcheck", true);
      for (const k of ["Interval", "Timeout", "StartPeriod", "StartInterval", "Retries"]) {
        c.optInteger(h, k, "config.Healthcheck");
      }
    }
  }
  if (doc.history !== undefined && doc.history !== null) {
    c.array(doc.history, "history").forEach((h, i) => {
      const path = `history[${i}]`;
      const entry = c.object(h, path);
      for (const k of ["created", "author", "created_by", "comment"]) c.optString(entry, k, path);
      c.optBool(entry, "empty_layer", path);
    });
  }
  return doc as unknown as ImageConfig;
}

/**
 * validateDescriptor checks a single descriptor (media type, digest, size, urls, annotations,
 * platform) and returns it typed. Throws InvalidArgument `invalid descriptor: ...`.
 */
export function validateDescriptor(json: unknown): Descriptor {
  return new Checker("descriptor").descriptor(json, "");
}
