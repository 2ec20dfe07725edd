import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';

/**
 * The HTTP client the registry code uses: node:http(s) rather than global fetch, because fetch
 * cannot take a per-registry CA bundle without undici (not installed) and its body streams give
 * no idle timeout. Redirects are followed (bounded), dropping Authorization when they leave the
 * origin (blob storage on S3 and the like must not see registry credentials).
 */
export interface HttpRequest {
  method?: 'GET' | 'HEAD' | 'POST' | 'PUT';
  headers?: Record<string, string>;
  /** The request body, made anew for each attempt (a redirect or an auth retry sends it again). */
  body?: () => Buffer | NodeJS.ReadableStream;
  /** No response headers, or no body bytes, for this long aborts the request. */
  idleTimeoutMs: number;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
  url: URL;
}

/**
 * A TLS handshake the registry and this node disagree on — an untrusted or expired certificate, a
 * name mismatch, a plain-HTTP registry spoken to over HTTPS. Retrying changes nothing: it needs
 * the operator (--registry-ca, --insecure-registry), so it is not a NetworkError.
 */
export class TlsError extends Error {
  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** OpenSSL's verification codes and Node's TLS codes that no retry can fix. */
function isTlsFailure(code: string | undefined): code is string {
  if (!code) return false;
  return /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|^ERR_TLS_|^ERR_SSL_|^EPROTO$/.test(code);
}

/** A transport failure (connection refused, reset, timeout): worth retrying. */
export class NetworkError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const REDIRECTS_MAX = 5;

export class HttpClient {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  private readonly httpsAgent: https.Agent;

  /** `ca` is trusted beside the public roots, as Docker's certs.d is: a private CA does not cut a node off Docker Hub. */
  constructor(ca?: Buffer) {
    this.httpsAgent = new https.Agent({
      keepAlive: true,
      maxSockets: 8,
      ...(ca ? { ca: [...rootCertificates, ca.toString('utf8')] } : {}),
    });
  }

  async request(url: URL, req: HttpRequest): Promise<HttpResponse> {
    let current = url;
    let headers = { ...req.headers };
    for (let hop = 0; ; hop++) {
      const res = await this.once(current, req, headers);
      const location = res.headers.location;
      if (![301, 302, 303, 307, 308].includes(res.status) || !location) return res;
      res.body.resume();
      if (hop >= REDIRECTS_MAX) throw new NetworkError(`too many redirects from ${url.href}`, 'EREDIRECT');
      const next = new URL(location, current);
      if (next.origin !== current.origin) {
        const { authorization: _dropped, ...rest } = Object.fromEntries(
          Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]),
        );
        headers = rest;
      }
      current = next;
    }
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private once(url: URL, req: HttpRequest, headers: Record<string, string>): Promise<HttpResponse> {
    const isHttps = url.protocol === 'https:';
    const mod = isHttps ? https : http;
    return new Promise((resolve, reject) => {
      const request = mod.request(url, {
        method: req.method ?? 'GET',
        headers,
        agent: isHttps ? this.httpsAgent : this.httpAgent,
      });
      request.setTimeout(req.idleTimeoutMs, () => {
        request.destroy(new NetworkError(`no response from ${url.host} for ${req.idleTimeoutMs} ms`, 'ETIMEDOUT'));
      });
      request.on('error', (err: NodeJS.ErrnoException) => {
        if (err instanceof NetworkError) return reject(err);
        if (isHttps && isTlsFailure(err.code))
          return reject(new TlsError(`${url.host}: ${err.code}: ${err.message}`, err.code, { cause: err }));
        reject(new NetworkError(`${url.host}: ${err.code ?? err.message}`, err.code, { cause: err }));
      });
      request.on('response', (body) => {
        // The request's idle timer keeps watching the socket while the body streams.
        body.on('error', () => undefined);
        resolve({ status: body.statusCode ?? 0, headers: body.headers, body, url });
      });
      const body = req.body?.();
      if (body === undefined) request.end();
      else if (Buffer.isBuffer(body)) request.end(body);
      else {
        body.on('error', (err: Error) =>
          request.destroy(new NetworkError(`reading the upload failed: ${err.message}`, 'EIO')),
        );
        body.pipe(request);
      }
    });
  }
}

/** Reads a whole body, refusing more than `bytesMax` (announced or actual). */
export async function readBody(res: HttpResponse, bytesMax: number): Promise<Buffer> {
  const announced = Number(res.headers['content-length'] ?? '0');
  if (announced > bytesMax) {
    res.body.destroy();
    throw new BodyTooLargeError(bytesMax);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > bytesMax) throw new BodyTooLargeError(bytesMax);
      chunks.push(chunk);
    }
  } catch (err) {
    res.body.destroy();
    if (err instanceof BodyTooLargeError) throw err;
    throw new NetworkError(
      `reading a response from ${res.url.host} failed: ${(err as Error).message}`,
      (err as NodeJS.ErrnoException).code,
      { cause: err },
    );
  }
  return Buffer.concat(chunks);
}

export class BodyTooLargeError extends Error {
  constructor(readonly bytesLimit: number) {
    super(`response is larger than ${bytesLimit} bytes`);
  }
}

/** Drains and discards a body so the connection can be reused. */
export function discard(res: HttpResponse): void {
  res.body.resume();
}
