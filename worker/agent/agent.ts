import type { ChannelCredentials } from '@grpc/grpc-js';
import type { Clock, Timer } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import { AssignmentsType, type AssignmentsResponse } from '../../gen/tswarm/v1/dispatcher.js';
import { TaskState, type NodeDescription, type Task, type TaskStatus } from '../../gen/tswarm/v1/objects.js';
import type { Engine } from '../../engine/engine.js';
import { planTasks, type Action, type Report } from './plan.js';
import { SessionClient } from './session-client.js';
import type { ManagerPeer } from '../known-managers.js';
import { StatusReporter } from './status-reporter.js';
import { LogPublisher } from './log-publisher.js';
import { STATUS_TEXT_LENGTH_MAX } from '../../manager/dispatcher/status-intake.js';
import { prepareFailureMessage, taskContainerConfig, taskContainers, taskPullOptions } from './task-container.js';

/** What the agent needs of the engine (the Engine itself in the daemon). */
export type TaskEngine = Pick<
  Engine,
  | 'containerCreate'
  | 'containerStart'
  | 'containerStop'
  | 'containerRemove'
  | 'containerList'
  | 'containerWait'
  | 'containerLogs'
>;

/**
 * Task operations (pull+create+start, stop, remove) under way at once: a node takes 20 new tasks
 * in parallel pulls and starts rather than one after another, yet a burst of hundreds does not
 * start hundreds of pulls on a two-core machine.
 */
export const TASK_OPERATIONS_CONCURRENT_MAX = 8;
/**
 * A reconciliation round runs on every change (assignments, an exit, an operation's end); this
 * periodic one is the safety net for what no event announces (a container removed by hand).
 */
export const RECONCILE_EVERY_MS = 5_000;

export interface AgentOptions {
  nodeId: string;
  engine: TaskEngine;
  /** The managers to try, in order (worker/known-managers.ts, shared with the heartbeats). */
  managers: () => string[];
  /** A manager the session could not reach: the shared order puts it last. */
  managerFailed?: (addr: string) => void;
  /** The managers a new session names, with their node IDs. */
  onManagers?: (managers: ManagerPeer[]) => void;
  /** Credentials for a dial of the manager at this address (which checks it is the manager expected there). */
  credentials: (addr: string) => ChannelCredentials;
  description: () => NodeDescription;
  clock: Clock;
  log: Logger;
}

/**
 * The node's task agent (SwarmKit's agent + executor): holds a session with the managers, keeps
 * the tasks assigned here, and reconciles them with the engine through a pure plan (plan.ts),
 * reporting every state change. Its containers are the engine's and outlive both the session
 * and the daemon: losing every manager changes nothing on the node, and after a restart the
 * agent finds its containers by their labels and goes on from there.
 */
export class Agent {
  private tasks = new Map<string, Task>();
  private completeSetKnown = false;
  /** The furthest state known per assigned task: the store's (from assignments) or reported here. */
  private states = new Map<string, TaskState>();
  private busy = new Set<string>();
  private waitingOn = new Set<string>();
  private running = 0;
  private reconciling = false;
  private again = false;
  private timer: Timer | undefined;
  private stopped = false;
  private readonly session: SessionClient;
  private readonly reporter: StatusReporter;
  /** Publishes this node's task logs to the managers, over each session's connection. */
  private readonly logs: LogPublisher;

  constructor(private readonly o: AgentOptions) {
    this.logs = new LogPublisher({
      nodeId: o.nodeId,
      engine: o.engine,
      credentials: o.credentials,
      clock: o.clock,
      log: o.log.child({ part: 'logs' }),
    });
    this.session = new SessionClient({
      managers: o.managers,
      managerFailed: o.managerFailed,
      onManagers: o.onManagers,
      credentials: o.credentials,
      description: o.description,
      clock: o.clock,
      log: o.log,
      onAssignments: (m) => this.applyAssignments(m),
      onSessionOpened: (session) => this.logs.sessionOpened(session),
    });
    this.reporter = new StatusReporter((u) => this.session.updateTaskStatus(u), o.clock, o.log);
  }

  start(): void {
    this.session.start();
    this.schedulePeriodic();
    this.reconcile();
  }

  /** The agent stops; the containers go on running (they belong to the engine, and the next agent adopts them). */
  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.session.stop();
    this.logs.stop();
    this.reporter.stop();
  }

  /** The tasks assigned here now (for `info` and tests). */
  assignedTasks(): Task[] {
    return [...this.tasks.values()];
  }

  lastError(): string | undefined {
    return this.session.lastError;
  }

  /** The heartbeats found this manager unreachable: a session through it moves to another. */
  managerUnreachable(addr: string): void {
    this.session.managerUnreachable(addr);
  }

  /** The heartbeats were answered through this manager: a session elsewhere comes to it (SessionClient). */
  heartbeatsAnsweredBy(addr: string): void {
    this.session.heartbeatsAnsweredBy(addr);
  }

  /** The manager the session goes through now, if one is open. */
  sessionManager(): string | undefined {
    return this.session.manager();
  }

  private schedulePeriodic(): void {
    if (this.stopped) return;
    this.timer = this.o.clock.setTimer(RECONCILE_EVERY_MS, () => {
      this.reconcile();
      this.schedulePeriodic();
    });
  }

  applyAssignments(m: AssignmentsResponse): void {
    if (m.type === AssignmentsType.ASSIGNMENTS_TYPE_COMPLETE) {
      for (const id of this.tasks.keys()) if (!m.updatedTasks.some((t) => t.id === id)) this.drop(id);
      this.completeSetKnown = true;
    }
    for (const id of m.removedTaskIds) this.drop(id);
    for (const t of m.updatedTasks) {
      this.tasks.set(t.id, t);
      const stored = t.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED;
      const local = this.states.get(t.id) ?? TaskState.TASK_STATE_UNSPECIFIED;
      if (stored > local) this.states.set(t.id, stored);
      // A new session's complete set shows what the store holds: a status it lacks (a report
      // that died with the old leader) goes again.
      if (local > stored && m.type === AssignmentsType.ASSIGNMENTS_TYPE_COMPLETE) this.resend(t.id);
    }
    this.reconcile();
  }

  private lastReported = new Map<string, TaskStatus>();

  private resend(taskId: string): void {
    const s = this.lastReported.get(taskId);
    if (s) this.reporter.report(taskId, s);
  }

  private drop(taskId: string): void {
    this.tasks.delete(taskId);
    this.states.delete(taskId);
    this.lastReported.delete(taskId);
    this.reporter.forget(taskId);
  }

  /** Records and reports a state change; one that does not move the task forward is not one. */
  private setState(r: Omit<Report, 'kind'>): void {
    if (!this.tasks.has(r.taskId)) return;
    if (r.state <= (this.states.get(r.taskId) ?? TaskState.TASK_STATE_UNSPECIFIED)) return;
    this.states.set(r.taskId, r.state);
    const status: TaskStatus = {
      timestampMs: this.o.clock.nowMs(),
      state: r.state,
      message: r.message,
      err: r.err.slice(0, STATUS_TEXT_LENGTH_MAX),
      containerStatus: r.containerId
        ? { containerId: r.containerId, pid: 0, exitCode: r.exitCode, oomKilled: false, health: '' }
        : undefined,
      portStatus: undefined,
      history: [], // the store keeps a task's history; the dispatcher writes it
    };
    this.lastReported.set(r.taskId, status);
    this.reporter.report(r.taskId, status);
    this.o.log.info({ task: r.taskId, state: TaskState[r.state], err: r.err || undefined }, 'task state changed');
  }

  /** One reconciliation round at a time; a request during one runs another right after. */
  reconcile(): void {
    if (this.stopped) return;
    if (this.reconciling) {
      this.again = true;
      return;
    }
    this.reconciling = true;
    try {
      this.round();
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'task reconciliation failed; retrying on the next round');
    } finally {
      this.reconciling = false;
    }
    if (this.again) {
      this.again = false;
      queueMicrotask(() => this.reconcile());
    }
  }

  private round(): void {
    const containers = taskContainers(this.o.engine.containerList({ all: true }), this.o.nodeId);
    for (const c of containers) if (c.status === 'running') this.waitForExit(c.id);
    const actions = planTasks({
      tasks: [...this.tasks.values()],
      stateOf: (id) => this.states.get(id) ?? TaskState.TASK_STATE_UNSPECIFIED,
      containers,
      completeSetKnown: this.completeSetKnown,
      busy: this.busy,
    });
    for (const a of actions) {
      if (a.kind === 'report') this.setState(a);
      else if (this.running < TASK_OPERATIONS_CONCURRENT_MAX && !this.busy.has(a.taskId)) this.run(a);
      // Beyond the bound, an operation waits for the round that the end of another one starts.
    }
  }

  /** An exit ends the wait; the next round reports it. */
  private waitForExit(containerId: string): void {
    if (this.waitingOn.has(containerId)) return;
    this.waitingOn.add(containerId);
    this.o.engine.containerWait(containerId).then(
      () => {
        this.waitingOn.delete(containerId);
        this.reconcile();
      },
      () => this.waitingOn.delete(containerId),
    );
  }

  private run(a: Exclude<Action, Report>): void {
    this.busy.add(a.taskId);
    this.running++;
    this.operate(a)
      .catch((err: unknown) =>
        this.o.log.warn({ task: a.taskId, action: a.kind, err: (err as Error).message }, 'task operation failed'),
      )
      .finally(() => {
        this.busy.delete(a.taskId);
        this.running--;
        this.reconcile();
      });
  }

  private async operate(a: Exclude<Action, Report>): Promise<void> {
    const { engine } = this.o;
    switch (a.kind) {
      case 'prepare-and-start': {
        const id = a.task.id;
        this.setState({
          taskId: id,
          state: TaskState.TASK_STATE_PREPARING,
          message: 'preparing',
          err: '',
          containerId: '',
          exitCode: 0,
        });
        let containerId: string;
        try {
          // The engine pulls the image when the node lacks it (with the registry client's retries),
          // with the service's own registry credentials if it was given some. Started right after:
          // the network attachment made for the create is kept for the start.
          containerId = (
            await engine.containerCreate(taskContainerConfig(a.task), { ...taskPullOptions(a.task), startsNext: true })
          ).id;
        } catch (err) {
          const message = prepareFailureMessage(a.task, err);
          this.setState({
            taskId: id,
            state: TaskState.TASK_STATE_REJECTED,
            message: 'preparing',
            err: message,
            containerId: '',
            exitCode: 0,
          });
          return;
        }
        this.setState({
          taskId: id,
          state: TaskState.TASK_STATE_READY,
          message: 'ready',
          err: '',
          containerId,
          exitCode: 0,
        });
        return this.startContainer(a.task, containerId);
      }
      case 'start':
        return this.startContainer(a.task, a.containerId);
      case 'stop':
        return engine.containerStop(a.containerId, a.gracePeriodMs);
      case 'remove':
        await engine.containerStop(a.containerId, a.gracePeriodMs).catch(() => undefined);
        return engine.containerRemove(a.containerId, { force: true });
    }
  }

  private async startContainer(task: Task, containerId: string): Promise<void> {
    const base = { taskId: task.id, containerId, exitCode: 0, err: '' };
    this.setState({ ...base, state: TaskState.TASK_STATE_STARTING, message: 'starting' });
    try {
      await this.o.engine.containerStart(containerId);
    } catch (err) {
      this.setState({ ...base, state: TaskState.TASK_STATE_FAILED, message: 'starting', err: (err as Error).message });
      return;
    }
    this.setState({ ...base, state: TaskState.TASK_STATE_RUNNING, message: 'started' });
    this.waitForExit(containerId);
  }
}
