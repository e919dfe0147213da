import { describe, expect, it } from "vitest";
import { Conflict, exitCodeOf, fromStatus, isKind, NotFound, statusOf } from "../src/index.ts";

describe("errdefs", () => {
  it("maps kinds to HTTP status and exit code", () => {
    const err = new NotFound("no such image: busybox:latest", { code: "ERR_IMAGE_NOT_FOUND" });
    expect(err._tag).toBe("NotFound");
    expect(err.name).toBe("NotFound");
    expect(err.status).toBe(404);
    expect(statusOf(err)).toBe(404);
    expect(exitCodeOf(err)).toBe(125);
    expect(statusOf(new Error("boom"))).toBe(500);
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toBe("no such image: busybox:latest");
  });

  it("round-trips through an HTTP status", () => {
    const err = fromStatus(409, "name in use");
    expect(isKind(err, "Conflict")).toBe(true);
    expect(err).toBeInstanceOf(Conflict);
    expect(isKind(fromStatus(418, "x"), "Internal")).toBe(true);
  });

  it("keeps the cause", () => {
    const cause = new Error("EACCES");
    expect(new NotFound("x", { cause }).cause).toBe(cause);
  });
});
