import type { IncomingHttpHeaders } from 'node:http';
import { TswarmError } from '../../lib/errors.js';

/** A JSON request body (a container config, a swarm spec) is a few KiB; beyond this it is refused. */
export const JSON_BODY_BYTES_MAX = 1024 * 1024;
/** A body that stops arriving for this long is given up: a stalled client must not hold a request. */
export const BODY_IDLE_MS = 30_000;

/**
 * Passes a body's chunks on while bounding it: RESOURCE_EXHAUSTED (413) once more than
 * `bytesMax` arrived (`tooLarge` says it in the endpoint's words), DEADLINE_EXCEEDED when nothing
 * arrives for `idleMs` (a client that stalls mid-body holds nothing for long).
 */
export async function* boundedChunks(
  source: AsyncIterable<Buffer>,
  options: { bytesMax: number; idleMs?: number; what?: string; tooLarge?: string },
): AsyncGenerator<Buffer> {
  const { bytesMax, idleMs = BODY_IDLE_MS, what = 'request body' } = options;
  let total = 0;
  const it = source[Symbol.asyncIterator]();
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new TswarmError('DEADLINE_EXCEEDED', `the ${what} stopped arriving for ${idleMs} ms`)),
        idleMs,
      );
    });
    let next: IteratorResult<Buffer>;
    try {
      next = await Promise.race([it.next(), stalled]);
    } finally {
      clearTimeout(timer);
    }
    if (next.done) return;
    total += next.value.length;
    if (total > bytesMax)
      throw new TswarmError('RESOURCE_EXHAUSTED', options.tooLarge ?? `the ${what} is over ${bytesMax} bytes`);
    if (next.value.length > 0) yield next.value;
  }
}

/**
 * Reads the whole body, at most `bytesMax`: RESOURCE_EXHAUSTED (413) past it, also when the
 * declared Content-Length says so before anything is read; DEADLINE_EXCEEDED when it stalls.
 */
export async function readBody(
  source: AsyncIterable<Buffer>,
  headers: IncomingHttpHeaders,
  bytesMax = JSON_BODY_BYTES_MAX,
  idleMs = BODY_IDLE_MS,
): Promise<Buffer> {
  const declared = Number(headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > bytesMax) {
    throw new TswarmError('RESOURCE_EXHAUSTED', `request body of ${declared} bytes is over ${bytesMax} bytes`);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of boundedChunks(source, { bytesMax, idleMs })) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** The body as a JSON object; an empty body is `{}` (Docker's clients send none for some POSTs). */
export async function readJsonObjectFrom(
  source: AsyncIterable<Buffer>,
  headers: IncomingHttpHeaders,
  bytesMax = JSON_BODY_BYTES_MAX,
): Promise<JsonObject> {
  const raw = await readBody(source, headers, bytesMax);
  if (raw.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new TswarmError('INVALID_ARGUMENT', `invalid JSON in the request body: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TswarmError('INVALID_ARGUMENT', 'the request body must be a JSON object');
  }
  return value as JsonObject;
}

export type JsonObject = Record<string, unknown>;

type Kind = 'string' | 'number' | 'boolean' | 'object' | 'array';

function kindOf(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  return v === null ? 'null' : typeof v;
}

/**
 * A member of a request body by its Docker name. Docker's daemon decodes JSON with Go's
 * encoding/json, which matches member names case-insensitively (an exact match first), and
 * clients rely on it: the Python SDK sends `Mode: {"replicated": {"Replicas": 2}}`. So does this.
 */
export function member(obj: JsonObject | undefined, name: string): unknown {
  if (obj === undefined) return undefined;
  if (Object.hasOwn(obj, name)) return obj[name];
  const lower = name.toLowerCase();
  for (const key of Object.keys(obj)) if (key.toLowerCase() === lower) return obj[key];
  return undefined;
}

/**
 * A field of a request body, checked for its type: absent or null gives undefined, a wrong type
 * is INVALID_ARGUMENT naming the field (`HostConfig.Memory must be a number, not string`).
 */
export function field<K extends Kind>(
  obj: JsonObject | undefined,
  name: string,
  kind: K,
  path = name,
):
  | (K extends 'string'
      ? string
      : K extends 'number'
        ? number
        : K extends 'boolean'
          ? boolean
          : K extends 'array'
            ? unknown[]
            : JsonObject)
  | undefined {
  const v = member(obj, name);
  if (v === undefined || v === null) return undefined;
  if (kindOf(v) !== kind) {
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `${path} must be ${kind === 'array' ? 'an' : 'a'} ${kind}, not ${kindOf(v)}`,
    );
  }
  return v as never;
}

/** A string array field (`Cmd`, `Env`): each element checked. */
export function stringArray(obj: JsonObject | undefined, name: string, path = name): string[] | undefined {
  const arr = field(obj, name, 'array', path);
  if (arr === undefined) return undefined;
  return arr.map((v, i) => {
    if (typeof v !== 'string')
      throw new TswarmError('INVALID_ARGUMENT', `${path}[${i}] must be a string, not ${kindOf(v)}`);
    return v;
  });
}

/** A `map[string]string` field (`Labels`). */
export function stringMap(obj: JsonObject | undefined, name: string, path = name): Record<string, string> | undefined {
  const m = field(obj, name, 'object', path);
  if (m === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) {
    if (typeof v !== 'string')
      throw new TswarmError('INVALID_ARGUMENT', `${path}.${k} must be a string, not ${kindOf(v)}`);
    out[k] = v;
  }
  return out;
}

/**
 * An option tswarm has no room for yet: refused when it is set (true, non-empty, non-zero), so it
 * is never ignored silently; left at its zero value (clients send many) it is fine.
 */
export function refuseIfSet(obj: JsonObject | undefined, name: string, path: string, why: string): void {
  const v = member(obj, name);
  const set =
    v === true ||
    (typeof v === 'number' && v !== 0) ||
    (typeof v === 'string' && v !== '') ||
    (Array.isArray(v) && v.length > 0) ||
    (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0);
  if (set) throw new TswarmError('INVALID_ARGUMENT', `${path} is not supported: ${why}`);
}
