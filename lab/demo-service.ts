import { ApiClient } from '../lib/api-client/client.js';
import { TswarmError } from '../lib/errors.js';
import { waitFor } from '../lib/poll.js';
import type { Lab } from './lab.js';

/** The service `lab up` runs on a formed swarm, so the lab shows tswarm's main job at once. */
export const DEMO_SERVICE_NAME = 'demo';
/** The first pull of the test image on every host, then the starts: well within this. */
const DEMO_RUNNING_TIMEOUT_MS = 90_000;

interface ServiceWithStatus {
  ID: string;
  Spec: { Name: string };
  ServiceStatus?: { RunningTasks: number; DesiredTasks: number };
}

/**
 * Creates the demo service on the lab's first host, one replica per daemon host, from the lab
 * registry's test image, through the Engine API as `docker service create` does; resolves once
 * every replica runs (bounded), with the service's ID.
 */
export async function startDemoService(lab: Lab, image: string): Promise<{ id: string; replicas: number }> {
  const first = lab.hosts[0];
  if (!first) throw new TswarmError('INTERNAL', 'the lab has no hosts to run the demo service on');
  const replicas = lab.hosts.length;
  const client = new ApiClient(`unix://${first.socket}`);
  try {
    const { ID } = await client.json<{ ID: string }>('POST', '/services/create', {
      json: {
        Name: DEMO_SERVICE_NAME,
        TaskTemplate: { ContainerSpec: { Image: image, Args: ['sleep', '1d'] } },
        Mode: { Replicated: { Replicas: replicas } },
      },
    });
    await waitFor(
      async () => {
        const services = await client.json<ServiceWithStatus[]>('GET', '/services', { query: { status: true } });
        const demo = services.find((s) => s.ID === ID);
        return (demo?.ServiceStatus?.RunningTasks ?? 0) >= replicas;
      },
      { what: `the ${replicas} tasks of service ${DEMO_SERVICE_NAME} running`, timeoutMs: DEMO_RUNNING_TIMEOUT_MS },
    );
    return { id: ID, replicas };
  } finally {
    client.close();
  }
}
