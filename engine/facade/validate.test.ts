import { describe, expect, it } from 'vitest';
import { ContainerConfig } from '../../gen/tswarm/v1/engine.js';
import type { DeepPartial } from '../../gen/tswarm/v1/engine.js';
import { validateContainerConfig } from './validate.js';
import { imageVolumeMounts, LABEL_ANONYMOUS_VOLUME } from '../engine.js';
import { MountType } from '../../gen/tswarm/v1/objects.js';

const CPUS_ON_HOST = 2;
const check = (config: DeepPartial<ContainerConfig>) => () =>
  validateContainerConfig(
    ContainerConfig.fromPartial({ ...config, spec: { image: 'busybox', ...config.spec } }),
    CPUS_ON_HOST,
  );
const limits = (l: { nanoCpus?: number; memoryBytes?: number; pids?: number }) => check({ resources: { limits: l } });

describe('container config checks: what crun would refuse is refused first, saying what to give', () => {
  it('memory limits below 6 MiB, CPU limits outside 0.01 to the host’s CPUs', () => {
    expect(limits({ memoryBytes: 1024 })).toThrow(/memory limit 1024 bytes is below the minimum of 6 MiB/);
    expect(limits({ memoryBytes: 6 * 1024 * 1024 })).not.toThrow();
    expect(limits({ nanoCpus: 1_000_000 })).toThrow(/CPU limit 0\.001 is out of range. Give 0\.01 to 2/);
    expect(limits({ nanoCpus: 3e9 })).toThrow(/CPU limit 3\.000 is out of range/);
    expect(limits({ nanoCpus: 5e8, pids: 10 })).not.toThrow();
    expect(limits({ pids: -1 })).toThrow(/negative/);
  });

  it('hostnames sethostname takes', () => {
    expect(check({ spec: { hostname: 'web-1.example' } })).not.toThrow();
    expect(check({ spec: { hostname: 'x'.repeat(65) } })).toThrow(/invalid hostname/);
    expect(check({ spec: { hostname: 'under_score' } })).not.toThrow(); // Docker takes it too
    expect(check({ spec: { hostname: 'bad name' } })).toThrow(/invalid hostname "bad name"/);
    expect(check({ spec: { hostname: '-lead' } })).toThrow(/invalid hostname/);
  });

  it('refuses the anonymous-volume label from a client: rm -v would then delete a named volume', () => {
    const mount = {
      type: MountType.MOUNT_TYPE_VOLUME,
      source: 'data',
      target: '/data',
      readOnly: false,
      tmpfsSizeBytes: 0,
      tmpfsMode: 0,
      volumeLabels: { [LABEL_ANONYMOUS_VOLUME]: '' },
    };
    expect(check({ spec: { mounts: [mount] } })).toThrow(/is the engine's/);
  });

  it('DNS settings resolv.conf can take', () => {
    expect(
      check({ spec: { dnsNameservers: ['10.0.0.2', 'fd00::53'], dnsSearch: ['lab.test'], dnsOptions: ['ndots:2'] } }),
    ).not.toThrow();
    expect(check({ spec: { dnsNameservers: ['dns.example'] } })).toThrow(
      /DNS server "dns.example" is not an IP address/,
    );
    expect(check({ spec: { dnsSearch: ['a b'] } })).toThrow(/DNS setting "a b" is not a single word/);
  });

  it('health check timings: 0 for the default, else positive', () => {
    expect(check({ spec: { healthcheck: { test: ['CMD', 'true'], intervalMs: -5 } } })).toThrow(
      /health check interval -5 ms is out of range/,
    );
    expect(check({ spec: { healthcheck: { test: ['CMD', 'true'], timeoutMs: -1 } } })).toThrow(/health check timeout/);
    expect(
      check({ spec: { healthcheck: { test: ['CMD', 'true'], intervalMs: 0, timeoutMs: 1000, startPeriodMs: 10 } } }),
    ).not.toThrow();
  });
});

describe("the image's VOLUMEs", () => {
  it('become anonymous volumes where the spec mounts nothing', () => {
    const mounts = imageVolumeMounts({ Volumes: { '/data': {}, '/var/log/': {}, '/': {}, relative: {} } }, [
      {
        type: MountType.MOUNT_TYPE_TMPFS,
        source: '',
        target: '/var/log',
        readOnly: false,
        tmpfsSizeBytes: 0,
        tmpfsMode: 0,
        volumeLabels: {},
        volumeNoCopy: false,
      },
    ]);
    expect(mounts).toHaveLength(1);
    expect(mounts[0]).toMatchObject({
      type: MountType.MOUNT_TYPE_VOLUME,
      target: '/data',
      volumeLabels: { [LABEL_ANONYMOUS_VOLUME]: '' },
    });
    expect(mounts[0]!.source).toMatch(/^[0-9a-f]{64}$/);
  });
});
