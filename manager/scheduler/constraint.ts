import { NodeRole, type Node } from '../../gen/tswarm/v1/objects.js';
import { TswarmError } from '../../lib/errors.js';
import { normalizeArch } from './platform.js';

/**
 * Placement constraints (`--constraint node.labels.zone==eu`), parsed as SwarmKit's
 * manager/constraint does, so a constraint Docker accepts is accepted here and means the same:
 * operators `==` and `!=`, keys and values checked against Docker's patterns, values compared
 * without regard to case, label names with regard to it. Unlike SwarmKit, an unknown key is
 * refused at parse time instead of silently matching no node, so `service create` says what is
 * wrong rather than leaving the service pending forever.
 */

export type ConstraintOperator = '==' | '!=';

/** What a constraint reads from a node. */
export type ConstraintField =
  { kind: 'id' | 'hostname' | 'role' | 'os' | 'arch' } | { kind: 'nodeLabel' | 'engineLabel'; label: string };

export interface Constraint {
  /** As written (trimmed), for messages: "node.labels.zone==eu". */
  text: string;
  field: ConstraintField;
  operator: ConstraintOperator;
  value: string;
}

// Docker's patterns (swarmkit manager/constraint/constraint.go): a value may not contain the
// characters of current or future operators (=, !, <, >, ~).
const KEY_PATTERN = /^[a-z_][a-z0-9\-_.]+$/i;
const VALUE_PATTERN = /^[a-z0-9:\-_\s.*()?+[\]\\^$|/]+$/i;
const OPERATORS: readonly ConstraintOperator[] = ['==', '!='];

export const NODE_LABEL_PREFIX = 'node.labels.';
export const ENGINE_LABEL_PREFIX = 'engine.labels.';
const FIXED_KEYS = new Map<string, 'id' | 'hostname' | 'role' | 'os' | 'arch'>([
  ['node.id', 'id'],
  ['node.hostname', 'hostname'],
  ['node.role', 'role'],
  ['node.platform.os', 'os'],
  ['node.platform.arch', 'arch'],
]);
const KNOWN_KEYS = `${[...FIXED_KEYS.keys()].join(', ')}, ${NODE_LABEL_PREFIX}<label>, ${ENGINE_LABEL_PREFIX}<label>`;

/**
 * A label's value, or undefined. Labels are plain objects (ts-proto maps), so a label named like
 * an Object.prototype member ("constructor") must not read the prototype's.
 */
export function labelOf(labels: { [key: string]: string } | undefined, name: string): string | undefined {
  return labels !== undefined && Object.hasOwn(labels, name) ? labels[name] : undefined;
}

function invalid(text: string, why: string, what: string): TswarmError {
  return new TswarmError('INVALID_ARGUMENT', `invalid constraint "${text}": ${why}. ${what}`);
}

/** A label read from a `node.labels.K` / `engine.labels.K` key, or undefined for another key. */
export function labelField(key: string): ConstraintField | undefined {
  const lower = key.toLowerCase();
  for (const [prefix, kind] of [
    [NODE_LABEL_PREFIX, 'nodeLabel'],
    [ENGINE_LABEL_PREFIX, 'engineLabel'],
  ] as const) {
    if (lower.startsWith(prefix) && key.length > prefix.length) return { kind, label: key.slice(prefix.length) };
  }
  return undefined;
}

function fieldOf(key: string, text: string): ConstraintField {
  const fixed = FIXED_KEYS.get(key.toLowerCase());
  if (fixed) return { kind: fixed };
  const label = labelField(key);
  if (label) return label;
  throw invalid(text, `unknown key "${key}"`, `Use one of ${KNOWN_KEYS}`);
}

export function parseConstraint(raw: string): Constraint {
  const text = raw.trim();
  const operator = OPERATORS.find((op) => text.includes(op));
  if (!operator)
    throw invalid(
      text,
      'expected one operator from ==, !=',
      'Write it as KEY==VALUE or KEY!=VALUE, e.g. node.role==worker',
    );
  const at = text.indexOf(operator);
  const key = text.slice(0, at).trim();
  const value = text.slice(at + operator.length).trim();
  if (!KEY_PATTERN.test(key))
    throw invalid(
      text,
      `key "${key}" is invalid`,
      'A key starts with a letter or _ and holds letters, digits, -, _ and .',
    );
  if (!VALUE_PATTERN.test(value))
    throw invalid(
      text,
      `value "${value}" is invalid`,
      'A value is not empty and holds no =, !, <, > or ~ (letters, digits, spaces and : - _ . * ( ) ? + [ ] \\ ^ $ | /)',
    );
  return { text: `${key}${operator}${value}`, field: fieldOf(key, text), operator, value };
}

/** Parses every constraint, failing on the first bad one (as `service create` refuses it). */
export function parseConstraints(texts: readonly string[]): Constraint[] {
  return texts.map(parseConstraint);
}

function roleText(role: NodeRole): string {
  if (role === NodeRole.NODE_ROLE_MANAGER) return 'manager';
  if (role === NodeRole.NODE_ROLE_WORKER) return 'worker';
  return '';
}

/** The node's value for a field; a missing description or label reads as "" (as SwarmKit). */
function nodeValue(field: ConstraintField, node: Node): string {
  const d = node.description;
  switch (field.kind) {
    case 'id':
      return node.id;
    case 'hostname':
      return d?.hostname ?? '';
    case 'role':
      return roleText(node.role);
    case 'os':
      return d?.platform?.os ?? '';
    case 'arch':
      return d?.platform?.architecture ?? '';
    case 'nodeLabel':
      return labelOf(node.spec?.annotations?.labels, field.label) ?? '';
    case 'engineLabel':
      return labelOf(d?.engineLabels, field.label) ?? '';
  }
}

export function constraintMatches(c: Constraint, node: Node): boolean {
  const actual = nodeValue(c.field, node);
  // Architectures have several spellings (x86_64, amd64, x64): compare what they name.
  const equal =
    c.field.kind === 'arch'
      ? normalizeArch(actual) === normalizeArch(c.value)
      : actual.toLowerCase() === c.value.toLowerCase();
  return c.operator === '==' ? equal : !equal;
}

/** The first constraint the node fails, or undefined when it meets them all. */
export function firstUnmet(constraints: readonly Constraint[], node: Node): Constraint | undefined {
  return constraints.find((c) => !constraintMatches(c, node));
}
