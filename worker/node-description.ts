import { arch, cpus, platform, totalmem } from 'node:os';
import type { NodeDescription } from '../gen/tswarm/v1/objects.js';
import { tswarmVersion } from '../lib/version.js';

/** What this node tells the managers about itself with each heartbeat. */
export function describeNode(hostname: string): NodeDescription {
  return {
    hostname,
    platform: { os: platform(), architecture: arch() },
    resources: { nanoCpus: cpus().length * 1e9, memoryBytes: totalmem(), pids: 0 },
    engineVersion: tswarmVersion(),
    engineLabels: {},
  };
}
