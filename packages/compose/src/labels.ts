/**
 * labels: the `com.docker.compose.*` labels docker compose puts on containers, networks and
 * volumes, so that compose tooling recognises what Berth created and the reverse.
 *
 * @since 0.1.0
 */

/** Label names, as docker compose spells them. */
export const Label = {
  project: "com.docker.compose.project",
  service: "com.docker.compose.service",
  number: "com.docker.compose.container-number",
  configHash: "com.docker.compose.config-hash",
  oneoff: "com.docker.compose.oneoff",
  workingDir: "com.docker.compose.project.working_dir",
  configFiles: "com.docker.compose.project.config_files",
  environmentFile: "com.docker.compose.project.environment_file",
  version: "com.docker.compose.version",
  dependsOn: "com.docker.compose.depends_on",
  image: "com.docker.compose.image",
  network: "com.docker.compose.network",
  volume: "com.docker.compose.volume",
} as const;

/** COMPOSE_VERSION is the value of com.docker.compose.version on objects Berth creates. */
export const COMPOSE_VERSION = "2.30.0";
