/** The sequential specification of the KV store, for the linearizability checker. */
import type { Model } from './linearizability.js';

export interface KvInput {
  op: 'put' | 'get' | 'append';
  key: string;
  value: string;
}

/** get: the value read. put/append: '' (they always succeed). */
export type KvOutput = string;

export const kvModel: Model<string, KvInput, KvOutput> = {
  init: () => '',
  step(s, input, output) {
    switch (input.op) {
      case 'get':
        // A read that never returned constrains nothing.
        return { ok: output === undefined || output === s, next: s };
      case 'put':
        return { ok: true, next: input.value };
      case 'append':
        return { ok: true, next: s + input.value };
    }
  },
  key: (s) => s,
  partition: (input) => input.key,
};
