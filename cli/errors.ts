import { asTswarmError } from '../lib/errors.js';

/** "Error: <what happened>. <what to do>." — one line, ending in a full stop, so every error tells the reader what to do next. */
export function errorLine(message: string): string {
  const text = message.trim();
  return `Error: ${/[.!?]$/.test(text) ? text : text + '.'}\n`;
}

/** Prints an error and gives the exit code its code maps to. Internal errors keep their stack for reports. */
export function reportError(err: unknown, write: (text: string) => void): number {
  const e = asTswarmError(err);
  write(errorLine(e.message));
  if (e.code === 'INTERNAL' && process.env['TSWARM_DEBUG'] && e.cause instanceof Error)
    write(`${e.cause.stack ?? ''}\n`);
  return e.exitCode;
}
