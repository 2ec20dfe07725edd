/**
 * The logging methods tswarm's code calls, as a type with no I/O behind it. Parts that must stay
 * pure (the Raft core) or small (the WAL) take a BasicLogger, so tests can pass a recorder; the
 * daemon passes pino's Logger (lib/log.ts), which satisfies it and adds child loggers and levels.
 */

/** pino's two call forms: structured fields first, then the message; or the message alone. */
export interface LogFn {
  (obj: object, msg: string): void;
  (msg: string): void;
}

export interface BasicLogger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

/** Drops everything: the default where no logger is given. */
export const NOOP_LOGGER: BasicLogger = { debug() {}, info() {}, warn() {}, error() {} };
