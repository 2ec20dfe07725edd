import { TswarmError } from '../../lib/errors.js';
import { EVENT_FILTER_KEYS } from '../../lib/event-filters.js';
import { familiarReference, parseReference, repositoryName } from '../../engine/image/reference.js';
import { matchesLabels, parseFilters, type Filters } from '../api/list-filters.js';
import { EVENT_SCOPES, EVENT_TYPES, type EventMessage, type EventType } from './message.js';

/**
 * Docker's event filters (moby daemon/events/filter.go), read from `GET /events?filters=`: each
 * key given must match (AND), any of its values will do (OR).
 */
export const EVENT_FILTERS = EVENT_FILTER_KEYS;

/** The object kinds a filter names by ID or name prefix (`container=web` matches `web` and `web-1`). */
const NAMED_KINDS: readonly EventType[] = [
  'daemon',
  'container',
  'plugin',
  'volume',
  'network',
  'node',
  'service',
  'secret',
  'config',
];

/**
 * Actions whose name carries a suffix (`health_status: healthy`, `exec_start: sh -c …`): a filter
 * naming one without its colon matches them all, as dockerd does (moby#25798).
 */
const PREFIX_ACTIONS = new Set(['health_status', 'exec_create', 'exec_start']);

/**
 * Parses and checks `filters`: an unknown key, type or scope is refused (dockerd would silently
 * match nothing, which a typo in a script then never reveals).
 */
export function parseEventFilters(raw: string | null): Filters {
  const filters = parseFilters(raw, EVENT_FILTERS);
  for (const t of filters.get('type') ?? [])
    if (!(EVENT_TYPES as readonly string[]).includes(t))
      throw new TswarmError('INVALID_ARGUMENT', `invalid event type '${t}'. Known types: ${EVENT_TYPES.join(', ')}`);
  for (const s of filters.get('scope') ?? [])
    if (!(EVENT_SCOPES as readonly string[]).includes(s))
      throw new TswarmError('INVALID_ARGUMENT', `invalid scope '${s}'. Give local or swarm`);
  return filters;
}

/** No values for the key: it does not filter. Else the source must equal one of them. */
function exactMatch(filters: Filters, key: string, source: string): boolean {
  const values = filters.get(key);
  return !values || values.length === 0 || values.includes(source);
}

/** As exactMatch, or the source starts with one of the values (an ID prefix, a name prefix). */
function fuzzyMatch(filters: Filters, key: string, source: string): boolean {
  const values = filters.get(key);
  return !values || values.length === 0 || values.some((v) => source === v || source.startsWith(v));
}

/** `busybox:1` and `docker.io/library/busybox:1` both name `busybox`; what is no reference stays as it is. */
function repository(image: string): string {
  try {
    const ref = parseReference(image);
    return familiarReference(repositoryName(ref));
  } catch {
    return image;
  }
}

/**
 * The image filter matches an image event by its ID or name and a container event by its image,
 * each also without its tag, so `image=busybox` follows the image and every container made from it.
 */
function matchImage(filters: Filters, m: EventMessage): boolean {
  const values = filters.get('image');
  if (!values || values.length === 0) return true;
  const name = m.actor.attributes[m.type === 'image' ? 'name' : 'image'] ?? '';
  const candidates = [m.actor.id, name, repository(m.actor.id), repository(name)];
  return candidates.some((c) => values.includes(c));
}

function matchEvent(filters: Filters, action: string): boolean {
  const values = filters.get('event') ?? [];
  if (values.some((v) => PREFIX_ACTIONS.has(v))) return fuzzyMatch(filters, 'event', action);
  return exactMatch(filters, 'event', action);
}

/** Whether the event passes every filter given. */
export function eventMatches(filters: Filters, m: EventMessage): boolean {
  if (filters.size === 0) return true;
  if (!matchEvent(filters, m.action)) return false;
  if (!exactMatch(filters, 'type', m.type)) return false;
  if (!exactMatch(filters, 'scope', m.scope)) return false;
  // A filter naming a kind's object (`container=web`) keeps only events whose actor it names:
  // other kinds' events have another ID and name, so they fail it, as in dockerd.
  for (const kind of NAMED_KINDS) {
    if (!fuzzyMatch(filters, kind, m.actor.id) && !fuzzyMatch(filters, kind, m.actor.attributes.name ?? ''))
      return false;
  }
  if (!matchImage(filters, m)) return false;
  const labels = filters.get('label');
  if (labels && labels.length > 0 && !matchesLabels(m.actor.attributes, labels)) return false;
  return true;
}
