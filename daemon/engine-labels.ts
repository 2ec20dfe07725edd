/**
 * `tswarmd --label K=V`: the engine labels this node reports in its description (Docker's
 * `dockerd --label`), which placement constraints (`engine.labels.K`) match. They are checked here,
 * where the operator typed them, by the same bounds the managers apply to a heartbeat's
 * description (manager/dispatcher/description-rules.ts), so a node never starts with labels the
 * managers would refuse.
 */
import { TswarmError } from '../lib/errors.js';
import {
  ENGINE_LABELS_MAX,
  LABEL_KEY_CHARS_MAX,
  LABEL_VALUE_CHARS_MAX,
} from '../manager/dispatcher/description-rules.js';

/** Docker reserves these namespaces for itself (moby opts.ValidateLabel); so does tswarm. */
const RESERVED_PREFIXES = ['com.docker.', 'io.docker.', 'org.dockerproject.'];

const bad = (label: string, what: string) =>
  new TswarmError('USAGE', `invalid engine label "${label.slice(0, 64)}": ${what}`);

/** One `K=V` (the value may be empty, and may hold `=`); refused with USAGE, naming the rule. */
export function parseEngineLabel(text: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq < 0) throw bad(text, 'use KEY=VALUE');
  const [key, value] = [text.slice(0, eq), text.slice(eq + 1)];
  if (key === '') throw bad(text, 'the key is empty');
  // Whitespace in a key could not be written in a constraint (engine.labels.KEY==VALUE).
  if (/[\s\u0000-\u001f\u007f]/.test(key)) throw bad(text, 'the key holds whitespace or control characters');
  if (/[\u0000-\u001f\u007f]/.test(value)) throw bad(text, 'the value holds control characters');
  if (RESERVED_PREFIXES.some((p) => key.toLowerCase().startsWith(p)))
    throw bad(text, `the namespaces ${RESERVED_PREFIXES.map((p) => `${p}*`).join(', ')} are reserved for internal use`);
  if (key.length > LABEL_KEY_CHARS_MAX) throw bad(text, `the key is longer than ${LABEL_KEY_CHARS_MAX} characters`);
  if (value.length > LABEL_VALUE_CHARS_MAX)
    throw bad(text, `the value is longer than ${LABEL_VALUE_CHARS_MAX} characters`);
  return [key, value];
}

/**
 * Adds one `--label` to those given before it. A key given twice with the same value is kept
 * once; with two values it is refused, as dockerd refuses "conflict labels".
 */
export function addEngineLabel(labels: Readonly<Record<string, string>>, text: string): Record<string, string> {
  const [key, value] = parseEngineLabel(text);
  const before = labels[key];
  if (before !== undefined && before !== value)
    throw new TswarmError(
      'USAGE',
      `conflicting engine labels ${key}=${before} and ${key}=${value}. Give each key once`,
    );
  const out = { ...labels, [key]: value };
  if (Object.keys(out).length > ENGINE_LABELS_MAX)
    throw new TswarmError('USAGE', `more than ${ENGINE_LABELS_MAX} engine labels. Keep the ones constraints need`);
  return out;
}
