/**
 * Assertions that stay on in production: each names the invariant that broke, so a failure
 * reads as a statement of what must be true rather than a stack trace to decode.
 */
export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

export function assert(condition: unknown, invariant: string): asserts condition {
  if (!condition) throw new AssertionError(`invariant violated: ${invariant}`);
}

export function unreachable(value: never, what: string): never {
  throw new AssertionError(`unreachable: unexpected ${what}: ${String(value)}`);
}
