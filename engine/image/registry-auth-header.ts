import { TswarmError } from '../../lib/errors.js';
import type { Credentials } from './registry/auth.js';

/**
 * Docker's `X-Registry-Auth`: a caller's registry credentials as base64url JSON (moby's
 * registry.AuthConfig). The docker CLI sends it with pulls, with `docker service create
 * --with-registry-auth` and with `GET /distribution/…`; a service keeps it, as sent, in its
 * task spec's pull options, and the workers decode it for that service's pulls only.
 */

/** base64url JSON of a few fields; anything larger is not credentials. */
const REGISTRY_AUTH_CHARS_MAX = 16 * 1024;

/** What X-Registry-Auth carries (the fields tswarm reads). */
export interface RegistryAuthConfig {
  username?: string;
  password?: string;
  serveraddress?: string;
  identitytoken?: string;
}

/**
 * Decodes X-Registry-Auth: base64url (or plain base64) JSON. Absent, empty or `{}` (what the
 * docker CLI sends when it has no login) is undefined; a malformed header is INVALID_ARGUMENT.
 */
export function decodeRegistryAuth(header: string | string[] | undefined): RegistryAuthConfig | undefined {
  const raw = Array.isArray(header) ? header[0] : header;
  if (!raw) return undefined;
  if (raw.length > REGISTRY_AUTH_CHARS_MAX)
    throw new TswarmError('INVALID_ARGUMENT', 'the X-Registry-Auth header is too long. Log in again');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
  } catch {
    throw new TswarmError('INVALID_ARGUMENT', 'the X-Registry-Auth header is not base64url-encoded JSON. Log in again');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new TswarmError('INVALID_ARGUMENT', 'the X-Registry-Auth header must encode a JSON object. Log in again');
  const auth: RegistryAuthConfig = {};
  for (const k of ['username', 'password', 'serveraddress', 'identitytoken'] as const) {
    const v = (parsed as Record<string, unknown>)[k];
    if (typeof v === 'string' && v !== '') auth[k] = v;
  }
  return Object.keys(auth).length > 0 ? auth : undefined;
}

/**
 * The credentials a pull uses from X-Registry-Auth: a user name and password, else none (the
 * node's stored `tswarm login` applies). An identity token alone (an OAuth refresh token from a
 * credential helper) is refused: the engine cannot exchange it yet, and the node's own login
 * would pull as someone else.
 */
export function credentialsFromAuth(auth: RegistryAuthConfig | undefined): Credentials | undefined {
  if (auth?.username && auth.password) return { username: auth.username, password: auth.password };
  if (auth?.identitytoken)
    throw new TswarmError(
      'UNAUTHENTICATED',
      'X-Registry-Auth carries an identity token, which tswarm cannot use yet. Log in with a user name and password (docker login -u USER)',
    );
  return undefined;
}

/** X-Registry-Auth for `creds` at `registry`, as the docker CLI encodes its stored login. */
export function encodeRegistryAuth(creds: Credentials, registry: string): string {
  const config: RegistryAuthConfig = { username: creds.username, password: creds.password, serveraddress: registry };
  return Buffer.from(JSON.stringify(config)).toString('base64url');
}
