import type { IncomingMessage } from 'node:http';
import type { Logger } from '../../lib/log.js';
import { TswarmError } from '../../lib/errors.js';
import type { JsonObject } from './body.js';
import type { Reply } from './reply.js';

/** One API request as a handler sees it: the path without its version prefix, its parameters, its query. */
export interface ApiRequest {
  method: string;
  /** The path without `/vX.Y`, e.g. `/containers/web/json`. */
  path: string;
  /** The API version the client asked for (the newest when its path had none). */
  version: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** The body, at most `bytesMax` (default: a JSON body's bound). */
  body(bytesMax?: number): Promise<Buffer>;
  /** The body as a JSON object (`{}` when empty); malformed JSON is INVALID_ARGUMENT. */
  json(): Promise<JsonObject>;
  /** The body as a stream (image load), for handlers that take large bodies. */
  bodyStream(): AsyncIterable<Buffer>;
  /** Aborts when the client goes away. */
  signal: AbortSignal;
  log: Logger;
}

export type Handler = (req: ApiRequest, reply: Reply) => Promise<void>;

export interface Route {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';
  /**
   * Docker's path template, e.g. `/containers/{id}/json`; a parameter matches one path segment,
   * and `{name*}` matches one or more (an image name such as `reg:5000/lab/busybox:1`).
   */
  path: string;
  handler: Handler;
}

interface CompiledRoute extends Route {
  regex: RegExp;
  names: string[];
}

/**
 * The Engine API's routes, matched on method and path, in the order added; `{name}` binds one
 * URL-decoded segment, `{name*}` the segments up to what follows it in the template.
 */
export class Router {
  private readonly routes: CompiledRoute[] = [];

  constructor(routes: readonly Route[]) {
    for (const r of routes) this.add(r);
  }

  add(route: Route): void {
    const names: string[] = [];
    // Literal parts escaped; each parameter a group. `{name*}` is greedy, so `/images/a/json/json`
    // binds `a/json`: the template's tail is matched last.
    const pattern = route.path
      .split(/(\{\w+\*?\})/)
      .map((part) => {
        const param = /^\{(\w+)(\*?)\}$/.exec(part);
        if (!param) return part.replace(/[.*+?^$(){}|[\]\\]/g, '\\$&');
        names.push(param[1]!);
        return param[2] ? '([^/]+(?:/[^/]+)*)' : '([^/]+)';
      })
      .join('');
    this.routes.push({ ...route, regex: new RegExp(`^${pattern}/?$`), names });
  }

  /** The route for a request and its bound parameters; NOT_FOUND ("page not found", as dockerd) when none. */
  match(method: string, path: string): { route: Route; params: Record<string, string> } {
    for (const r of this.routes) {
      if (r.method !== method && !(method === 'HEAD' && r.method === 'GET')) continue;
      const m = r.regex.exec(path);
      if (!m) continue;
      const params: Record<string, string> = {};
      r.names.forEach((name, i) => {
        try {
          params[name] = decodeURIComponent(m[i + 1]!);
        } catch {
          throw new TswarmError('INVALID_ARGUMENT', `invalid escape in the path: ${path}`);
        }
      });
      return { route: r, params };
    }
    throw new TswarmError('NOT_FOUND', 'page not found');
  }
}
