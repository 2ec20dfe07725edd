/**
 * The filters of Docker's `GET /events` (moby daemon/events/filter.go), which the daemon applies
 * and the CLI's `--filter` takes: here, so the CLI knows them without loading the daemon's code.
 */
export const EVENT_FILTER_KEYS = [
  'config',
  'container',
  'daemon',
  'event',
  'image',
  'label',
  'network',
  'node',
  'plugin',
  'scope',
  'secret',
  'service',
  'type',
  'volume',
] as const;
