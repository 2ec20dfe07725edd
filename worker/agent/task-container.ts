import type { ContainerConfig, ContainerSummary, DeepPartial } from '../../gen/tswarm/v1/engine.js';
import type { Task } from '../../gen/tswarm/v1/objects.js';
import { dockerSlot } from '../../lib/task-slot.js';
import type { CreateOptions } from '../../engine/engine.js';
import { TswarmError } from '../../lib/errors.js';
import { credentialsFromAuth, decodeRegistryAuth } from '../../engine/image/registry-auth-header.js';

/**
 * The labels Docker Swarm puts on a task's container, so `docker ps` and tools built on it read a
 * tswarm worker as they read a Docker one, and so the agent finds its containers again after a
 * daemon restart (the labels are kept with the container, which outlives the daemon).
 */
export const LABEL_TASK_ID = 'com.docker.swarm.task.id';
export const LABEL_TASK_NAME = 'com.docker.swarm.task.name';
export const LABEL_TASK = 'com.docker.swarm.task';
export const LABEL_SERVICE_ID = 'com.docker.swarm.service.id';
export const LABEL_SERVICE_NAME = 'com.docker.swarm.service.name';
export const LABEL_NODE_ID = 'com.docker.swarm.node.id';

/** Docker's stop timeout when the spec names none (`--stop-grace-period` unset). */
export const STOP_GRACE_PERIOD_DEFAULT_MS = 10_000;

/**
 * Docker's container name for a task: SERVICE.SLOT.TASKID for a replicated service, and
 * SERVICE.NODEID.TASKID for a global one (slot 0), e.g. `web.1.k3l9…`.
 */
export function taskContainerName(task: Task): string {
  const service = task.serviceAnnotations?.name || task.serviceId;
  const slot = task.slot > 0 ? String(dockerSlot(task)) : task.nodeId;
  return `${service}.${slot}.${task.id}`;
}

/**
 * How the engine pulls a task's image when the node lacks it: with the credentials its service
 * was given (`--with-registry-auth`, Docker's PullOptions.RegistryAuth) for this pull only, else
 * with the node's own login. Stored credentials that cannot be used throw, and the task is
 * rejected with why.
 */
export function taskPullOptions(task: Task): CreateOptions {
  const credentials = credentialsFromAuth(decodeRegistryAuth(task.spec?.container?.pullOptions?.registryAuth));
  return credentials ? { credentials } : {};
}

/**
 * Why a task could not be prepared, as its status says it. A registry that wants a login the
 * service did not bring gets the Swarm remedy added: the node's own login is rarely the fix.
 */
export function prepareFailureMessage(task: Task, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const refused = err instanceof TswarmError && err.code === 'UNAUTHENTICATED';
  if (!refused || task.spec?.container?.pullOptions?.registryAuth) return message;
  return `${message}. The service was given no registry credentials: create or update it with --with-registry-auth`;
}

export function stopGracePeriodMs(task: Task | undefined): number {
  return task?.spec?.container?.stopGracePeriodMs ?? STOP_GRACE_PERIOD_DEFAULT_MS;
}

/**
 * What the engine is asked to create for a task: its container spec, limits, name and Docker's
 * labels. Not its pull options: the service's registry credentials serve the pull
 * (taskPullOptions), and the container's record, which `docker inspect` shows, keeps none.
 */
export function taskContainerConfig(task: Task): DeepPartial<ContainerConfig> {
  const given = task.spec?.container;
  const container = given && { ...given, pullOptions: undefined };
  const name = taskContainerName(task);
  return {
    name,
    taskId: task.id,
    spec: {
      ...container,
      labels: {
        ...container?.labels,
        [LABEL_TASK]: '',
        [LABEL_TASK_ID]: task.id,
        [LABEL_TASK_NAME]: name,
        [LABEL_SERVICE_ID]: task.serviceId,
        [LABEL_SERVICE_NAME]: task.serviceAnnotations?.name ?? '',
        [LABEL_NODE_ID]: task.nodeId,
      },
    },
    ...(task.spec?.resources ? { resources: task.spec.resources } : {}),
  };
}

/** A task's container as the planner sees it. */
export interface TaskContainer {
  id: string;
  taskId: string;
  /** The engine's status: "created", "running", "exited", "dead", … */
  status: string;
  exitCode: number;
  createdAtMs: number;
}

/** The containers of this node's tasks among the engine's, by their labels. */
export function taskContainers(all: readonly ContainerSummary[], nodeId: string): TaskContainer[] {
  return all
    .filter((c) => c.labels[LABEL_TASK_ID] && c.labels[LABEL_NODE_ID] === nodeId)
    .map((c) => ({
      id: c.id,
      taskId: c.labels[LABEL_TASK_ID]!,
      status: c.state?.status ?? '',
      exitCode: c.state?.exitCode ?? 0,
      createdAtMs: c.createdAtMs,
    }));
}
