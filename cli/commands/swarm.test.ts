import { afterEach, describe, expect, it } from 'vitest';
import { TEST_SHORT_CERTS_ENV } from '../../ca/limits.js';
import { clusterSpecFromDocker, initRequestFromDocker } from '../../daemon/api/swarm-spec.js';
import { parseTaskHistoryLimit } from './swarm-flags.js';
import { updatedSwarmSpec } from './swarm-update.js';
import { initSpec } from './swarm.js';

const defaults = { listenAddr: '0.0.0.0:2377', availability: 'active' };

describe('tswarm init: flags as the body of POST /swarm/init', () => {
  const saved = process.env[TEST_SHORT_CERTS_ENV];
  afterEach(() => {
    if (saved === undefined) delete process.env[TEST_SHORT_CERTS_ENV];
    else process.env[TEST_SHORT_CERTS_ENV] = saved;
  });

  it('reaches the daemon as the cluster spec the flags say (durations through nanoseconds)', () => {
    const spec = initSpec({
      ...defaults,
      certExpiry: '2160h',
      dispatcherHeartbeat: '1s',
      raftTick: '100ms',
      electionTicks: 12,
      snapshotInterval: 5000,
    });
    expect(initRequestFromDocker({ Spec: spec }).spec).toMatchObject({
      raft: { tickMs: 100, electionTick: 12, snapshotInterval: 5000 },
      dispatcher: { heartbeatPeriodMs: 1000 },
      caConfig: { nodeCertExpiryMs: 2160 * 3600 * 1000 },
    });
  });

  it('leaves unset flags 0, for the daemon’s defaults', () => {
    expect(initRequestFromDocker({ Spec: initSpec(defaults) }).spec).toMatchObject({
      raft: { tickMs: 0, electionTick: 0, snapshotInterval: 0 },
      dispatcher: { heartbeatPeriodMs: 0 },
      caConfig: { nodeCertExpiryMs: 0 },
    });
  });

  it('refuses a certificate lifetime under an hour before any traffic, unless a test allows it', () => {
    delete process.env[TEST_SHORT_CERTS_ENV];
    expect(() => initSpec({ ...defaults, certExpiry: '20s' })).toThrow('--cert-expiry must be at least 1h, got 20s');
    process.env[TEST_SHORT_CERTS_ENV] = '1';
    expect(initRequestFromDocker({ Spec: initSpec({ ...defaults, certExpiry: '20s' }) }).spec?.caConfig).toMatchObject({
      nodeCertExpiryMs: 20_000,
      forceRotate: 0,
    });
  });
});

describe('tswarm swarm update: the spec read, with the flags given applied', () => {
  const current = {
    Name: 'default',
    Orchestration: { TaskHistoryRetentionLimit: 5 },
    Raft: { SnapshotInterval: 10_000, ElectionTick: 10 },
    Dispatcher: { HeartbeatPeriod: 1e9 },
    CAConfig: { NodeCertExpiry: 2160 * 3600 * 1e9 },
  };

  it('changes only what a flag names, and the daemon reads it back as the cluster spec', () => {
    const spec = updatedSwarmSpec(current, { taskHistoryLimit: 2, dispatcherHeartbeat: '2s' });
    expect(spec).toEqual({
      ...current,
      Orchestration: { TaskHistoryRetentionLimit: 2 },
      Dispatcher: { HeartbeatPeriod: 2e9 },
    });
    const base = initRequestFromDocker({ Spec: current }).spec!;
    expect(clusterSpecFromDocker(spec, base)).toMatchObject({
      orchestration: { taskHistoryRetentionLimit: 2 },
      raft: { snapshotInterval: 10_000, electionTick: 10 },
      dispatcher: { heartbeatPeriodMs: 2_000 },
    });
  });

  it('refuses a limit that is not a whole number, naming the flag', () => {
    expect(parseTaskHistoryLimit('0')).toBe(0);
    expect(() => parseTaskHistoryLimit('-1')).toThrow(/invalid --task-history-limit "-1"/);
    expect(() => parseTaskHistoryLimit('five')).toThrow(/whole number/);
  });

  it('init takes --task-history-limit', () => {
    const spec = initSpec({ ...defaults, taskHistoryLimit: 3 });
    expect(initRequestFromDocker({ Spec: spec }).spec).toMatchObject({
      orchestration: { taskHistoryRetentionLimit: 3 },
    });
  });
});
