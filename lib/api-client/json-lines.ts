import { StringDecoder } from 'node:string_decoder';
import { TswarmError } from '../errors.js';

/** One progress or status message; a longer line is not a message tswarmd sends. */
const LINE_BYTES_MAX = 1024 * 1024;

/**
 * The objects of a newline-delimited JSON stream (a pull's or a load's progress), each as soon
 * as its line is complete. An `{"error": …}` line is the daemon failing mid-stream, after its
 * 200: thrown as the error it names.
 */
export async function* readJsonLines<T>(source: AsyncIterable<Buffer>): AsyncGenerator<T> {
  for await (const line of readLines(source)) yield parseLine<T>(line);
}

/** The non-empty lines of a stream, trimmed, each as soon as it is complete (at most LINE_BYTES_MAX). */
export async function* readLines(source: AsyncIterable<Buffer>): AsyncGenerator<string> {
  let pending = '';
  // A character split across two chunks must come out whole, not as two replacement characters.
  const decoder = new StringDecoder('utf8');
  for await (const chunk of source) {
    pending += decoder.write(chunk);
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (line) yield line;
    }
    if (pending.length > LINE_BYTES_MAX)
      throw new TswarmError('INTERNAL', `a line of tswarmd's stream is longer than ${LINE_BYTES_MAX} bytes`);
  }
  pending += decoder.end();
  if (pending.trim()) yield pending.trim();
}

/** One line of a JSON-lines stream; a line that is not JSON is the daemon's fault, said so. */
export function parseLine<T>(line: string): T {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch (err) {
    throw new TswarmError('INTERNAL', `tswarmd's stream carried a line that is not JSON: ${line.slice(0, 200)}`, {
      cause: err,
    });
  }
  return obj as T;
}
