import { Agent, request } from 'node:http';

/**
 * The Engine API version both systems are driven at: Debian's dockerd 20.10 speaks up to 1.41,
 * tswarmd 1.41–1.50. One version, one set of request and answer shapes, the same code for both.
 */
export const BENCH_API_VERSION = '1.41';
const CALL_TIMEOUT_MS_DEFAULT = 30_000;
/** A list of 120 tasks is ~200 KiB; anything near this is a fault, not an answer. */
const REPLY_BYTES_MAX = 32 * 1024 * 1024;

export interface CallOptions {
  query?: Record<string, string>;
  body?: unknown;
  timeoutMs?: number;
}

/**
 * A small client of a daemon's Engine API on its Unix socket, versioned explicitly (the project's
 * ApiClient asks for tswarm's newest version, which dockerd 20.10 refuses). Keeps its connections
 * alive, so a poll every 100 ms costs a request, not a connection.
 */
export class EngineApi {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 4 });

  constructor(
    /** Whose daemon this is, for error messages: "tswarm m1", "swarm w2". */
    readonly label: string,
    readonly socketPath: string,
  ) {}

  /** A call whose answer is one JSON value (or empty). */
  async call<T>(method: string, path: string, options: CallOptions = {}): Promise<T> {
    const text = await this.text(method, path, options);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  /** A call's whole answer as text (a pull's progress is one JSON object per line). */
  async text(method: string, path: string, options: CallOptions = {}): Promise<string> {
    const query = options.query ? `?${new URLSearchParams(options.query).toString()}` : '';
    const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    const what = `${this.label}: ${method} ${path}`;
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socketPath,
          agent: this.agent,
          method,
          path: `/v${BENCH_API_VERSION}${path}${query}`,
          headers: {
            Host: 'docker',
            ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': String(payload.length) } : {}),
          },
          timeout: options.timeoutMs ?? CALL_TIMEOUT_MS_DEFAULT,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > REPLY_BYTES_MAX) res.destroy(new Error(`${what}: answer larger than ${REPLY_BYTES_MAX} bytes`));
            else chunks.push(c);
          });
          res.once('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.once('error', reject);
        },
      );
      req.once('timeout', () =>
        req.destroy(new Error(`${what}: no answer within ${options.timeoutMs ?? CALL_TIMEOUT_MS_DEFAULT} ms`)),
      );
      req.once('error', (err) => reject(err.message.startsWith(what) ? err : new Error(`${what}: ${err.message}`)));
      req.end(payload);
    });
    if (status >= 400) {
      let message = text.trim();
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? message;
      } catch {
        // Not JSON: the text itself says it.
      }
      throw new Error(`${what} answered ${status}: ${message}`);
    }
    return text;
  }

  /** Whether the daemon answers `GET /_ping` now. */
  async answers(): Promise<boolean> {
    try {
      const req = await new Promise<number>((resolve, reject) => {
        const r = request({ socketPath: this.socketPath, path: '/_ping', agent: false, timeout: 2_000 }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        r.once('timeout', () => r.destroy(new Error('timeout')));
        r.once('error', reject);
        r.end();
      });
      return req === 200;
    } catch {
      return false;
    }
  }

  close(): void {
    this.agent.destroy();
  }
}
