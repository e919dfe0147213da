// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Dockerfile and shell text under test uses ${VAR} syntax
import { describe, expect, it } from "vitest";
import {
  DockerfileError,
  EXPANDING_INSTRUCTIONS,
  type Instruction,
  parse,
  parseDuration,
  parseInstructions,
  parseMount,
  parseStages,
} from "../src/index.ts";

const one = (text: string): Instruction => {
  const [inst] = parseInstructions(parse(text));
  if (inst === undefined) throw new Error("no instruction");
  return inst;
};
const err = (text: string): DockerfileError => {
  try {
    parseStages(parse(text));
  } catch (e) {
    if (e instanceof DockerfileError) return e;
    throw e;
  }
  throw new Error("expected an error");
};

describe("typed instructions", () => {
  it("FROM with name and platform", () => {
    expect(one("FROM --platform=$BUILDPLATFORM golang:1.22 AS Build")).toMatchObject({
      kind: "FROM",
      image: "golang:1.22",
      name: "build",
      platform: "$BUILDPLATFORM",
    });
    expect(one("FROM alpine")).not.toHaveProperty("name");
    expect(err("FROM a b").message).toBe("Dockerfile:1: FROM requires either one or three arguments");
    expect(err("FROM a AS 1x").detail).toMatch(/invalid name for build stage/);
  });

  it("RUN shell and exec forms, mounts, network, heredocs", () => {
    expect(one("RUN echo $HOME")).toMatchObject({ kind: "RUN", cmdLine: ["echo $HOME"], prependShell: true });
    expect(one('RUN ["echo", "a"]')).toMatchObject({ cmdLine: ["echo", "a"], prependShell: false });
    const run = one(
      "RUN --mount=type=cache,target=/root/.cache,sharing=locked --mount=type=secret,id=tok --network=none <<EOF\nmake\nEOF",
    );
    expect(run).toMatchObject({
      kind: "RUN",
      network: "none",
      mounts: [
        { type: "cache", target: "/root/.cache", sharing: "locked", readOnly: false },
        { type: "secret", id: "tok", readOnly: true },
      ],
      heredocs: [{ name: "EOF", data: "make\n", chomp: false, expand: true }],
    });
    expect(err("FROM a\nRUN --network=bridge x").detail).toBe('invalid network mode "bridge"');
    expect(err("FROM a\nRUN --mount=type=cahce,target=/x x").detail).toBe(
      'unsupported mount type "cahce" (did you mean cache?)',
    );
  });

  it("COPY and ADD flags and heredoc sources", () => {
    expect(one("COPY --from=build --chown=1:2 --chmod=755 --link a b /dst/")).toMatchObject({
      kind: "COPY",
      sources: ["a", "b"],
      dest: "/dst/",
      from: "build",
      chown: "1:2",
      chmod: "755",
      link: true,
      heredocs: [],
    });
    expect(one("COPY <<-EOF /etc/x\n\thello\n\tEOF")).toMatchObject({
      sources: [],
      heredocs: [{ path: "EOF", data: "hello\n", expand: true }],
    });
    expect(one("ADD --checksum=sha256:abc --keep-git-dir=false https://x/y.tar /")).toMatchObject({
      kind: "ADD",
      checksum: "sha256:abc",
      keepGitDir: false,
      link: false,
    });
    expect(err("FROM a\nCOPY onlyone").detail).toMatch(/COPY requires at least two arguments/);
    expect(err("FROM a\nCOPY --form=x a b").detail).toBe("unknown flag: --form (did you mean from?)");
    expect(err("FROM a\nCOPY --link=maybe a b").detail).toBe(
      "expecting boolean value for flag --link, not: maybe",
    );
    expect(err("FROM a\nCOPY --from a b").detail).toBe("missing a value on flag: --from");
    expect(err("FROM a\nCOPY a <<EOF\nx\nEOF").detail).toBe("COPY cannot accept a heredoc as a destination");
  });

  it("CMD, ENTRYPOINT and SHELL", () => {
    expect(one("CMD echo hi")).toMatchObject({ kind: "CMD", cmd: ["echo hi"], prependShell: true });
    expect(one('ENTRYPOINT ["/bin/app", "-v"]')).toMatchObject({
      cmd: ["/bin/app", "-v"],
      prependShell: false,
    });
    expect(one('SHELL ["/bin/bash", "-c"]')).toMatchObject({ kind: "SHELL", shell: ["/bin/bash", "-c"] });
    expect(err("FROM a\nSHELL /bin/bash -c").detail).toBe("SHELL requires the arguments to be in JSON form");
  });

  it("ENV, LABEL and ARG key-value lists", () => {
    expect(one('ENV A=1 B="two words"')).toMatchObject({
      env: [
        { key: "A", value: "1", noDelim: false },
        { key: "B", value: '"two words"', noDelim: false },
      ],
    });
    expect(one("ENV PATH /usr/bin /bin")).toMatchObject({
      env: [{ key: "PATH", value: "/usr/bin /bin", noDelim: true }],
    });
    expect(one('LABEL a.b=c "d e"=f')).toMatchObject({
      labels: [
        { key: "a.b", value: "c" },
        { key: '"d e"', value: "f" },
      ],
    });
    expect(one("ARG A B=2 C=")).toMatchObject({
      args: [{ key: "A" }, { key: "B", value: "2" }, { key: "C", value: "" }],
    });
    expect(one("ARG A").kind === "ARG" && one("ARG A")).not.toHaveProperty("args.0.value");
    expect(err("ARG =x").detail).toBe("ARG names can not be blank");
  });

  it("EXPOSE, WORKDIR, USER, VOLUME, STOPSIGNAL, MAINTAINER", () => {
    expect(one("EXPOSE 8080 80/udp 443")).toMatchObject({ ports: ["443", "80/udp", "8080"] });
    expect(one("WORKDIR /app dir")).toMatchObject({ path: "/app dir" });
    expect(one("USER app:app")).toMatchObject({ user: "app:app" });
    expect(one('VOLUME ["/a", "/b"]')).toMatchObject({ volumes: ["/a", "/b"] });
    expect(one("VOLUME /a /b")).toMatchObject({ volumes: ["/a", "/b"] });
    expect(one("STOPSIGNAL SIGTERM")).toMatchObject({ signal: "SIGTERM" });
    expect(one("MAINTAINER Jane <j@x>")).toMatchObject({ maintainer: "Jane <j@x>" });
    expect(err("FROM a\nWORKDIR").detail).toBe("WORKDIR requires exactly one argument");
    expect(err("FROM a\nEXPOSE").detail).toBe("EXPOSE requires at least one argument");
    expect(err('FROM a\nVOLUME [""]').detail).toBe("VOLUME specified can not be an empty string");
  });

  it("HEALTHCHECK options and NONE", () => {
    expect(
      one("HEALTHCHECK --interval=30s --timeout=1m30s --start-period=5s --retries=3 CMD curl -f http://x/"),
    ).toMatchObject({
      health: {
        test: ["CMD-SHELL", "curl -f http://x/"],
        interval: 30e9,
        timeout: 90e9,
        startPeriod: 5e9,
        retries: 3,
      },
    });
    expect(one('HEALTHCHECK CMD ["/bin/check"]')).toMatchObject({ health: { test: ["CMD", "/bin/check"] } });
    expect(one("HEALTHCHECK NONE")).toMatchObject({ health: { test: ["NONE"] } });
    expect(err("FROM a\nHEALTHCHECK NONE x").detail).toBe("HEALTHCHECK NONE takes no arguments");
    expect(err("FROM a\nHEALTHCHECK CONNECT x").detail).toBe(
      'Unknown type "CONNECT" in HEALTHCHECK (try CMD)',
    );
    expect(err("FROM a\nHEALTHCHECK --interval=1us CMD x").detail).toBe(
      'Interval "interval" cannot be less than 1ms',
    );
    expect(err("FROM a\nHEALTHCHECK --retries=-1 CMD x").detail).toBe("--retries cannot be negative (-1)");
    expect(err("FROM a\nHEALTHCHECK CMD").detail).toBe("Missing command after HEALTHCHECK CMD");
  });

  it("ONBUILD keeps its trigger expression", () => {
    expect(one("ONBUILD RUN make install")).toMatchObject({
      kind: "ONBUILD",
      expression: "RUN make install",
    });
    expect(one("onbuild RUN <<EOF\nmake\nEOF")).toMatchObject({ expression: "RUN <<EOF\nmake\nEOF" });
    expect(err("FROM a\nONBUILD ONBUILD RUN x").detail).toBe(
      "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
    );
    expect(err("FROM a\nONBUILD FROM x").detail).toBe("FROM isn't allowed as an ONBUILD trigger");
  });
});

describe("stages", () => {
  it("groups commands under FROM and keeps meta ARGs", () => {
    const { metaArgs, stages } = parseStages(
      parse(
        "ARG VERSION=3.20\nFROM alpine:${VERSION} AS base\nRUN apk add x\nFROM base\nCOPY --from=base /a /b\n",
      ),
    );
    expect(metaArgs.map((a) => a.args)).toEqual([[{ key: "VERSION", value: "3.20" }]]);
    expect(stages.map((s) => [s.index, s.name, s.baseImage, s.commands.map((c) => c.kind)])).toEqual([
      [0, "base", "alpine:${VERSION}", ["RUN"]],
      [1, undefined, "base", ["COPY"]],
    ]);
  });

  it("rejects commands before FROM and duplicate stage names", () => {
    expect(err("RUN x\nFROM a").message).toBe("Dockerfile:1: no build stage in current context");
    expect(err("FROM a AS x\nFROM b AS X").detail).toMatch(/duplicate stage name "x"/);
  });
});

describe("error locations", () => {
  it("names file, line, column and source line, with a did-you-mean", () => {
    const text = "FROM alpine\n\n# comment\nWORKDIR /app\nCOPY . .\n\n  RUNN make\n";
    const e = err(text);
    expect(e).toBeInstanceOf(DockerfileError);
    expect(e._tag).toBe("InvalidArgument");
    expect(e.message).toBe("Dockerfile:7: unknown instruction: RUNN (did you mean RUN?)");
    expect([e.file, e.line, e.column, e.sourceLine]).toEqual(["Dockerfile", 7, 3, "  RUNN make"]);
  });

  it("uses the file name given and matches case in suggestions", () => {
    try {
      parseStages(parse("FROM a\ncopyy a b", { file: "build/Dockerfile.dev" }));
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toBe(
        "build/Dockerfile.dev:2: unknown instruction: copyy (did you mean copy?)",
      );
    }
    expect(err("FROM a\nFOOBAR x").detail).toBe("unknown instruction: FOOBAR");
  });

  it("reports the first line of a multi-line instruction", () => {
    const e = err("FROM a\nHEALTHCHECK \\\n  --retries=x \\\n  CMD true\n");
    expect([e.line, e.endLine]).toEqual([2, 4]);
  });
});

describe("helpers", () => {
  it("parseDuration reads Go durations", () => {
    expect(parseDuration("1h2m3.5s")).toBe(3723.5e9);
    expect(parseDuration("250ms")).toBe(250e6);
    expect(parseDuration("0")).toBe(0);
    expect(() => parseDuration("5")).toThrow();
    expect(() => parseDuration("5d")).toThrow(/unknown unit/);
  });

  it("parseMount defaults and validation", () => {
    expect(parseMount("target=/src")).toEqual({ type: "bind", target: "/src", readOnly: true });
    expect(parseMount("type=bind,src=.,dst=/x,rw")).toMatchObject({
      source: ".",
      target: "/x",
      readOnly: false,
    });
    expect(parseMount("type=tmpfs,target=/t,size=64m")).toMatchObject({ sizeLimit: 64 * 1024 * 1024 });
    expect(parseMount("type=cache,target=/c,mode=0755,uid=1000")).toMatchObject({ mode: 0o755, uid: 1000 });
    expect(parseMount("type=secret,id=$ID", (w) => w.replace("$ID", "tok"))).toMatchObject({ id: "tok" });
    expect(() => parseMount("type=bind,target=/x,mode=0644")).toThrow(
      'mode not allowed for "bind" type mounts',
    );
    expect(() => parseMount("type=secret")).toThrow("invalid secret mount. one of source, target required");
    expect(() => parseMount("type=cache,targte=/x")).toThrow(
      "unexpected key 'targte' in 'targte=/x' (did you mean target?)",
    );
  });

  it("lists the instructions that expand variables", () => {
    for (const k of [
      "ADD",
      "COPY",
      "ENV",
      "EXPOSE",
      "FROM",
      "LABEL",
      "STOPSIGNAL",
      "USER",
      "VOLUME",
      "WORKDIR",
    ]) {
      expect(EXPANDING_INSTRUCTIONS.has(k as Instruction["kind"])).toBe(true);
    }
    for (const k of ["RUN", "CMD", "ENTRYPOINT", "SHELL", "HEALTHCHECK", "MAINTAINER"]) {
      expect(EXPANDING_INSTRUCTIONS.has(k as Instruction["kind"])).toBe(false);
    }
  });
});
