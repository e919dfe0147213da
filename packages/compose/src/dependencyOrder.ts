/**
 * dependencyOrder: services in `depends_on` order (dependencies first), and the reverse for
 * stopping; ties keep names sorted so output is stable.
 *
 * @since 0.1.0
 */
import type { Project } from "./Project.ts";

/** dependencyOrder lists the named services (default all) so that every dependency comes first. */
export function dependencyOrder(project: Project, names?: readonly string[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (n: string): void => {
    if (seen.has(n) || !project.services[n]) return;
    seen.add(n);
    for (const d of Object.keys(project.services[n]?.depends_on ?? {}).sort()) visit(d);
    out.push(n);
  };
  for (const n of [...(names ?? Object.keys(project.services))].sort()) visit(n);
  return out;
}

/** withDependencies adds every transitive dependency of `names`. */
export function withDependencies(project: Project, names: readonly string[]): string[] {
  return dependencyOrder(project, names);
}
