import { describe, expect, expectTypeOf, it } from "vitest";
import type { ContainerCreateRequest, ContainerWaitResponse, ImageDeleteResponseItem } from "../src/index.ts";

describe("generated types", () => {
  it("type a realistic create body and wait answer", () => {
    const body: ContainerCreateRequest = {
      Image: "busybox",
      Cmd: ["echo", "hello"],
      Tty: false,
      HostConfig: { AutoRemove: true, Binds: ["/tmp:/tmp"], RestartPolicy: { Name: "no" } },
    };
    const wait: ContainerWaitResponse = { StatusCode: 0 };
    const del: ImageDeleteResponseItem = { Untagged: "busybox:latest" };
    expectTypeOf(body.Cmd).toEqualTypeOf<string[] | undefined>();
    expect([body.Image, wait.StatusCode, del.Untagged]).toEqual(["busybox", 0, "busybox:latest"]);
  });
});
