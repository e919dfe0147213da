import { InvalidArgument } from "@berth/errdefs";
import { type Filters, matchLabels, validateFilterKeys } from "./filters.ts";

/** EventType is docker's `Type` of an event (the object kind it is about). */
export type EventType =
  | "container"
  | "image"
  | "volume"
  | "network"
  | "daemon"
  | "plugin"
  | "builder"
  | "service"
  | "node"
  | "secret"
  | "config";

/** EventActor is docker's `Actor`: the object's ID and string attributes (names, labels, exit codes). */
export interface EventActor {
  ID: string;
  Attributes: Record<string, string>;
}

/**
 * EventMessage is one event as docker's `GET /events` sends it, in docker's field order. `status`,
 * `id` and `from` are the legacy fields docker still fills for container (all three) and image
 * (`status`, `id`) events. `timeNano` is a bigint: nanoseconds since the epoch do not fit a double.
 */
export interface EventMessage {
  status?: string;
  id?: string;
  from?: string;
  Type: EventType;
  Action: string;
  Actor: EventActor;
  scope: "local" | "swarm";
  time: number;
  timeNano: bigint;
}

/** EventInput is what a caller hands to {@link Events.emit}; the bus adds times and legacy fields. */
export interface EventInput {
  type: EventType;
  action: string;
  /** The object's ID (container ID, image ID, volume name, network ID). */
  id: string;
  attributes?: Record<string, string>;
}

/** EventStreamOptions select events as docker's `GET /events` query does. */
export interface EventStreamOptions {
  /** Nanoseconds since the epoch; past events from this time on are replayed from the ring. */
  since?: bigint;
  /** Nanoseconds since the epoch; the stream ends once this time has passed. */
  until?: bigint;
  filters?: Filters;
  signal?: AbortSignal;
}

/** EVENTS_RING_SIZE is how many past events the bus keeps for `since` (docker keeps a bounded buffer too). */
export const EVENTS_RING_SIZE = 1024;

/**
 * MAX_PENDING_EVENTS bounds what one stream buffers for a subscriber that does not keep up (a
 * stalled `docker events` client must not grow the daemon's memory without limit): past it, the
 * stream ends.
 */
export const MAX_PENDING_EVENTS = 4096;

/** EVENT_FILTER_KEYS are the filters docker's `GET /events` accepts. */
export const EVENT_FILTER_KEYS = [
  "config",
  "container",
  "daemon",
  "event",
  "image",
  "label",
  "network",
  "node",
  "plugin",
  "scope",
  "secret",
  "service",
  "type",
  "volume",
] as const;

type Listener = (msg: EventMessage) => void;

/**
 * Events is the engine's event bus (`engine.events`): every service emits docker-shaped events
 * into it; it keeps the last {@link EVENTS_RING_SIZE} in a ring for `since` queries and fans them
 * out to live subscribers. Times strictly increase, so `since`/`until` bounds are exact.
 * Subscribers run synchronously inside `emit` and must not throw (a throwing one is ignored).
 */
export class Events {
  readonly #ring: EventMessage[] = [];
  readonly #capacity: number;
  readonly #listeners = new Set<Listener>();
  readonly #now: () => bigint;
  #last = 0n;

  constructor(opts: { capacity?: number; now?: () => bigint } = {}) {
    this.#capacity = opts.capacity ?? EVENTS_RING_SIZE;
    this.#now = opts.now ?? nowNano;
  }

  /** emit records an event, stamps it with the current time and hands it to every subscriber. */
  emit(input: EventInput): EventMessage {
    let t = this.#now();
    if (t <= this.#last) t = this.#last + 1n;
    this.#last = t;
    const attributes = sortedAttributes(input.attributes ?? {});
    const msg: EventMessage = {
      Type: input.type,
      Action: input.action,
      Actor: { ID: input.id, Attributes: attributes },
      scope: "local",
      time: Number(t / 1_000_000_000n),
      timeNano: t,
    };
    const legacy: Partial<EventMessage> = {};
    if (input.type === "container") {
      legacy.status = input.action;
      legacy.id = input.id;
      if (attributes.image !== undefined) legacy.from = attributes.image;
    } else if (input.type === "image") {
      legacy.status = input.action;
      legacy.id = input.id;
    }
    const full = { ...legacy, ...msg } as EventMessage;
    this.#ring.push(full);
    if (this.#ring.length > this.#capacity) this.#ring.splice(0, this.#ring.length - this.#capacity);
    for (const fn of [...this.#listeners]) {
      try {
        fn(full);
      } catch {
        // a subscriber's failure is its own
      }
    }
    return full;
  }

  /** subscribe calls `fn` for every event from now on; the returned function unsubscribes. */
  subscribe(fn: (msg: EventMessage) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** listeners is the number of live subscribers (docker's `NEventsListener`). */
  get listeners(): number {
    return this.#listeners.size;
  }

  /**
   * history returns the remembered events with `since <= timeNano <= until` that match `filters`,
   * oldest first (docker's loadBufferedEvents).
   */
  history(opts: { since?: bigint; until?: bigint; filters?: Filters } = {}): EventMessage[] {
    const f = opts.filters ?? {};
    return this.#ring.filter(
      (m) =>
        (opts.since === undefined || m.timeNano >= opts.since) &&
        (opts.until === undefined || m.timeNano <= opts.until) &&
        matchEvent(m, f),
    );
  }

  /**
   * stream yields docker's `GET /events` sequence: with `since` or `until`, the matching past events
   * first; then, unless `until` is already past, live events until `until` passes or `signal`
   * aborts. Without `until` it only ends through `signal`.
   */
  async *stream(opts: EventStreamOptions = {}): AsyncGenerator<EventMessage, void, undefined> {
    const filters = opts.filters ?? {};
    validateEventFilters(filters);
    const queue: EventMessage[] = [];
    let wake: (() => void) | undefined;
    let ended = false;
    const unsubscribe = this.subscribe((m) => {
      if (ended || !matchEvent(m, filters)) return;
      if (queue.length >= MAX_PENDING_EVENTS) {
        ended = true;
        queue.length = 0;
      } else queue.push(m);
      wake?.();
    });
    const past =
      opts.since !== undefined || opts.until !== undefined
        ? this.history({
            ...(opts.since !== undefined ? { since: opts.since } : {}),
            ...(opts.until !== undefined ? { until: opts.until } : {}),
            filters,
          })
        : [];
    const lastPast = past.at(-1)?.timeNano ?? -1n;
    let timer: NodeJS.Timeout | undefined;
    const end = () => {
      ended = true;
      wake?.();
    };
    opts.signal?.addEventListener("abort", end, { once: true });
    try {
      for (const m of past) yield m;
      if (opts.until !== undefined) {
        const ms = Number((opts.until - this.#now()) / 1_000_000n);
        if (ms < 0) return;
        timer = setTimeout(end, ms + 1);
      }
      while (!ended && !opts.signal?.aborted) {
        const m = queue.shift();
        if (m) {
          if (m.timeNano <= lastPast) continue;
          if (opts.until !== undefined && m.timeNano > opts.until) return;
          yield m;
          continue;
        }
        await new Promise<void>((r) => {
          wake = r;
        });
        wake = undefined;
      }
    } finally {
      unsubscribe();
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener("abort", end);
    }
  }
}

/** nowNano is the wall clock in nanoseconds, with sub-millisecond precision from the monotonic clock. */
function nowNano(): bigint {
  const ms = BigInt(Date.now());
  const sub = process.hrtime.bigint() % 1_000_000n;
  return ms * 1_000_000n + sub;
}

function sortedAttributes(a: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(a).sort()) out[k] = a[k]!;
  return out;
}

/** validateEventFilters throws docker's error for a filter key `GET /events` does not know. */
export function validateEventFilters(filters: Filters): void {
  validateFilterKeys(filters, EVENT_FILTER_KEYS);
  for (const t of filters.type ?? []) {
    if (
      ![
        "container",
        "image",
        "volume",
        "network",
        "daemon",
        "plugin",
        "builder",
        "service",
        "node",
        "secret",
        "config",
      ].includes(t)
    )
      throw new InvalidArgument(`invalid filter 'type=${t}'`);
  }
}

function exact(values: string[] | undefined, v: string | undefined): boolean {
  return !values || values.length === 0 || (v !== undefined && values.includes(v));
}

function fuzzy(values: string[] | undefined, v: string | undefined): boolean {
  if (!values || values.length === 0) return true;
  if (v === undefined || v === "") return false;
  return values.some((w) => v === w || v.startsWith(w));
}

/** stripTag drops a `:tag` from an image reference (not a registry port). */
function stripTag(ref: string): string {
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  return colon > slash && !ref.startsWith("sha256:") ? ref.slice(0, colon) : ref;
}

/**
 * matchEvent applies docker's event filters (daemon/events/filter.go): `type`, `event` (prefix
 * `health_status`/`exec_create`/`exec_start` match their `: detail` forms), `scope`; `container`,
 * `volume`, `network`, `daemon` match the actor's ID prefix or its name; `image` the image's ID or
 * name with or without tag; `label` the actor's attributes. Keys are ANDed, values ORed.
 */
export function matchEvent(m: EventMessage, f: Filters): boolean {
  const attrs = m.Actor.Attributes;
  const ev = f.event;
  if (ev && ev.length > 0) {
    const fuzzyEvent = ev.some((e) => e === "health_status" || e === "exec_create" || e === "exec_start");
    const base = m.Action.split(":")[0];
    if (!(ev.includes(m.Action) || (fuzzyEvent && base !== undefined && ev.includes(base)))) return false;
  }
  if (!exact(f.type, m.Type)) return false;
  if (!exact(f.scope, m.scope)) return false;
  for (const key of ["container", "volume", "network", "daemon", "plugin", "service", "node"] as const) {
    const want = f[key];
    if (!want || want.length === 0) continue;
    if (m.Type !== key) return false;
    if (!fuzzy(want, m.Actor.ID) && !fuzzy(want, attrs.name)) return false;
  }
  const img = f.image;
  if (img && img.length > 0) {
    const name = m.Type === "image" ? attrs.name : attrs.image;
    const cands = [m.Actor.ID, name, stripTag(m.Actor.ID), name !== undefined ? stripTag(name) : undefined];
    if (!cands.some((c) => c !== undefined && img.includes(c))) return false;
  }
  if (f.label && f.label.length > 0 && !matchLabels(f.label, attrs)) return false;
  return true;
}

/** encodeEvent renders an event as one line of docker's `GET /events` stream (with its newline). */
export function encodeEvent(m: EventMessage): string {
  const { timeNano, ...rest } = m;
  const json = JSON.stringify({ ...rest, timeNano: 0 });
  return `${json.slice(0, json.lastIndexOf(":0}"))}:${timeNano.toString()}}\n`;
}

/** decodeEvent parses one line of docker's events stream, keeping `timeNano` exact. */
export function decodeEvent(line: string): EventMessage {
  const m = JSON.parse(line) as Omit<EventMessage, "timeNano"> & { timeNano?: number };
  const exactNano = /"timeNano":(\d+)/.exec(line)?.[1];
  return {
    ...m,
    timeNano: exactNano !== undefined ? BigInt(exactNano) : BigInt(m.time) * 1_000_000_000n,
  } as EventMessage;
}

/** ContainerEvent builds a container event: the container's labels plus `image` and `name`. */
export function ContainerEvent(
  container: { id: string; name: string; image: string; labels?: Record<string, string> | null },
  action: string,
  extra: Record<string, string> = {},
): EventInput {
  return {
    type: "container",
    action,
    id: container.id,
    attributes: { ...(container.labels ?? {}), image: container.image, name: container.name, ...extra },
  };
}

/**
 * NetworkEvent builds a network event (`create`, `connect`, `disconnect`, `destroy`, `remove`):
 * attributes `name` and `type` (the driver), plus `container` for connect and disconnect.
 */
export function NetworkEvent(
  action: string,
  network: { id: string; name: string; type?: string },
  extra: { container?: string; [key: string]: string | undefined } = {},
): EventInput {
  const attributes: Record<string, string> = { name: network.name, type: network.type ?? "bridge" };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) attributes[k] = v;
  return { type: "network", action, id: network.id, attributes };
}

/** ImageEvent builds an image event (`tag`, `untag`, `delete`, `import`, `pull`, `push`, `load`, `save`). */
export function ImageEvent(
  id: string,
  action: string,
  name: string,
  labels?: Record<string, string> | null,
): EventInput {
  return { type: "image", action, id, attributes: { ...(labels ?? {}), name } };
}

/** VolumeEvent builds a volume event (`create`, `destroy`, `mount`, `unmount`). */
export function VolumeEvent(action: string, name: string, extra: Record<string, string> = {}): EventInput {
  return { type: "volume", action, id: name, attributes: { driver: "local", ...extra } };
}

/** parseEventTime reads docker's `since`/`until` query value (`seconds[.nanos]`) as nanoseconds. */
export function parseEventTime(v: string | null | undefined, what: string): bigint | undefined {
  if (v === null || v === undefined || v === "") return undefined;
  const m = /^(-?\d+)(?:\.(\d{1,9}))?$/.exec(v);
  if (!m) throw new InvalidArgument(`invalid value for "${what}": ${JSON.stringify(v)} is not a timestamp`);
  const secs = BigInt(m[1]!);
  const nanos = BigInt((m[2] ?? "").padEnd(9, "0") || "0");
  return secs * 1_000_000_000n + nanos;
}
