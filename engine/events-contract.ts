/**
 * What the engine tells of what it does, for the node's event stream (Docker's `GET /events`,
 * scope "local"): which kind of object, what happened to it (Docker's action words: `create`,
 * `start`, `die`, `pull`, `destroy`…), its ID and its attributes (a container's labels, image
 * and name; a die's exit code…). The daemon stamps the time and keeps them; the engine only says.
 */
export type EngineEventType = 'container' | 'image' | 'volume' | 'network';

export interface EngineEvent {
  type: EngineEventType;
  action: string;
  id: string;
  attributes: Record<string, string>;
}

export type EngineEvents = (event: EngineEvent) => void;

/** Calls `events`, and never lets a listener's failure break the operation that told it. */
export function tell(events: EngineEvents | undefined, event: EngineEvent, onError: (err: unknown) => void): void {
  if (!events) return;
  try {
    events(event);
  } catch (err) {
    onError(err);
  }
}
