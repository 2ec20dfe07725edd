/**
 * One event as Docker's `GET /events` carries it (moby api/swagger.yaml, EventMessage): what
 * happened (`Type`, `Action`), to what (`Actor.ID` and its `Attributes`), where (`scope`: this
 * node's engine is "local", the swarm's replicated objects are "swarm") and when.
 */

/** Docker's event types; tswarm emits container, image, volume, network, node and service events. */
export const EVENT_TYPES = [
  'builder',
  'config',
  'container',
  'daemon',
  'image',
  'network',
  'node',
  'plugin',
  'secret',
  'service',
  'volume',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const EVENT_SCOPES = ['local', 'swarm'] as const;
export type EventScope = (typeof EVENT_SCOPES)[number];

export interface EventActor {
  readonly id: string;
  readonly attributes: Readonly<Record<string, string>>;
}

/** Immutable once published: every subscriber and the ring share the same object. */
export interface EventMessage {
  readonly type: EventType;
  readonly action: string;
  readonly actor: EventActor;
  readonly scope: EventScope;
  /** Nanoseconds since the Unix epoch: a bigint, since such times pass 2^53. */
  readonly timeNano: bigint;
}

export const NS_PER_MS = 1_000_000n;
export const NS_PER_S = 1_000_000_000n;

/** A message frozen with its actor and attributes, so no reader can change what another reads. */
export function eventMessage(
  type: EventType,
  action: string,
  id: string,
  attributes: Record<string, string>,
  scope: EventScope,
  timeNano: bigint,
): EventMessage {
  const actor = Object.freeze({ id, attributes: Object.freeze({ ...attributes }) });
  return Object.freeze({ type, action, actor, scope, timeNano });
}

/**
 * The message as one line of dockerd's stream, its fields in dockerd's order. Container and image
 * events also carry the fields deprecated since API 1.22 (`status`, `id`, `from`): dockerd sends
 * them up to API 1.51, and docker CLIs before 25.0 (and compose) fail on an event without them.
 * `timeNano` is written from the bigint itself, so no digit is lost to a float.
 */
export function eventJsonLine(m: EventMessage): string {
  const legacy: Record<string, string> = {};
  if (m.type === 'container' || m.type === 'image') {
    legacy.status = m.action;
    legacy.id = m.actor.id;
    const from = m.type === 'container' ? (m.actor.attributes.image ?? '') : '';
    if (from !== '') legacy.from = from;
  }
  const body = JSON.stringify({
    ...legacy,
    Type: m.type,
    Action: m.action,
    Actor: { ID: m.actor.id, Attributes: m.actor.attributes },
    scope: m.scope,
    time: Number(m.timeNano / NS_PER_S),
  });
  return `${body.slice(0, -1)},"timeNano":${m.timeNano.toString()}}\n`;
}

/** What an event costs to hold, roughly, in bytes: its strings (the ring is bounded by it). */
export function eventBytes(m: EventMessage): number {
  let bytes = 128 + m.action.length + m.actor.id.length;
  for (const [k, v] of Object.entries(m.actor.attributes)) bytes += k.length + v.length + 16;
  return bytes;
}
