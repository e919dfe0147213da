/**
 * @berth/compose: the Compose Specification loader (YAML, interpolation, `.env`, multiple
 * files, profiles, extends, include), the normalised project model, and an executor that
 * converges a project onto any Docker Engine API endpoint through @berth/client.
 *
 * @since 0.1.0
 */

export * from "./Compose.ts";
export * from "./configHash.ts";
export * from "./containerSpec.ts";
export * from "./dependencyOrder.ts";
export * from "./duration.ts";
export * from "./EngineObjects.ts";
export * from "./interpolate.ts";
export * from "./labels.ts";
export * from "./loadProject.ts";
export * from "./merge.ts";
export * from "./normalizeService.ts";
export type * from "./Project.ts";
export * from "./parseDotEnv.ts";
export * from "./parsePorts.ts";
export * from "./parseYaml.ts";
export * from "./projectToYaml.ts";
export * from "./shellSplit.ts";
export * from "./validateSchema.ts";
