/**
 * Docker image references, parsed and normalised exactly as docker's
 * `github.com/distribution/reference` does (`ParseNormalizedNamed`, `TagNameOnly`,
 * `FamiliarName`, `FamiliarString`, `ParseDockerRef`, `ParseAnyReference`, `FamiliarMatch`),
 * including its error messages, so `berth` and `berthd` reject and print names as docker does:
 *
 * ```
 * busybox            -> docker.io/library/busybox          (familiar: busybox)
 * busybox:1.36       -> docker.io/library/busybox:1.36
 * localhost:5000/a/b -> localhost:5000/a/b
 * [::1]:5000/x:t     -> [::1]:5000/x:t
 * Busybox            -> invalid reference format: repository name (library/Busybox) must be lowercase
 * ```
 *
 * All failures throw InvalidArgument (with a stable `code`).
 *
 * @since 0.1.0
 */
import { InvalidArgument } from "@berth/errdefs";
import { type Digest, isAlgorithm } from "./Digest.ts";

/**
 * Reference is a parsed image reference. `domain` is the registry host (with port) and is
 * `docker.io` for Docker Hub after normalisation; `path` is the repository path
 * (`library/busybox`). `tag` and `digest` are both optional and may both be present.
 */
export interface Reference {
  readonly domain: string;
  readonly path: string;
  readonly tag?: string;
  readonly digest?: Digest;
}

/** DEFAULT_DOMAIN is Docker Hub's canonical domain used in normalised names. */
export const DEFAULT_DOMAIN = "docker.io";
/** LEGACY_DEFAULT_DOMAIN is the old Docker Hub name, canonicalised to {@link DEFAULT_DOMAIN}. */
export const LEGACY_DEFAULT_DOMAIN = "index.docker.io";
/** OFFICIAL_REPO_PREFIX is the Docker Hub namespace of official images. */
export const OFFICIAL_REPO_PREFIX = "library/";
/** DEFAULT_TAG is the tag {@link withDefaultTag} adds. */
export const DEFAULT_TAG = "latest";
/** REPOSITORY_NAME_TOTAL_LENGTH_MAX bounds the repository path (not counting the domain). */
export const REPOSITORY_NAME_TOTAL_LENGTH_MAX = 255;

// --- grammar, transcribed from distribution/reference regexp.go ---
const alphanumeric = "[a-z0-9]+";
const separator = "(?:[._]|__|[-]+)";
const domainNameComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const optionalPort = "(?::[0-9]+)?";
const tagPat = "[\\w][\\w.-]{0,127}";
const digestPat = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9A-Fa-f]{32,}";
const identifier = "([a-f0-9]{64})";
const ipv6address = "\\[(?:[a-fA-F0-9:]+)\\]";
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const host = `(?:${domainName}|${ipv6address})`;
const domainAndPort = host + optionalPort;
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const namePat = `(?:${domainAndPort}/)?${remoteName}`;

const referenceRegexp = new RegExp(`^(${namePat})(?::(${tagPat}))?(?:@(${digestPat}))?$`);
const anchoredNameRegexp = new RegExp(`^(?:(${domainAndPort})/)?(${remoteName})$`);
const anchoredTagRegexp = new RegExp(`^${tagPat}$`);
const anchoredDigestRegexp = new RegExp(`^${digestPat}$`);
const anchoredIdentifierRegexp = new RegExp(`^${identifier}$`);
/** go-digest's DigestRegexpAnchored, used only to choose between two of its error messages. */
const goDigestRegexp = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/**
 * Inputs longer than this are rejected before any regular expression runs. Go's RE2 is linear;
 * JavaScript's backtracking engine is not, so a bound keeps hostile input cheap. No valid
 * reference comes near it (name 255 + host + tag 128 + sha512 digest).
 */
const MAX_REFERENCE_LENGTH = 4096;

function fail(message: string, code: string): never {
  throw new InvalidArgument(message, { code });
}

const errInvalidFormat = () => fail("invalid reference format", "ERR_REFERENCE_INVALID_FORMAT");
const errNameEmpty = () =>
  fail("repository name must have at least one component", "ERR_REFERENCE_NAME_EMPTY");
const errUppercase = () => fail("repository name must be lowercase", "ERR_REFERENCE_NAME_UPPERCASE");
const errTooLong = () =>
  fail(
    `repository name must not be more than ${REPOSITORY_NAME_TOTAL_LENGTH_MAX} characters`,
    "ERR_REFERENCE_NAME_TOO_LONG",
  );

/**
 * Validate a digest inside a reference as go-digest's `Parse` does (with sha256 and sha512
 * registered), producing its messages.
 */
function parseReferenceDigest(s: string): Digest {
  const i = s.indexOf(":");
  if (i <= 0 || i + 1 === s.length) fail("invalid checksum digest format", "ERR_DIGEST_INVALID_FORMAT");
  const algorithm = s.slice(0, i);
  const encoded = s.slice(i + 1);
  if (!isAlgorithm(algorithm)) {
    if (!goDigestRegexp.test(s)) fail("invalid checksum digest format", "ERR_DIGEST_INVALID_FORMAT");
    fail("unsupported digest algorithm", "ERR_DIGEST_UNSUPPORTED");
  }
  const size = algorithm === "sha256" ? 64 : 128;
  if (encoded.length !== size) fail("invalid checksum digest length", "ERR_DIGEST_INVALID_LENGTH");
  if (!/^[a-f0-9]+$/.test(encoded)) fail("invalid checksum digest format", "ERR_DIGEST_INVALID_FORMAT");
  return s as Digest;
}

function make(domain: string, path: string, tag: string | undefined, digest: Digest | undefined): Reference {
  const ref: { domain: string; path: string; tag?: string; digest?: Digest } = { domain, path };
  if (tag !== undefined && tag !== "") ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/**
 * parseReference parses `s` without normalisation (distribution's `Parse`): `busybox` stays
 * domain "" path "busybox". Most callers want {@link parseNormalizedNamed}.
 */
export function parseReference(s: string): Reference {
  if (s === "") errNameEmpty();
  if (s.length > MAX_REFERENCE_LENGTH) errInvalidFormat();
  const m = referenceRegexp.exec(s);
  if (m === null) {
    const lower = s.toLowerCase();
    if (lower !== s && referenceRegexp.test(lower)) errUppercase();
    return errInvalidFormat();
  }
  const name = m[1]!;
  const nm = anchoredNameRegexp.exec(name);
  const domain = nm?.[1] ?? "";
  const path = nm ? nm[2]! : name;
  if (path.length > REPOSITORY_NAME_TOTAL_LENGTH_MAX) errTooLong();
  const digest = m[3] !== undefined && m[3] !== "" ? parseReferenceDigest(m[3]) : undefined;
  return make(domain, path, m[2], digest);
}

/** splitDockerDomain splits a familiar name into domain and remainder, as docker does. */
function splitDockerDomain(name: string): [string, string] {
  const slash = name.indexOf("/");
  if (slash < 0) return [DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX + name];
  const maybeDomain = name.slice(0, slash);
  const maybeRemote = name.slice(slash + 1);
  let domain: string;
  let remote: string;
  if (maybeDomain === "localhost") {
    [domain, remote] = [maybeDomain, maybeRemote];
  } else if (maybeDomain === LEGACY_DEFAULT_DOMAIN) {
    [domain, remote] = [DEFAULT_DOMAIN, maybeRemote];
  } else if (maybeDomain.includes(".") || maybeDomain.includes(":")) {
    [domain, remote] = [maybeDomain, maybeRemote];
  } else if (maybeDomain.toLowerCase() !== maybeDomain) {
    // Namespaces cannot be upper-case, so an upper-case first element must be a host.
    [domain, remote] = [maybeDomain, maybeRemote];
  } else {
    [domain, remote] = [DEFAULT_DOMAIN, name];
  }
  if (domain === DEFAULT_DOMAIN && !remote.includes("/")) remote = OFFICIAL_REPO_PREFIX + remote;
  return [domain, remote];
}

/**
 * parseNormalizedNamed parses a name as typed by a user (`busybox`, `user/app:1`,
 * `localhost:5000/a/b@sha256:...`) into a fully qualified {@link Reference}, exactly as
 * docker's `reference.ParseNormalizedNamed`. It does not add a default tag
 * (see {@link withDefaultTag}). A bare 64-hex string is refused, since it would be ambiguous
 * with an image ID.
 */
export function parseNormalizedNamed(s: string): Reference {
  if (s.length > MAX_REFERENCE_LENGTH) errInvalidFormat();
  if (anchoredIdentifierRegexp.test(s)) {
    fail(
      `invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`,
      "ERR_REFERENCE_HEX_NAME",
    );
  }
  const [domain, remainder] = splitDockerDomain(s);
  const colon = remainder.indexOf(":");
  const remote = colon > -1 ? remainder.slice(0, colon) : remainder;
  if (remote.toLowerCase() !== remote) {
    fail(
      `invalid reference format: repository name (${remote}) must be lowercase`,
      "ERR_REFERENCE_NAME_UPPERCASE",
    );
  }
  return parseReference(`${domain}/${remainder}`);
}

/**
 * parseNamed parses a reference that must already be in canonical form
 * (`docker.io/library/foo`, not `foo`); otherwise throws `repository name must be canonical`.
 */
export function parseNamed(s: string): Reference {
  const ref = parseNormalizedNamed(s);
  if (formatReference(ref) !== s) fail("repository name must be canonical", "ERR_REFERENCE_NOT_CANONICAL");
  return ref;
}

/**
 * parseAnyReference parses a possible image ID (64 hex, returned as `sha256:<hex>`), a digest
 * (returned as is) or a familiar name (returned normalised), like docker's
 * `ParseAnyReference`. Tell the cases apart with `typeof result === "string"`.
 */
export function parseAnyReference(s: string): Reference | Digest {
  if (anchoredIdentifierRegexp.test(s)) return `sha256:${s}`;
  if (/^sha(256|512):/.test(s)) {
    try {
      return parseReferenceDigest(s);
    } catch {
      // not a digest: fall through to name parsing, as docker does
    }
  }
  return parseNormalizedNamed(s);
}

/**
 * parseDockerRef normalises like containerd/docker's `ParseDockerRef`: the default tag is
 * added, and when both a tag and a digest are present only the digest is kept.
 */
export function parseDockerRef(s: string): Reference {
  const ref = parseNormalizedNamed(s);
  if (ref.tag !== undefined && ref.digest !== undefined)
    return make(ref.domain, ref.path, undefined, ref.digest);
  return withDefaultTag(ref);
}

/**
 * parseTagTarget parses the target of `docker tag`, `docker commit` or `build -t`: a name
 * with an optional tag (default `latest`), never a digest
 * (`refusing to create a tag with a digest reference`).
 */
export function parseTagTarget(s: string): Reference {
  const ref = parseNormalizedNamed(s);
  if (ref.digest !== undefined) {
    fail("refusing to create a tag with a digest reference", "ERR_REFERENCE_TAG_DIGEST");
  }
  return withDefaultTag(ref);
}

/** isNameOnly tells whether `ref` has neither tag nor digest. */
export function isNameOnly(ref: Reference): boolean {
  return ref.tag === undefined && ref.digest === undefined;
}

/** withDefaultTag adds the tag `latest` when `ref` has neither tag nor digest (docker's `TagNameOnly`). */
export function withDefaultTag(ref: Reference): Reference {
  return isNameOnly(ref) ? make(ref.domain, ref.path, DEFAULT_TAG, undefined) : ref;
}

/** isValidTag tells whether `tag` is a valid tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`. */
export function isValidTag(tag: string): boolean {
  return anchoredTagRegexp.test(tag);
}

/** withTag returns `ref` with its tag set to `tag` (keeping any digest); throws `invalid tag format`. */
export function withTag(ref: Reference, tag: string): Reference {
  if (!isValidTag(tag)) fail("invalid tag format", "ERR_REFERENCE_INVALID_TAG");
  return make(ref.domain, ref.path, tag, ref.digest);
}

/** withDigest returns `ref` with its digest set (keeping any tag); throws `invalid digest format`. */
export function withDigest(ref: Reference, digest: string): Reference {
  if (!anchoredDigestRegexp.test(digest)) fail("invalid digest format", "ERR_REFERENCE_INVALID_DIGEST");
  return make(ref.domain, ref.path, ref.tag, parseReferenceDigest(digest));
}

/**
 * withTagOrDigest applies the `tag` query parameter of `POST /images/create` as dockerd does:
 * a value that parses as a digest replaces tag and digest with that digest, anything else is
 * set as the tag.
 */
export function withTagOrDigest(ref: Reference, tagOrDigest: string): Reference {
  if (/^sha(256|512):/.test(tagOrDigest)) {
    try {
      return make(ref.domain, ref.path, undefined, parseReferenceDigest(tagOrDigest));
    } catch {
      // not a digest; docker then tries it as a tag
    }
  }
  return withTag(ref, tagOrDigest);
}

/** trimNamed drops the tag and digest, leaving the repository (docker's `TrimNamed`). */
export function trimNamed(ref: Reference): Reference {
  return make(ref.domain, ref.path, undefined, undefined);
}

/** fullName returns `domain/path` (`docker.io/library/busybox`), docker's `Name()`. */
export function fullName(ref: Reference): string {
  return ref.domain === "" ? ref.path : `${ref.domain}/${ref.path}`;
}

/** formatReference returns the full string, e.g. `docker.io/library/busybox:latest@sha256:...`. */
export function formatReference(ref: Reference): string {
  let s = fullName(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/**
 * familiarName returns the name as docker shows it: `docker.io/` and a single-level
 * `library/` are dropped (`busybox`, `user/app`, `localhost:5000/a/b`).
 */
export function familiarName(ref: Reference): string {
  if (ref.domain !== DEFAULT_DOMAIN) return fullName(ref);
  if (ref.path.startsWith(OFFICIAL_REPO_PREFIX)) {
    const rest = ref.path.slice(OFFICIAL_REPO_PREFIX.length);
    if (!rest.includes("/")) return rest;
  }
  return ref.path;
}

/** familiarString returns the familiar name plus tag and digest (`busybox:latest`). */
export function familiarString(ref: Reference): string {
  let s = familiarName(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/**
 * parseRepositoryTag splits `repo[:tag]` or `repo@digest` without validating, like docker's
 * legacy `parsers.ParseRepositoryTag` (a `:` followed by a `/` belongs to a host port).
 * Returns an empty tag when there is none; a digest is returned in `tag`.
 */
export function parseRepositoryTag(s: string): { repository: string; tag: string } {
  const at = s.indexOf("@");
  if (at >= 0) {
    const parts = s.split("@");
    return { repository: parts[0]!, tag: parts[1]! };
  }
  const colon = s.lastIndexOf(":");
  if (colon < 0) return { repository: s, tag: "" };
  const tag = s.slice(colon + 1);
  if (!tag.includes("/")) return { repository: s.slice(0, colon), tag };
  return { repository: s, tag: "" };
}

/** referencesEqual tells whether two references denote the same string. */
export function referencesEqual(a: Reference, b: Reference): boolean {
  return formatReference(a) === formatReference(b);
}

/**
 * familiarMatch reports whether `ref` matches a Go `path.Match` pattern, tried against its
 * familiar string and then its familiar name (docker's `FamiliarMatch`, used by
 * `docker images REPO` and `--filter reference=`). Throws `syntax error in pattern` on a bad
 * pattern.
 */
export function familiarMatch(pattern: string, ref: Reference): boolean {
  return pathMatch(pattern, familiarString(ref)) || pathMatch(pattern, familiarName(ref));
}

/**
 * pathMatch implements Go's `path.Match`: `*` matches any run of non-`/` characters, `?` one
 * non-`/` character, `[...]` a class (`^` negates, `a-z` ranges), `\\` escapes.
 */
export function pathMatch(pattern: string, name: string): boolean {
  // Compile to a regular expression once; Go checks the whole pattern's syntax eagerly.
  let re = "^";
  let i = 0;
  const bad = () => fail("syntax error in pattern", "ERR_BAD_PATTERN");
  const escapeRe = (c: string) => c.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === "*") {
      re += "[^/]*";
      i++;
    } else if (c === "?") {
      re += "[^/]";
      i++;
    } else if (c === "\\") {
      if (i + 1 >= pattern.length) bad();
      re += escapeRe(pattern[i + 1]!);
      i += 2;
    } else if (c === "[") {
      i++;
      let cls = "[";
      if (pattern[i] === "^") {
        cls += "^";
        i++;
      }
      let count = 0;
      for (;;) {
        if (i >= pattern.length) bad();
        if (pattern[i] === "]" && count > 0) {
          i++;
          break;
        }
        let lo = pattern[i]!;
        if (lo === "-" || lo === "]") bad();
        if (lo === "\\") {
          i++;
          if (i >= pattern.length) bad();
          lo = pattern[i]!;
        }
        i++;
        let item = escapeRe(lo);
        if (pattern[i] === "-") {
          i++;
          if (i >= pattern.length) bad();
          let hi = pattern[i]!;
          if (hi === "-" || hi === "]") bad();
          if (hi === "\\") {
            i++;
            if (i >= pattern.length) bad();
            hi = pattern[i]!;
          }
          i++;
          if (hi < lo) bad();
          item += `-${escapeRe(hi)}`;
        }
        cls += item;
        count++;
      }
      // Unlike `*` and `?`, a class in Go's path.Match may match "/".
      re += `${cls}]`;
    } else {
      re += escapeRe(c);
      i++;
    }
  }
  re += "$";
  return new RegExp(re, "s").test(name);
}
