/**
 * Client-side coalescing (opt-in): puts that many sessions issue in one turn of the event loop
 * travel in one PutBatch request. Each put is still its own command with its own client ID and
 * sequence number, so deduplication and per-put results are unchanged; only the number of
 * RPCs falls (the gRPC cost per request, not Raft, bounds throughput at high concurrency).
 */
import { TswarmError, isErrorCode } from '../../../lib/errors.js';
import type { KvClient } from './client.js';
import { RETRYABLE_CODES } from './put-stream.js';
import { PUT_BATCH_COUNT_MAX, type PutBatchRequest, type PutBatchResponse, type PutRequest } from './service.js';

interface Item {
  req: PutRequest;
  attempts: number;
  resolve(): void;
  reject(err: Error): void;
}

export class PutCoalescer {
  private queued: Item[] = [];
  private scheduled = false;

  constructor(
    private readonly client: KvClient,
    private readonly attemptsMax: number,
  ) {}

  put(req: PutRequest): Promise<void> {
    return new Promise<void>((resolve, reject) => this.enqueue({ req, attempts: 0, resolve, reject }));
  }

  private enqueue(item: Item): void {
    this.queued.push(item);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    while (this.queued.length > 0) {
      const batch = this.queued.splice(0, PUT_BATCH_COUNT_MAX);
      this.client.call<PutBatchRequest, PutBatchResponse>('putBatch', { puts: batch.map((i) => i.req) }).then(
        (res) => batch.forEach((item, i) => this.settle(item, res.results[i])),
        (err: unknown) => {
          const e = err instanceof Error ? err : new Error(String(err));
          for (const item of batch) item.reject(e);
        },
      );
    }
  }

  private settle(item: Item, result: PutBatchResponse['results'][number] | undefined): void {
    if (result !== undefined && 'ok' in result) {
      item.resolve();
      return;
    }
    const code = result?.errorCode ?? 'INTERNAL';
    const message = result?.message ?? 'kv: the batch answer is missing this put';
    if (isErrorCode(code) && RETRYABLE_CODES.has(code) && ++item.attempts < this.attemptsMax) {
      this.enqueue(item); // same sequence number: applied at most once
      return;
    }
    item.reject(new TswarmError(isErrorCode(code) ? code : 'INTERNAL', message));
  }
}
