/**
 * Project: the normalised Compose model (the shape `berth compose config` prints). Short
 * syntaxes are already expanded: ports and volumes in long form, environment and labels as
 * maps, depends_on as a map with conditions, networks as a map, durations as Go strings.
 *
 * @since 0.1.0
 */

/** PortConfig is a port in long syntax. */
export interface PortConfig {
  name?: string;
  mode: string;
  host_ip?: string;
  target: number;
  published?: string;
  protocol: string;
  app_protocol?: string;
}

/** VolumeMount is a service volume in long syntax. */
export interface VolumeMount {
  type: "volume" | "bind" | "tmpfs" | "npipe" | "cluster" | "image";
  source?: string;
  target: string;
  read_only?: boolean;
  consistency?: string;
  bind?: { propagation?: string; create_host_path?: boolean; selinux?: string };
  volume?: { nocopy?: boolean; subpath?: string };
  tmpfs?: { size?: number; mode?: number };
}

/** DependsOn is one depends_on entry. */
export interface DependsOn {
  condition: "service_started" | "service_healthy" | "service_completed_successfully";
  required: boolean;
  restart?: boolean;
}

/** ServiceNetwork is one entry of a service's networks map (null when no options). */
export interface ServiceNetwork {
  aliases?: string[];
  ipv4_address?: string;
  ipv6_address?: string;
  priority?: number;
}

/** Healthcheck with durations as Go duration strings. */
export interface Healthcheck {
  test?: string[];
  interval?: string;
  timeout?: string;
  start_period?: string;
  start_interval?: string;
  retries?: number;
  disable?: boolean;
}

/** BuildConfig is a service's build section with an absolute context. */
export interface BuildConfig {
  context: string;
  dockerfile?: string;
  args?: Record<string, string | null>;
  target?: string;
  labels?: Record<string, string>;
  [key: string]: unknown;
}

/** ServiceConfig is one service, normalised. Unknown (x-, rarely used) keys pass through. */
export interface ServiceConfig {
  name: string;
  image?: string;
  build?: BuildConfig;
  command?: string[] | null;
  entrypoint?: string[] | null;
  environment?: Record<string, string | null>;
  env_file?: Array<{ path: string; required: boolean; format?: string }>;
  ports?: PortConfig[];
  expose?: string[];
  volumes?: VolumeMount[];
  networks?: Record<string, ServiceNetwork | null>;
  depends_on?: Record<string, DependsOn>;
  healthcheck?: Healthcheck;
  restart?: string;
  deploy?: Record<string, unknown>;
  labels?: Record<string, string>;
  container_name?: string;
  hostname?: string;
  user?: string;
  working_dir?: string;
  init?: boolean;
  tmpfs?: string[];
  ulimits?: Record<string, { soft: number; hard: number } | number>;
  stop_signal?: string;
  stop_grace_period?: string;
  profiles?: string[];
  scale?: number;
  secrets?: Array<{ source: string; target?: string; uid?: string; gid?: string; mode?: number }>;
  configs?: Array<{ source: string; target?: string; uid?: string; gid?: string; mode?: number }>;
  [key: string]: unknown;
}

/** NetworkConfig is a top-level network with its resolved engine name. */
export interface NetworkConfig {
  name: string;
  driver?: string;
  external?: boolean;
  internal?: boolean;
  labels?: Record<string, string>;
  [key: string]: unknown;
}

/** VolumeConfig is a top-level volume with its resolved engine name. */
export interface VolumeConfig {
  name: string;
  driver?: string;
  driver_opts?: Record<string, string>;
  external?: boolean;
  labels?: Record<string, string>;
  [key: string]: unknown;
}

/** FileObject is a top-level secret or config (from a file, the environment or inline content). */
export interface FileObject {
  name: string;
  file?: string;
  environment?: string;
  content?: string;
  external?: boolean;
  [key: string]: unknown;
}

/** Project is a loaded, normalised Compose project. */
export interface Project {
  /** The project name (lower-case, `[a-z0-9_-]`). */
  name: string;
  /** The project directory (absolute). */
  workingDir: string;
  /** The compose files, absolute, in load order. */
  configFiles: string[];
  /** Enabled services, by name. */
  services: Record<string, ServiceConfig>;
  /** Services disabled by profiles. */
  disabledServices: Record<string, ServiceConfig>;
  networks: Record<string, NetworkConfig>;
  volumes: Record<string, VolumeConfig>;
  secrets: Record<string, FileObject>;
  configs: Record<string, FileObject>;
  /** The variables used for interpolation (.env merged under the process environment). */
  environment: Record<string, string>;
  /** Top-level x- extensions. */
  extensions: Record<string, unknown>;
}
