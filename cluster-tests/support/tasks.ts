/** A task as the Engine API's `/tasks` shows it, the fields the service scenario tests read. */
export interface TaskShape {
  ID: string;
  ServiceID: string;
  NodeID: string;
  Slot: number;
  DesiredState: string;
  Status: { State: string };
}

/**
 * Slots with more than one task meant to run — or, with `reported`, also one whose node last
 * reported it running: while a node is down or cut off its tasks' last reports stand (nobody can
 * say otherwise); once it is back, each must have moved on.
 */
export function doubledSlots(tasks: readonly TaskShape[], reported = false): number[] {
  const live = tasks.filter((t) => t.DesiredState === 'running' || (reported && t.Status.State === 'running'));
  const bySlot = new Map<number, number>();
  for (const t of live) bySlot.set(t.Slot, (bySlot.get(t.Slot) ?? 0) + 1);
  return [...bySlot].filter(([, n]) => n > 1).map(([slot]) => slot);
}
