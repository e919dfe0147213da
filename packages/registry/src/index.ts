/**
 * @berth/registry: an OCI Distribution client usable from Node without a daemon. Pull images
 * from a registry into an `@berth/image` store and push them back, with docker's auth
 * (basic, bearer token flow, `~/.docker/config.json`, credential helpers), TLS per registry
 * (`certs.d`), verified blobs, retries and docker-style progress events.
 *
 * @since 0.1.0
 */
export { type Challenge, parseChallenges } from "./Challenge.ts";
export {
  authKey,
  type Credential,
  type CredentialStore,
  DOCKER_HUB_AUTH_KEY,
  DockerConfig,
  type DockerConfigOptions,
  decodeAuthEntry,
  StaticCredentials,
} from "./Credentials.ts";
export {
  apiHost,
  DEFAULT_CERTS_DIR,
  type Endpoint,
  hostnameOf,
  isLoopback,
  resolveEndpoint,
} from "./Hosts.ts";
export { type ProgressEvent, type ProgressHandler, shortDigest } from "./Progress.ts";
export {
  DEFAULT_PLATFORM,
  MAX_CONFIG_BYTES,
  type PullOptions,
  type PullReport,
  parsePullReference,
  pullImage,
  type StoredLayer,
  selectManifest,
} from "./pullImage.ts";
export { defaultMountCandidates, type PushOptions, type PushReport, pushImage } from "./pushImage.ts";
export {
  type FetchedManifest,
  isRetryable,
  MANIFEST_ACCEPT,
  MAX_MANIFEST_BYTES,
  type ManifestHead,
  RegistryClient,
  type RegistryClientOptions,
  type Repository,
  readLimited,
  type UploadOptions,
} from "./RegistryClient.ts";
export { describeErrors, parseErrorBody, type RegistryErrorEntry, registryError } from "./RegistryError.ts";
