import { isKind } from "@berth/errdefs";
import { describe, expect, it } from "vitest";
import { sha256 } from "../src/Digest.ts";
import {
  type ImageConfig,
  type Index,
  type Manifest,
  validateDescriptor,
  validateImageConfig,
  validateIndex,
  validateManifest,
} from "../src/ImageSpec.ts";
import * as MT from "../src/MediaType.ts";

const CONFIG_DIGEST = sha256("config");
const LAYER_DIGEST = sha256("layer");

const config: ImageConfig = {
  created: "2024-01-01T00:00:00Z",
  architecture: "amd64",
  os: "linux",
  config: {
    User: "1000:1000",
    ExposedPorts: { "80/tcp": {} },
    Env: ["PATH=/usr/bin:/bin"],
    Entrypoint: ["/bin/sh", "-c"],
    Cmd: null,
    Volumes: { "/data": {} },
    WorkingDir: "/app",
    Labels: { a: "b" },
    StopSignal: "SIGTERM",
    Healthcheck: { Test: ["CMD", "true"], Interval: 30_000_000_000, Retries: 3 },
    OnBuild: null,
    ArgsEscaped: true,
    Shell: ["/bin/sh", "-c"],
  },
  rootfs: { type: "layers", diff_ids: [sha256("diff")] },
  history: [
    { created: "2024-01-01T00:00:00Z", created_by: "/bin/sh -c #(nop) ADD file", empty_layer: false },
  ],
};

const manifest: Manifest = {
  schemaVersion: 2,
  mediaType: MT.OCI_MANIFEST,
  config: { mediaType: MT.OCI_CONFIG, digest: CONFIG_DIGEST, size: 123 },
  layers: [{ mediaType: MT.OCI_LAYER_GZIP, digest: LAYER_DIGEST, size: 456, annotations: { x: "y" } }],
  annotations: { "org.opencontainers.image.created": "2024-01-01T00:00:00Z" },
};

const index: Index = {
  schemaVersion: 2,
  mediaType: MT.OCI_INDEX,
  manifests: [
    {
      mediaType: MT.OCI_MANIFEST,
      digest: sha256("m1"),
      size: 500,
      platform: { architecture: "amd64", os: "linux" },
    },
    {
      mediaType: MT.OCI_MANIFEST,
      digest: sha256("m2"),
      size: 500,
      platform: { architecture: "arm64", os: "linux", variant: "v8" },
    },
  ],
};

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(isKind(err, "InvalidArgument")).toBe(true);
    return (err as Error).message;
  }
  throw new Error("expected an error");
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

describe("validateManifest", () => {
  it("accepts OCI and Docker schema2 manifests", () => {
    expect(validateManifest(clone(manifest))).toEqual(manifest);
    const docker = { ...clone(manifest), mediaType: MT.DOCKER_MANIFEST };
    expect(validateManifest(docker, { mediaType: MT.DOCKER_MANIFEST })).toEqual(docker);
    const { mediaType: _, ...noType } = clone(manifest);
    expect(validateManifest(noType, { mediaType: MT.OCI_MANIFEST })).toEqual(noType);
    expect(validateManifest({ ...clone(manifest), layers: [] }).layers).toEqual([]);
  });

  it("rejects an index served as a manifest (CVE-2021-41190)", () => {
    expect(messageOf(() => validateManifest({ ...clone(manifest), manifests: [] }))).toContain(
      "expected a manifest but found an index",
    );
    expect(messageOf(() => validateManifest(clone(index)))).toContain("found an index");
    expect(messageOf(() => validateManifest({ ...clone(manifest), mediaType: MT.OCI_INDEX }))).toContain(
      "mediaType: expected application/vnd.oci.image.manifest.v1+json or",
    );
    expect(messageOf(() => validateManifest(clone(manifest), { mediaType: MT.OCI_INDEX }))).toContain(
      "expected application/vnd.oci.image.manifest.v1+json or application/vnd.docker.distribution.manifest.v2+json media type",
    );
    expect(messageOf(() => validateManifest(clone(manifest), { mediaType: MT.DOCKER_MANIFEST }))).toContain(
      "but was served as",
    );
  });

  it.each<[string, (m: Record<string, unknown>) => void, string]>([
    ["not an object", () => {}, ""],
    [
      "schemaVersion 1",
      (m) => {
        m.schemaVersion = 1;
      },
      "docker schema1 manifests are not supported",
    ],
    [
      "schemaVersion 3",
      (m) => {
        m.schemaVersion = 3;
      },
      "schemaVersion: expected 2, found number 3",
    ],
    ["missing config", (m) => delete m.config, "config: expected an object, found nothing"],
    [
      "layers not array",
      (m) => {
        m.layers = {};
      },
      "layers: expected an array, found an object",
    ],
    [
      "bad digest",
      (m) => {
        (m.layers as { digest: string }[])[0]!.digest = "sha256:../../x";
      },
      "layers[0].digest: invalid digest format",
    ],
    [
      "negative size",
      (m) => {
        (m.layers as { size: number }[])[0]!.size = -1;
      },
      "layers[0].size: expected a non-negative integer",
    ],
    [
      "fractional size",
      (m) => {
        (m.config as { size: number }).size = 1.5;
      },
      "config.size: expected a non-negative integer",
    ],
    [
      "huge size",
      (m) => {
        (m.config as { size: number }).size = 2 ** 60;
      },
      "config.size",
    ],
    [
      "bad media type",
      (m) => {
        (m.config as { mediaType: string }).mediaType = "nope";
      },
      "config.mediaType: expected a media type",
    ],
    [
      "annotation not string",
      (m) => {
        m.annotations = { a: 1 };
      },
      "annotations.a: expected a string, found number 1",
    ],
    [
      "urls not strings",
      (m) => {
        (m.layers as { urls: unknown }[])[0]!.urls = [1];
      },
      "layers[0].urls[0]",
    ],
    [
      "bad data",
      (m) => {
        (m.config as { data: string }).data = "%%%";
      },
      "config.data: expected base64",
    ],
  ])("rejects %s", (_name, mutate, fragment) => {
    const m = clone(manifest) as unknown as Record<string, unknown>;
    mutate(m);
    const input = _name === "not an object" ? [] : m;
    const msg = messageOf(() => validateManifest(input));
    expect(msg).toMatch(/^invalid image manifest: /);
    expect(msg).toContain(fragment);
  });
});

describe("validateIndex", () => {
  it("accepts OCI indexes and Docker manifest lists", () => {
    expect(validateIndex(clone(index))).toEqual(index);
    const list = { ...clone(index), mediaType: MT.DOCKER_MANIFEST_LIST };
    expect(validateIndex(list, { mediaType: `${MT.DOCKER_MANIFEST_LIST}; charset=utf-8` })).toEqual(list);
  });

  it("rejects a manifest served as an index (CVE-2021-41190)", () => {
    expect(messageOf(() => validateIndex(clone(manifest)))).toContain(
      "expected an index but found a manifest",
    );
    expect(messageOf(() => validateIndex({ ...clone(index), layers: [] }))).toContain("found a manifest");
    expect(messageOf(() => validateIndex({ ...clone(index), mediaType: MT.DOCKER_MANIFEST }))).toContain(
      "mediaType: expected",
    );
    expect(messageOf(() => validateIndex(clone(index), { mediaType: MT.OCI_MANIFEST }))).toContain(
      "media type",
    );
  });

  it("checks entries and platforms", () => {
    const bad = clone(index) as unknown as { manifests: { platform: Record<string, unknown> }[] };
    delete bad.manifests[1]!.platform.os;
    expect(messageOf(() => validateIndex(bad))).toContain(
      "manifests[1].platform.os: expected a string, found nothing",
    );
    expect(messageOf(() => validateIndex({ schemaVersion: 2 }))).toContain("manifests: expected an array");
  });
});

describe("validateImageConfig", () => {
  it("accepts a docker-style config", () => {
    expect(validateImageConfig(clone(config))).toEqual(config);
    expect(
      validateImageConfig({ architecture: "arm64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }),
    ).toEqual({
      architecture: "arm64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: [] },
    });
  });

  it.each<[string, (c: Record<string, unknown>) => void, string]>([
    ["missing os", (c) => delete c.os, "os: expected a string"],
    ["missing rootfs", (c) => delete c.rootfs, "rootfs: expected an object"],
    [
      "wrong rootfs type",
      (c) => {
        (c.rootfs as { type: string }).type = "tar";
      },
      'rootfs.type: expected "layers"',
    ],
    [
      "bad diff id",
      (c) => {
        (c.rootfs as { diff_ids: string[] }).diff_ids = ["sha256:XYZ"];
      },
      "rootfs.diff_ids[0]: invalid digest format",
    ],
    [
      "Env not array",
      (c) => {
        (c.config as { Env: unknown }).Env = "A=B";
      },
      "config.Env: expected an array of strings",
    ],
    [
      "Cmd with number",
      (c) => {
        (c.config as { Cmd: unknown }).Cmd = ["a", 1];
      },
      "config.Cmd[1]",
    ],
    [
      "ExposedPorts value",
      (c) => {
        (c.config as { ExposedPorts: unknown }).ExposedPorts = { "80/tcp": 1 };
      },
      "config.ExposedPorts.80/tcp",
    ],
    [
      "Labels value",
      (c) => {
        (c.config as { Labels: unknown }).Labels = { a: true };
      },
      "config.Labels.a",
    ],
    [
      "Healthcheck retries",
      (c) => {
        (c.config as { Healthcheck: unknown }).Healthcheck = { Retries: "3" };
      },
      "config.Healthcheck.Retries",
    ],
    [
      "history not array",
      (c) => {
        c.history = {};
      },
      "history: expected an array",
    ],
    [
      "history empty_layer",
      (c) => {
        c.history = [{ empty_layer: "yes" }];
      },
      "history[0].empty_layer: expected a boolean",
    ],
  ])("rejects %s", (_name, mutate, fragment) => {
    const c = clone(config) as unknown as Record<string, unknown>;
    mutate(c);
    const msg = messageOf(() => validateImageConfig(c));
    expect(msg).toMatch(/^invalid image config: /);
    expect(msg).toContain(fragment);
  });
});

describe("validateDescriptor", () => {
  it("checks a lone descriptor", () => {
    const d = { mediaType: MT.OCI_LAYER, digest: LAYER_DIGEST, size: 0 };
    expect(validateDescriptor(d)).toEqual(d);
    expect(messageOf(() => validateDescriptor({ ...d, size: "0" }))).toBe(
      'invalid descriptor: size: expected a non-negative integer, found string "0"',
    );
  });
});
