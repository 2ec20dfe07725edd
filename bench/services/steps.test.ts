import { describe, expect, it } from 'vitest';
import { runningCount, serviceSpec, type TaskView } from './steps.js';

const task = (id: string, node: string, state: string, desired = 'running'): TaskView => ({
  ID: id,
  NodeID: node,
  DesiredState: desired,
  Status: { State: state },
});

describe('the services benchmark’s steps', () => {
  it('counts tasks meant to run and reported running, leaving out a dead node’s last reports', () => {
    const tasks = [
      task('a', 'n1', 'running'),
      task('b', 'n2', 'running'),
      task('c', 'n2', 'starting'),
      task('d', 'n3', 'running', 'shutdown'),
      task('e', 'dead', 'running'),
    ];
    expect(runningCount(tasks)).toBe(3);
    expect(runningCount(tasks, 'dead')).toBe(2);
  });

  it('asks both systems for the same service: N replicas of `sleep 1d`, stopped by SIGKILL', () => {
    expect(serviceSpec('web', 'reg/img:1', 60)).toEqual({
      Name: 'web',
      TaskTemplate: { ContainerSpec: { Image: 'reg/img:1', Command: ['sleep', '1d'], StopSignal: 'SIGKILL' } },
      Mode: { Replicated: { Replicas: 60 } },
    });
  });
});
