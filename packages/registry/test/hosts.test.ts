import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { apiHost, hostnameOf, isLoopback, resolveEndpoint } from "../src/index.ts";

let certs: string;
beforeEach(async () => {
  certs = await mkdtemp(join(tmpdir(), "berth-certs-"));
});
afterEach(() => rm(certs, { recursive: true, force: true }));

describe("resolveEndpoint", () => {
  it("uses plain HTTP only for loopback and insecure-listed registries", async () => {
    expect((await resolveEndpoint("127.0.0.1:5000", { certsDir: certs })).base).toBe("http://127.0.0.1:5000");
    expect((await resolveEndpoint("localhost:5000", { certsDir: certs })).base).toBe("http://localhost:5000");
    expect((await resolveEndpoint("reg.example:5000", { certsDir: certs })).base).toBe(
      "https://reg.example:5000",
    );
    expect(
      (await resolveEndpoint("reg.example:5000", { certsDir: certs, insecure: ["reg.example:5000"] })).base,
    ).toBe("http://reg.example:5000");
    expect((await resolveEndpoint("docker.io", { certsDir: certs })).base).toBe(
      "https://registry-1.docker.io",
    );
  });

  it("reads docker's certs.d layout: CAs, and a client certificate only with its key", async () => {
    const dir = join(certs, "127.0.0.1:5443");
    await mkdir(dir);
    await writeFile(join(dir, "ca.crt"), "CA1");
    await writeFile(join(dir, "extra.crt"), "CA2");
    const ep = await resolveEndpoint("127.0.0.1:5443", { certsDir: certs });
    expect(ep.base).toBe("https://127.0.0.1:5443");
    expect(ep.ca?.map(String)).toEqual(["CA1", "CA2"]);
    expect(ep.cert).toBeUndefined();
    await writeFile(join(dir, "client.cert"), "CERT");
    await expect(resolveEndpoint("127.0.0.1:5443", { certsDir: certs })).rejects.toThrow(
      /missing key client.key/,
    );
    await writeFile(join(dir, "client.key"), "KEY");
    const withClient = await resolveEndpoint("127.0.0.1:5443", { certsDir: certs });
    expect(String(withClient.cert)).toBe("CERT");
    expect(String(withClient.key)).toBe("KEY");
  });

  it("refuses host names that are not host[:port]", async () => {
    await expect(resolveEndpoint("a/b", { certsDir: certs })).rejects.toThrow(/invalid registry host/);
    await expect(resolveEndpoint("", { certsDir: certs })).rejects.toThrow(/invalid registry host/);
  });
});

describe("host helpers", () => {
  it("knows loopback hosts and strips ports", () => {
    expect(isLoopback("127.0.0.1:5000")).toBe(true);
    expect(isLoopback("127.1.2.3")).toBe(true);
    expect(isLoopback("[::1]:5000")).toBe(true);
    expect(isLoopback("localhost")).toBe(true);
    expect(isLoopback("10.0.0.1:5000")).toBe(false);
    expect(isLoopback("127.0.0.1.example.com")).toBe(false);
    expect(hostnameOf("[::1]:5000")).toBe("::1");
    expect(hostnameOf("a:5000")).toBe("a");
    expect(apiHost("docker.io")).toBe("registry-1.docker.io");
    expect(apiHost("ghcr.io")).toBe("ghcr.io");
  });
});
