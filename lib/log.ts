import { pino, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';
import { TswarmError } from './errors.js';
import type { BasicLogger } from './logger.js';

export type { Logger } from 'pino';
export { NOOP_LOGGER, type BasicLogger, type LogFn } from './logger.js';

// pino's Logger must stay a BasicLogger (the Raft core and the WAL log through one); a pino
// upgrade that breaks this fails the build here rather than at each call site.
type Is<T extends true> = T;
export type _PinoIsABasicLogger = Is<Logger extends BasicLogger ? true : false>;

export const LOG_LEVELS: readonly LevelWithSilent[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export function parseLogLevel(value: string): LevelWithSilent {
  const level = value.toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new TswarmError('USAGE', `invalid log level "${value}". Use one of: ${LOG_LEVELS.join(', ')}`);
  }
  return level as LevelWithSilent;
}

export interface LoggerOptions {
  level?: LevelWithSilent;
  name?: string;
  /** Force human-readable output; defaults to whether stderr is a terminal. */
  pretty?: boolean;
}

/**
 * Structured logs on stderr: JSON for machines (journald, log shippers), human-readable when a
 * person is watching a terminal. Writes are synchronous so the last lines before a crash survive.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const usePretty = options.pretty ?? process.stderr.isTTY === true;
  // The machine's hostname is left out: a lab runs several nodes on one machine, and each daemon
  // logs its own node name where it matters.
  const base = { level: options.level ?? 'info', name: options.name ?? 'tswarm', base: { pid: process.pid } };
  if (usePretty) {
    return pino(base, pretty({ destination: 2, sync: true, colorize: true, ignore: 'pid,hostname' }));
  }
  return pino(base, pino.destination({ dest: 2, sync: true }));
}

/** A logger that drops everything, for unit tests and library code with no logger given. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
