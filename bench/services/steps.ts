import { performance } from 'node:perf_hooks';
import { waitFor } from '../../lib/poll.js';
import type { EngineApi } from './engine-api.js';

/**
 * The benchmark's steps, as any Engine API client would take them (the docker CLI sends the same
 * requests): the same code drives tswarm and Docker Swarm, each through its leader's socket.
 */

/** A task as `GET /tasks` shows it, the fields the steps read. */
export interface TaskView {
  ID: string;
  NodeID?: string;
  DesiredState: string;
  Status: { State: string };
}

interface NodeView {
  ID: string;
  Description?: { Hostname?: string };
  Status?: { State?: string };
  ManagerStatus?: { Leader?: boolean; Reachability?: string };
}

interface ServiceView {
  ID: string;
  Version: { Index: number };
  Spec: { Mode?: { Replicated?: { Replicas?: number } } } & Record<string, unknown>;
}

/** How often a wait asks the leader for the service's tasks: fine next to seconds, light on it. */
export const POLL_INTERVAL_MS = 100;

/**
 * A service of `replicas` containers running `sleep 1d` from the image both systems already hold.
 * SIGKILL as its stop signal: `sleep` as PID 1 ignores SIGTERM, and the untimed clean-up between
 * steps should not wait out Docker's 10 s grace period per container.
 */
export function serviceSpec(name: string, image: string, replicas: number): Record<string, unknown> {
  return {
    Name: name,
    TaskTemplate: { ContainerSpec: { Image: image, Command: ['sleep', '1d'], StopSignal: 'SIGKILL' } },
    Mode: { Replicated: { Replicas: replicas } },
  };
}

export async function createService(api: EngineApi, name: string, image: string, replicas: number): Promise<string> {
  const r = await api.call<{ ID: string }>('POST', '/services/create', { body: serviceSpec(name, image, replicas) });
  return r.ID;
}

/** `docker service scale ID=N`: the spec as it is, at its version, with the new count. */
export async function scaleService(api: EngineApi, id: string, replicas: number, timeoutMs?: number): Promise<void> {
  const t = timeoutMs === undefined ? {} : { timeoutMs };
  const s = await api.call<ServiceView>('GET', `/services/${id}`, t);
  const spec = { ...s.Spec, Mode: { Replicated: { Replicas: replicas } } };
  await api.call('POST', `/services/${id}/update`, { query: { version: String(s.Version.Index) }, body: spec, ...t });
}

export async function removeService(api: EngineApi, id: string): Promise<void> {
  await api.call('DELETE', `/services/${id}`);
}

/** The service's tasks meant to run, as the leader holds them (states reported by the workers). */
export async function tasksMeantToRun(api: EngineApi, serviceId: string): Promise<TaskView[]> {
  const filters = JSON.stringify({ service: [serviceId], 'desired-state': ['running'] });
  return api.call<TaskView[]>('GET', '/tasks', { query: { filters } });
}

/** Tasks meant to run and reported running, on any node but `exceptNode`. */
export function runningCount(tasks: readonly TaskView[], exceptNode?: string): number {
  return tasks.filter((t) => t.DesiredState === 'running' && t.Status.State === 'running' && t.NodeID !== exceptNode)
    .length;
}

/**
 * Milliseconds from `startedAt` (performance.now()) until `replicas` tasks of the service are
 * reported running, none of them on `exceptNode` (a node whose daemon was killed: its tasks'
 * last reports stand until the managers give up on it).
 */
export async function msUntilRunning(
  api: EngineApi,
  serviceId: string,
  replicas: number,
  startedAt: number,
  options: { exceptNode?: string; timeoutMs: number; what: string },
): Promise<number> {
  return waitFor(
    async () => {
      const n = runningCount(await tasksMeantToRun(api, serviceId), options.exceptNode);
      return n >= replicas ? performance.now() - startedAt : false;
    },
    { what: options.what, timeoutMs: options.timeoutMs, intervalMs: POLL_INTERVAL_MS },
  );
}

export async function nodeIdsByHostname(api: EngineApi): Promise<Map<string, string>> {
  const nodes = await api.call<NodeView[]>('GET', '/nodes');
  return new Map(nodes.map((n) => [n.Description?.Hostname ?? '', n.ID]));
}

export async function waitNodesReady(api: EngineApi, count: number, timeoutMs: number): Promise<void> {
  await waitFor(
    async () => {
      const nodes = await api.call<NodeView[]>('GET', '/nodes');
      return nodes.length === count && nodes.every((n) => n.Status?.State === 'ready');
    },
    { what: `${api.label}: ${count} nodes ready`, timeoutMs, intervalMs: 250 },
  );
}

/** The host name of the Raft leader, as the first of `managers` that answers sees it. */
export async function leaderHost(managers: readonly EngineApi[]): Promise<string> {
  let lastError: unknown;
  for (const api of managers) {
    try {
      const nodes = await api.call<NodeView[]>('GET', '/nodes');
      const leader = nodes.find((n) => n.ManagerStatus?.Leader)?.Description?.Hostname;
      if (leader) return leader;
      lastError = new Error(`${api.label}: no node is the leader`);
    } catch (err) {
      lastError = err;
    }
  }
  throw new Error(`no manager names a leader: ${(lastError as Error).message}`);
}

/**
 * Until every node is ready and `managers` managers are reachable, one of them the leader: a
 * restarted manager has rejoined the Raft group, so the next round starts from a whole cluster.
 */
export async function waitManagersReachable(api: EngineApi, managers: number, timeoutMs: number): Promise<void> {
  await waitFor(
    async () => {
      const nodes = await api.call<NodeView[]>('GET', '/nodes');
      const reachable = nodes.filter((n) => n.ManagerStatus?.Reachability === 'reachable');
      return (
        nodes.every((n) => n.Status?.State === 'ready') &&
        reachable.length === managers &&
        reachable.some((n) => n.ManagerStatus?.Leader)
      );
    },
    { what: `${api.label}: ${managers} managers reachable, every node ready`, timeoutMs, intervalMs: 250 },
  );
}

/**
 * `docker service scale` tried again and again, as a user or a script does while the managers
 * elect a new leader, until the scale is accepted: milliseconds from `startedAt` until then.
 * Scaling is idempotent, so an attempt whose answer was lost but which did apply is harmless.
 */
export async function msUntilScaleAccepted(
  api: EngineApi,
  serviceId: string,
  replicas: number,
  startedAt: number,
  options: { timeoutMs: number; attemptTimeoutMs: number; what: string },
): Promise<number> {
  return waitFor(
    async () => {
      await scaleService(api, serviceId, replicas, options.attemptTimeoutMs);
      return performance.now() - startedAt;
    },
    { what: options.what, timeoutMs: options.timeoutMs, intervalMs: POLL_INTERVAL_MS },
  );
}

/** Until no host holds a container of the service any more (removed, not only stopped). */
export async function waitNoContainers(
  hosts: readonly EngineApi[],
  serviceId: string,
  timeoutMs: number,
): Promise<void> {
  const filters = JSON.stringify({ label: [`com.docker.swarm.service.id=${serviceId}`] });
  await waitFor(
    async () => {
      for (const h of hosts) {
        const listed = await h.call<unknown[]>('GET', '/containers/json', { query: { all: '1', filters } });
        if (listed.length > 0) return false;
      }
      return true;
    },
    { what: `every container of service ${serviceId} removed`, timeoutMs, intervalMs: 250 },
  );
}

/** Pulls `image` on the host's daemon; the pull's progress stream must end without an error line. */
export async function pullImage(api: EngineApi, image: string): Promise<void> {
  const text = await api.text('POST', '/images/create', { query: { fromImage: image }, timeoutMs: 120_000 });
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const m = JSON.parse(line) as { error?: string; errorDetail?: { message?: string } };
    if (m.error) throw new Error(`${api.label}: pull of ${image} failed: ${m.error}`);
  }
}
