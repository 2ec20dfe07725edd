import { TSWARM_API_PREFIX } from '../../lib/api-version.js';
import { TswarmError } from '../../lib/errors.js';
import type { JsonObject } from './body.js';
import { field } from './body.js';
import type { Route } from './router.js';
import type { ApiContext } from './routes.js';
import { isoTime } from './swarm-shapes.js';
import { normalizeRegistryHost } from '../../engine/image/reference.js';
import { encodeRegistryAuth } from '../../engine/image/registry-auth-header.js';

/** Registry credentials are short; anything longer is a mistake, not a password. */
const USERNAME_CHARS_MAX = 256;
const PASSWORD_CHARS_MAX = 8192;

function registryOf(body: JsonObject, name: string): string {
  const registry = field(body, name, 'string') ?? '';
  if (registry.trim() === '')
    throw new TswarmError('INVALID_ARGUMENT', `${name} is empty. Name the registry (host[:port])`);
  return registry.trim();
}

function credentialsOf(body: JsonObject, user: string, pass: string): { username: string; password: string } {
  const username = field(body, user, 'string') ?? '';
  const password = field(body, pass, 'string') ?? '';
  if (username === '' || password === '')
    throw new TswarmError(
      'INVALID_ARGUMENT',
      'login needs a username and a password. Give -u USER and --password-stdin',
    );
  if (username.length > USERNAME_CHARS_MAX || password.length > PASSWORD_CHARS_MAX)
    throw new TswarmError('INVALID_ARGUMENT', 'the username or password is too long. Check what you passed');
  return { username, password };
}

/**
 * Docker's `POST /auth` (docker login): the credentials are checked with the registry and not
 * kept — the docker CLI keeps them and sends them with each pull (X-Registry-Auth).
 */
function authRoute(ctx: ApiContext): Route {
  return {
    method: 'POST',
    path: '/auth',
    handler: async (req, reply) => {
      const body = await req.json();
      const { username, password } = credentialsOf(body, 'username', 'password');
      const registry = field(body, 'serveraddress', 'string') || 'docker.io';
      const r = await ctx.engine.images.login(registry, username, password, false);
      reply.json(200, { Status: r.status, IdentityToken: '' });
    },
  };
}

function managerShape(m: { nodeId: string; addr: string } | undefined): { NodeID: string; Addr: string } | null {
  return m ? { NodeID: m.nodeId, Addr: m.addr } : null;
}

/**
 * The operations Docker has no endpoint for, under one prefix (docs/architecture.md, The local
 * API): a daemon-kept registry login, which this node's pulls use (services' pulls on workers
 * will too), and the node facts `tswarm info` shows beside Docker's /info.
 */
export function tswarmRoutes(ctx: ApiContext): Route[] {
  return [
    authRoute(ctx),
    {
      method: 'GET',
      path: `${TSWARM_API_PREFIX}/info`,
      handler: async (_req, reply) => {
        const engine = await ctx.engine.summary();
        const swarm = ctx.swarm.info();
        const connections = ctx.swarm.managerConnections();
        reply.json(200, {
          Hostname: ctx.hostname,
          DataDir: ctx.dataDir,
          NamePrefix: ctx.swarm.node.namePrefix,
          Pid: process.pid,
          LogLevel: ctx.logLevel,
          StartedAt: isoTime(ctx.startedAtMs),
          Runtime: engine.runtime,
          CgroupLayout: engine.cgroupLayout,
          Warnings: engine.warnings,
          // What Docker's Info.Swarm leaves out: the cluster's ID also on a worker (Docker shows it
          // on managers only) and the advertised address with its port (Docker's NodeAddr is the IP).
          ClusterID: swarm.clusterId,
          NodeAddr: swarm.nodeAddr,
          // Which manager this node talks to now (Docker shows only the list): the one answering its
          // heartbeats, and the one its task session goes through; null while none does.
          HeartbeatManager: managerShape(connections.heartbeat),
          SessionManager: managerShape(connections.session),
        });
      },
    },
    {
      method: 'POST',
      path: `${TSWARM_API_PREFIX}/login`,
      handler: async (req, reply) => {
        const body = await req.json();
        const registry = registryOf(body, 'Registry');
        const { username, password } = credentialsOf(body, 'Username', 'Password');
        const r = await ctx.engine.images.login(registry, username, password);
        reply.json(200, { Status: r.status });
      },
    },
    {
      // The local operator's own stored login, handed back to pass on: `tswarm service create
      // --with-registry-auth` sends it as X-Registry-Auth, as the docker CLI sends its
      // config.json's. Whoever can open this socket can already read the file it comes from.
      method: 'POST',
      path: `${TSWARM_API_PREFIX}/registry-auth`,
      handler: async (req, reply) => {
        const registry = normalizeRegistryHost(registryOf(await req.json(), 'Registry'));
        const creds = await ctx.engine.images.storedLogin(registry);
        if (!creds)
          throw new TswarmError(
            'NOT_FOUND',
            `this node has no login for ${registry}. Run "tswarm login ${registry}" first`,
          );
        reply.json(200, { RegistryAuth: encodeRegistryAuth(creds, registry) });
      },
    },
    {
      method: 'POST',
      path: `${TSWARM_API_PREFIX}/logout`,
      handler: async (req, reply) => {
        const registry = registryOf(await req.json(), 'Registry');
        if (!(await ctx.engine.images.logout(registry)))
          throw new TswarmError('NOT_FOUND', `not logged in to ${registry}. Nothing to do`);
        reply.empty(204);
      },
    },
  ];
}
