import type { NodeDescription } from '../../gen/tswarm/v1/objects.js';

/** The least description a node sends with its beats and sessions, for tests that look at neither. */
export function bareDescription(hostname = 'w1'): NodeDescription {
  return { hostname, platform: undefined, resources: undefined, engineVersion: '', engineLabels: {} };
}
