/**
 * A simulated network: each message is dropped, duplicated or delayed at random, so arrival
 * order differs from send order; partitions cut links both ways. In flight messages are
 * bounded; beyond the bound new ones are dropped (as a full transport queue would).
 */
import type { Random } from '../../../lib/random.js';
import type { Message } from '../core/messages.js';
import type { NodeId } from '../core/types.js';

export interface NetworkFaults {
  /** Per mille of messages dropped. */
  dropPerMille: number;
  duplicatePerMille: number;
  /** Delivery delay, in ticks, uniform in [0, maxDelayTicks]. */
  maxDelayTicks: number;
}

interface InFlight {
  deliverAt: number;
  seq: number;
  m: Message;
}

export class SimNetwork {
  private inFlight: InFlight[] = [];
  private seq = 0;
  /** Node -> partition group; nodes in different groups cannot talk. Empty: no partition. */
  private group = new Map<NodeId, number>();
  dropped = 0;
  delivered = 0;

  constructor(
    private readonly random: Random,
    public faults: NetworkFaults,
    readonly maxInFlight = 10_000,
  ) {}

  partition(groups: NodeId[][]): void {
    this.group = new Map(groups.flatMap((g, i) => g.map((id) => [id, i] as [NodeId, number])));
  }

  heal(): void {
    this.group.clear();
  }

  isPartitioned(): boolean {
    return this.group.size > 0;
  }

  connected(a: NodeId, b: NodeId): boolean {
    return (this.group.get(a) ?? -1) === (this.group.get(b) ?? -1);
  }

  /** Returns false if the message was lost at once (drop, partition, full queue). */
  send(m: Message, now: number): boolean {
    if (
      this.inFlight.length >= this.maxInFlight ||
      this.random.int(1000) < this.faults.dropPerMille ||
      !this.connected(m.from, m.to)
    ) {
      this.dropped++;
      return false;
    }
    const copies = this.random.int(1000) < this.faults.duplicatePerMille ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      this.inFlight.push({ deliverAt: now + this.random.int(this.faults.maxDelayTicks + 1), seq: this.seq++, m });
    }
    return true;
  }

  /** Messages due by `now`, in delivery order; a partition formed meanwhile cuts them too. */
  due(now: number): { delivered: Message[]; cut: Message[] } {
    const ready = this.inFlight
      .filter((f) => f.deliverAt <= now)
      .sort((a, b) => a.deliverAt - b.deliverAt || a.seq - b.seq);
    this.inFlight = this.inFlight.filter((f) => f.deliverAt > now);
    const delivered: Message[] = [];
    const cut: Message[] = [];
    for (const f of ready) (this.connected(f.m.from, f.m.to) ? delivered : cut).push(f.m);
    this.delivered += delivered.length;
    this.dropped += cut.length;
    return { delivered, cut };
  }

  pending(): number {
    return this.inFlight.length;
  }
}
