import { describe, expect, it } from "vitest";
import * as oci from "../src/index.ts";
import {
  Digest,
  familiarString,
  formatReference,
  Id,
  ImageSpec,
  MediaType,
  OCI_MANIFEST,
  Platform,
  parseNormalizedNamed,
  Reference,
  type RuntimeSpec,
  randomId,
  sha256,
  shortId,
  withDefaultTag,
} from "../src/index.ts";

describe("barrel", () => {
  it("offers namespaces and flat names for the same functions", () => {
    const d: Digest = sha256("x");
    const alg: Digest.Algorithm = Digest.algorithmOf(d);
    expect(alg).toBe("sha256");
    expect(Digest.sha256).toBe(sha256);
    const ref: Reference = withDefaultTag(parseNormalizedNamed("busybox"));
    expect(Reference.parseNormalizedNamed).toBe(parseNormalizedNamed);
    expect(formatReference(ref)).toBe("docker.io/library/busybox:latest");
    expect(familiarString(ref)).toBe("busybox:latest");
    expect(MediaType.OCI_MANIFEST).toBe(OCI_MANIFEST);
    expect(Id.shortId).toBe(shortId);
    expect(randomId()).toMatch(/^[0-9a-f]{64}$/);
    const p: Platform = Platform.parsePlatform("linux/arm64/v8");
    expect(Platform.formatPlatform(p)).toBe("linux/arm64/v8");
    expect(typeof ImageSpec.validateManifest).toBe("function");
    const spec: RuntimeSpec.Spec = { ociVersion: "1.2.0" };
    expect(spec.ociVersion).toBe("1.2.0");
  });

  it("exports exactly the documented flat names", () => {
    expect(Object.keys(oci).sort()).toMatchInlineSnapshot(`
      [
        "DOCKER_CONFIG",
        "DOCKER_LAYER_FOREIGN_GZIP",
        "DOCKER_LAYER_GZIP",
        "DOCKER_MANIFEST",
        "DOCKER_MANIFEST_LIST",
        "Digest",
        "Digester",
        "Id",
        "ImageSpec",
        "MediaType",
        "MediaTypes",
        "OCI_CONFIG",
        "OCI_INDEX",
        "OCI_LAYER",
        "OCI_LAYER_GZIP",
        "OCI_LAYER_ZSTD",
        "OCI_MANIFEST",
        "Platform",
        "Reference",
        "RuntimeSpec",
        "currentPlatform",
        "digestTransform",
        "familiarName",
        "familiarString",
        "formatPlatform",
        "formatReference",
        "hexOf",
        "isDigest",
        "isFullId",
        "isIdPrefix",
        "isIndex",
        "isLayer",
        "isManifest",
        "isValidTag",
        "layerCompression",
        "parseDigest",
        "parseDockerRef",
        "parseNormalizedNamed",
        "parsePlatform",
        "platformMatches",
        "randomId",
        "sha256",
        "shortId",
        "validateImageConfig",
        "validateIndex",
        "validateManifest",
        "verifyingTransform",
        "withDefaultTag",
      ]
    `);
  });
});
