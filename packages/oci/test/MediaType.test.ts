import { describe, expect, it } from "vitest";
import * as MT from "../src/MediaType.ts";

describe("media types", () => {
  it("has the exact OCI and Docker strings", () => {
    expect(MT.OCI_MANIFEST).toBe("application/vnd.oci.image.manifest.v1+json");
    expect(MT.OCI_INDEX).toBe("application/vnd.oci.image.index.v1+json");
    expect(MT.OCI_CONFIG).toBe("application/vnd.oci.image.config.v1+json");
    expect(MT.OCI_LAYER_GZIP).toBe("application/vnd.oci.image.layer.v1.tar+gzip");
    expect(MT.OCI_LAYER_ZSTD).toBe("application/vnd.oci.image.layer.v1.tar+zstd");
    expect(MT.OCI_LAYER_NONDISTRIBUTABLE_GZIP).toBe(
      "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    );
    expect(MT.DOCKER_MANIFEST).toBe("application/vnd.docker.distribution.manifest.v2+json");
    expect(MT.DOCKER_MANIFEST_LIST).toBe("application/vnd.docker.distribution.manifest.list.v2+json");
    expect(MT.DOCKER_CONFIG).toBe("application/vnd.docker.container.image.v1+json");
    expect(MT.DOCKER_LAYER_GZIP).toBe("application/vnd.docker.image.rootfs.diff.tar.gzip");
    expect(MT.DOCKER_LAYER_FOREIGN_GZIP).toBe("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip");
    expect(MT.MediaTypes.OCI_MANIFEST).toBe(MT.OCI_MANIFEST);
  });

  it.each([
    [MT.OCI_MANIFEST, "manifest"],
    [MT.DOCKER_MANIFEST, "manifest"],
    [`${MT.DOCKER_MANIFEST}; charset=utf-8`, "manifest"],
    [MT.OCI_INDEX, "index"],
    [MT.DOCKER_MANIFEST_LIST, "index"],
    [MT.OCI_CONFIG, "config"],
    [MT.DOCKER_CONFIG, "config"],
    [MT.OCI_LAYER, "layer"],
    [MT.DOCKER_LAYER_GZIP.toUpperCase(), "layer"],
    [MT.DOCKER_SCHEMA1_SIGNED_MANIFEST, "none"],
    ["application/json", "none"],
  ])("classifies %s as %s", (mt, kind) => {
    expect(MT.isManifest(mt)).toBe(kind === "manifest");
    expect(MT.isIndex(mt)).toBe(kind === "index");
    expect(MT.isConfig(mt)).toBe(kind === "config");
    expect(MT.isLayer(mt)).toBe(kind === "layer");
  });

  it.each([
    [MT.OCI_LAYER, "none"],
    [MT.OCI_LAYER_GZIP, "gzip"],
    [MT.OCI_LAYER_ZSTD, "zstd"],
    [MT.OCI_LAYER_NONDISTRIBUTABLE, "none"],
    [MT.OCI_LAYER_NONDISTRIBUTABLE_GZIP, "gzip"],
    [MT.OCI_LAYER_NONDISTRIBUTABLE_ZSTD, "zstd"],
    [MT.DOCKER_LAYER, "none"],
    [MT.DOCKER_LAYER_GZIP, "gzip"],
    [MT.DOCKER_LAYER_ZSTD, "zstd"],
    [MT.DOCKER_LAYER_FOREIGN_GZIP, "gzip"],
    [MT.DOCKER_LAYER_FOREIGN, "none"],
  ])("layerCompression(%s) = %s", (mt, c) => {
    expect(MT.layerCompression(mt)).toBe(c);
  });

  it("refuses to guess the compression of non-layers", () => {
    expect(() => MT.layerCompression(MT.OCI_CONFIG)).toThrow(/unsupported layer media type/);
    expect(() => MT.layerCompression("application/vnd.oci.image.layer.v1.tar+bzip2")).toThrow();
  });

  it("tells foreign, docker and schema1 types apart", () => {
    expect(MT.isForeignLayer(MT.DOCKER_LAYER_FOREIGN_GZIP)).toBe(true);
    expect(MT.isForeignLayer(MT.OCI_LAYER_NONDISTRIBUTABLE)).toBe(true);
    expect(MT.isForeignLayer(MT.OCI_LAYER_GZIP)).toBe(false);
    expect(MT.isDocker(MT.DOCKER_CONFIG)).toBe(true);
    expect(MT.isDocker(MT.OCI_CONFIG)).toBe(false);
    expect(MT.isSchema1(MT.DOCKER_SCHEMA1_MANIFEST)).toBe(true);
    expect(MT.layerMediaType("gzip")).toBe(MT.OCI_LAYER_GZIP);
    expect(MT.layerMediaType("gzip", "docker")).toBe(MT.DOCKER_LAYER_GZIP);
    expect(MT.layerMediaType("none", "docker")).toBe(MT.DOCKER_LAYER);
    expect(MT.layerMediaType("zstd")).toBe(MT.OCI_LAYER_ZSTD);
  });
});
