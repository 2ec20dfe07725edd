import type { Logger } from '../../../lib/log.js';
import { ImageError, credentialsRefused, imageNotFound, registryUnreachable, tlsRefused, tooLarge } from '../errors.js';
import { DOCKER_HUB } from '../reference.js';
import { parseChallenge, RegistryAuth, TokenError, type Credentials } from './auth.js';
import { BodyTooLargeError, HttpClient, NetworkError, TlsError, discard, readBody, type HttpResponse } from './http.js';

export interface RegistryClientOptions {
  /** "host:port" (or host) entries reached over plain HTTP; every other registry is HTTPS. */
  insecureRegistries?: readonly string[];
  /** PEM CA bundle trusted for HTTPS registries (in addition to nothing else: it replaces the defaults). */
  ca?: Buffer;
  credentials: (registry: string) => Promise<Credentials | undefined>;
  /** No response or no body bytes for this long counts as a network failure. */
  idleTimeoutMs?: number;
  /** Attempts per request for retryable failures (network, 5xx, 429). */
  attemptsMax?: number;
  backoffBaseMs?: number;
  log?: Logger;
}

/** What a request is for: error messages name the image, auth scopes name the repository. */
export interface Target {
  image: string;
  registry: string;
  repository: string;
  /** The caller's own credentials for this pull (Docker's X-Registry-Auth), over the node's stored login. */
  credentials?: Credentials;
  /** What the request is for, in error messages and the token scope; pull when absent. */
  action?: 'pull' | 'push';
}

/** A request other than a plain GET: a push's HEAD, POST and PUT, and where it goes if not under /v2/<repository>. */
export interface SendOptions {
  method?: 'GET' | 'HEAD' | 'POST' | 'PUT';
  body?: () => Buffer | NodeJS.ReadableStream;
  /** An absolute URL (an upload's Location) instead of `/v2/<repository><path>`. */
  url?: URL;
}

/** A 5xx or 429 answer: the registry exists but cannot serve now. */
export class RetryableStatusError extends Error {
  constructor(
    readonly status: number,
    readonly retryAfterMs: number | undefined,
  ) {
    super(`HTTP ${status}`);
  }
}

const IDLE_TIMEOUT_MS_DEFAULT = 30_000;
const ATTEMPTS_MAX_DEFAULT = 4;
const BACKOFF_BASE_MS_DEFAULT = 250;
/** A Retry-After above this is not waited out inside one pull: the caller retries later. */
const RETRY_AFTER_MS_MAX = 10_000;
const ERROR_BODY_BYTES_MAX = 64 * 1024;

export class RegistryClient {
  readonly http: HttpClient;
  private readonly auth: RegistryAuth;
  private readonly insecure: Set<string>;
  private readonly idleTimeoutMs: number;
  private readonly attemptsMax: number;
  private readonly backoffBaseMs: number;

  constructor(private readonly options: RegistryClientOptions) {
    this.http = new HttpClient(options.ca);
    this.idleTimeoutMs = options.idleTimeoutMs ?? IDLE_TIMEOUT_MS_DEFAULT;
    this.auth = new RegistryAuth(this.http, this.idleTimeoutMs);
    this.insecure = new Set(options.insecureRegistries ?? []);
    this.attemptsMax = Math.max(1, options.attemptsMax ?? ATTEMPTS_MAX_DEFAULT);
    this.backoffBaseMs = options.backoffBaseMs ?? BACKOFF_BASE_MS_DEFAULT;
  }

  close(): void {
    this.http.close();
  }

  baseUrl(registry: string): URL {
    if (registry === DOCKER_HUB) return new URL('https://registry-1.docker.io');
    const host = registry.replace(/:\d+$/, '');
    const plain = this.insecure.has(registry) || this.insecure.has(host);
    return new URL(`${plain ? 'http' : 'https'}://${registry}`);
  }

  /**
   * One request to `/v2/<repository><path>`, answering an auth challenge once. Auth failures
   * become ImageErrors; 5xx/429 become RetryableStatusError; other statuses are returned.
   */
  async send(
    t: Target,
    path: string,
    headers: Record<string, string> = {},
    options: SendOptions = {},
  ): Promise<HttpResponse> {
    const url = options.url ?? new URL(`/v2/${t.repository}${path}`, this.baseUrl(t.registry));
    const scope = `repository:${t.repository}:${t.action === 'push' ? 'pull,push' : 'pull'}`;
    const creds = t.credentials ?? (await this.options.credentials(t.registry));
    const first = this.auth.cached(t.registry, scope, creds);
    const request = (auth: string | undefined) =>
      this.http.request(url, {
        ...(options.method ? { method: options.method } : {}),
        ...(options.body ? { body: options.body } : {}),
        headers: withAuth(headers, auth),
        idleTimeoutMs: this.idleTimeoutMs,
      });
    let res = await request(first);
    if (res.status === 401) {
      const challenge = parseChallenge(header(res, 'www-authenticate'));
      discard(res);
      const answer = challenge ? await this.answer(t, scope, challenge, creds) : undefined;
      if (!answer) throw authRequired(t, creds);
      res = await request(answer);
    }
    if (res.status === 401 || res.status === 403) {
      discard(res);
      throw creds ? credentialsRefused(t.image, t.registry, res.status, t.action) : authRequired(t, creds);
    }
    if (res.status >= 500 || res.status === 429) {
      discard(res);
      throw new RetryableStatusError(res.status, retryAfterMs(header(res, 'retry-after')));
    }
    return res;
  }

  private async answer(
    t: Target,
    scope: string,
    challenge: NonNullable<ReturnType<typeof parseChallenge>>,
    creds: Credentials | undefined,
  ) {
    try {
      return await this.auth.answer(t.registry, scope, challenge, creds);
    } catch (err) {
      // A token endpoint refusing an anonymous request is asking for a login, not refusing one.
      if (err instanceof TokenError && (err.status === 401 || err.status === 403))
        throw creds ? credentialsRefused(t.image, t.registry, err.status, t.action) : authRequired(t, creds);
      if (err instanceof TokenError && err.status < 500 && err.status !== 429) {
        throw new ImageError(
          'UNAUTHENTICATED',
          `cannot pull ${t.image}: ${err.message}. Check the registry's auth setup`,
          false,
        );
      }
      throw err;
    }
  }

  /** Runs `fn`, retrying network failures and 5xx/429 with exponential backoff, a bounded number of times. */
  async withRetries<T>(t: Target, fn: (attempt: number) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn(attempt);
      } catch (err) {
        if (err instanceof TlsError) throw tlsRefused(t.image, t.registry, err, t.action);
        if (!(err instanceof NetworkError || err instanceof RetryableStatusError)) throw err;
        if (attempt >= this.attemptsMax) throw registryUnreachable(t.image, t.registry, err, t.action);
        const backoffMs = this.backoffBaseMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2);
        const waitMs =
          err instanceof RetryableStatusError && err.retryAfterMs !== undefined
            ? Math.min(err.retryAfterMs, RETRY_AFTER_MS_MAX)
            : backoffMs;
        this.options.log?.debug(
          { image: t.image, attempt, waitMs, err: err.message },
          'registry request failed; retrying',
        );
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    }
  }

  /** GETs a small document (manifest, config) with a size bound; 404 → permanent not found. */
  async fetchSmall(
    t: Target,
    path: string,
    accept: string | undefined,
    bytesMax: number,
    what: string,
  ): Promise<{ bytes: Buffer; res: HttpResponse }> {
    return this.withRetries(t, async () => {
      const res = await this.send(t, path, accept ? { accept } : {});
      if (res.status === 404) throw imageNotFound(t.image, await notFoundDetail(res, what));
      if (res.status !== 200) {
        discard(res);
        throw new ImageError(
          'INTERNAL',
          `cannot pull ${t.image}: registry ${t.registry} answered HTTP ${res.status} for the ${what}. Check the registry`,
          false,
        );
      }
      try {
        return { bytes: await readBody(res, bytesMax), res };
      } catch (err) {
        if (err instanceof BodyTooLargeError) throw tooLarge(t.image, `the ${what}`, bytesMax);
        throw err;
      }
    });
  }

  /** Checks credentials against a registry (for login): /v2/ must answer 200 with them. */
  async verifyLogin(registry: string, creds: Credentials): Promise<void> {
    const t: Target = { image: registry, registry, repository: '' };
    await this.withRetries(t, async () => {
      const url = new URL('/v2/', this.baseUrl(registry));
      let res = await this.http.request(url, { idleTimeoutMs: this.idleTimeoutMs });
      if (res.status === 401) {
        const challenge = parseChallenge(header(res, 'www-authenticate'));
        discard(res);
        const answer = challenge ? await this.answer(t, '', challenge, creds) : undefined;
        res = await this.http.request(url, { headers: withAuth({}, answer), idleTimeoutMs: this.idleTimeoutMs });
      }
      discard(res);
      if (res.status === 401 || res.status === 403) throw loginRefused(registry, res.status);
      if (res.status >= 500 || res.status === 429) throw new RetryableStatusError(res.status, undefined);
      if (res.status !== 200)
        throw new ImageError(
          'FAILED_PRECONDITION',
          `${registry} does not look like a registry (GET /v2/ answered HTTP ${res.status}). Check the address`,
          false,
        );
    }).catch((err: unknown) => {
      if (err instanceof ImageError && err.code === 'UNAUTHENTICATED') throw loginRefused(registry, 401);
      throw err;
    });
  }
}

function loginRefused(registry: string, status: number): ImageError {
  return new ImageError(
    'UNAUTHENTICATED',
    `login to ${registry} failed: the registry refused the credentials (HTTP ${status}). Check the user name and password`,
    false,
  );
}

function authRequired(t: Target, creds: Credentials | undefined): ImageError {
  if (creds) return credentialsRefused(t.image, t.registry, 401, t.action);
  return new ImageError(
    'UNAUTHENTICATED',
    `cannot ${t.action ?? 'pull'} ${t.image}: registry ${t.registry} requires authentication (or the repository does not exist). Run "tswarm login ${t.registry}" first`,
    false,
  );
}

/** A 404's reason in the registry's own words: its error code and message (distribution's error body). */
async function notFoundDetail(res: HttpResponse, what: string): Promise<string> {
  let said = '';
  try {
    const doc = JSON.parse((await readBody(res, ERROR_BODY_BYTES_MAX)).toString('utf8')) as {
      errors?: { code?: unknown; message?: unknown }[];
    };
    const first = doc.errors?.[0];
    const code = typeof first?.code === 'string' ? first.code : '';
    // The message is the registry's text, shown to the user: bounded, on one line.
    const message = typeof first?.message === 'string' ? first.message.replace(/\s+/g, ' ').slice(0, 200) : '';
    said = [code, message].filter((s) => s !== '').join(': ');
  } catch {
    // a 404 without a distribution error body
  }
  return `the registry has no such ${what} (${said || 'HTTP 404'})`;
}

function header(res: HttpResponse, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function withAuth(headers: Record<string, string>, authorization: string | undefined): Record<string, string> {
  return authorization ? { ...headers, authorization } : headers;
}

function retryAfterMs(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

export { header as responseHeader };
