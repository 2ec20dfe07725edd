import { createHmac, randomBytes } from 'node:crypto';
import { readBody, type HttpClient } from './http.js';

export interface Credentials {
  username: string;
  password: string;
}

export interface Challenge {
  scheme: 'basic' | 'bearer';
  params: Record<string, string>;
}

/** A token endpoint's answer; real ones are a few kilobytes. */
const TOKEN_BYTES_MAX = 1024 * 1024;
/** The distribution spec's default lifetime when the endpoint gives none. */
const TOKEN_LIFETIME_DEFAULT_MS = 60_000;
/** Renew a little before expiry, so a token never expires in flight. */
const TOKEN_MARGIN_MS = 5_000;
const TOKENS_CACHED_MAX = 256;

/** Parses `WWW-Authenticate: Bearer realm="…",service="…",scope="…"` (or Basic). */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const match = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!match) return undefined;
  const scheme = match[1]?.toLowerCase();
  if (scheme !== 'basic' && scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  for (const m of (match[2] ?? '').matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    params[(m[1] ?? '').toLowerCase()] = (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme, params };
}

/** Keys the cache by an HMAC, not a bare hash: a heap dump gives nothing to guess passwords against. */
const TOKEN_KEY_SECRET = randomBytes(32);

/**
 * Whose token a cached one is: a token fetched with one caller's credentials (a pull with
 * X-Registry-Auth) must never answer for another's, or for an anonymous pull.
 */
function tokenKey(registry: string, scope: string, creds: Credentials | undefined): string {
  const who = creds
    ? createHmac('sha256', TOKEN_KEY_SECRET).update(`${creds.username}\0${creds.password}`).digest('hex')
    : '-';
  return `${registry} ${scope} ${who}`;
}

export function basicHeader(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

/** The token endpoint refused or failed; `status` is its HTTP status. */
export class TokenError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/**
 * Authorization headers per registry and scope: Basic credentials when the registry asks for
 * Basic, bearer tokens from the registry's token endpoint when it asks for Bearer (distribution
 * token auth), cached until shortly before they expire.
 */
export class RegistryAuth {
  private readonly tokens = new Map<string, { header: string; expiresAtMs: number }>();
  private readonly schemes = new Map<string, Challenge>();

  constructor(
    private readonly http: HttpClient,
    private readonly timeoutMs: number,
  ) {}

  /** The header to send up front, from what the registry asked for before. */
  cached(registry: string, scope: string, creds: Credentials | undefined): string | undefined {
    const challenge = this.schemes.get(registry);
    if (!challenge) return undefined;
    if (challenge.scheme === 'basic') return creds ? basicHeader(creds) : undefined;
    const token = this.tokens.get(tokenKey(registry, scope, creds));
    return token && token.expiresAtMs > Date.now() ? token.header : undefined;
  }

  /** Answers a 401's challenge; undefined when there is nothing to answer it with. */
  async answer(
    registry: string,
    scope: string,
    challenge: Challenge,
    creds: Credentials | undefined,
  ): Promise<string | undefined> {
    this.schemes.set(registry, challenge);
    if (challenge.scheme === 'basic') return creds ? basicHeader(creds) : undefined;
    const token = await this.fetchToken(challenge, scope, creds);
    if (this.tokens.size >= TOKENS_CACHED_MAX) this.tokens.clear();
    this.tokens.set(tokenKey(registry, scope, creds), token);
    return token.header;
  }

  private async fetchToken(
    challenge: Challenge,
    scope: string,
    creds: Credentials | undefined,
  ): Promise<{ header: string; expiresAtMs: number }> {
    const realm = challenge.params['realm'];
    if (!realm) throw new TokenError('the registry asked for a bearer token but named no token endpoint (realm)', 0);
    const url = new URL(realm);
    if (challenge.params['service']) url.searchParams.set('service', challenge.params['service']);
    if (scope) url.searchParams.set('scope', scope);
    const headers: Record<string, string> = {};
    if (creds) headers['authorization'] = basicHeader(creds);
    const res = await this.http.request(url, { headers, idleTimeoutMs: this.timeoutMs });
    const body = await readBody(res, TOKEN_BYTES_MAX);
    if (res.status !== 200)
      throw new TokenError(`the token endpoint ${url.host} answered HTTP ${res.status}`, res.status);
    let doc: { token?: string; access_token?: string; expires_in?: number };
    try {
      doc = JSON.parse(body.toString('utf8')) as typeof doc;
    } catch {
      throw new TokenError(`the token endpoint ${url.host} answered with invalid JSON`, res.status);
    }
    const token = doc.token ?? doc.access_token;
    if (!token) throw new TokenError(`the token endpoint ${url.host} gave no token`, res.status);
    const lifetimeMs = typeof doc.expires_in === 'number' ? doc.expires_in * 1000 : TOKEN_LIFETIME_DEFAULT_MS;
    return { header: `Bearer ${token}`, expiresAtMs: Date.now() + Math.max(0, lifetimeMs - TOKEN_MARGIN_MS) };
  }
}
