import type { Node } from '../../gen/tswarm/v1/objects.js';
import { TswarmError } from '../../lib/errors.js';
import { labelField, labelOf } from './constraint.js';
import { MinHeap } from './heap.js';
import { activeTasksOf, type NodeInfo } from './node-info.js';

/**
 * Spreading a service's tasks (SwarmKit's decision tree). With `--placement-pref
 * spread=node.labels.zone`, the nodes are grouped by their zone (nodes without the label form a
 * group of their own, value ""), and each task goes to the group that runs the fewest tasks of the
 * service; with several preferences the groups nest, in the order given. Within a group, the node
 * with the fewest tasks of the service, then the fewest tasks overall. A group's count includes
 * the tasks on its nodes that can take no more, as SwarmKit counts them: spreading is about where
 * the service runs, not where it can still go.
 *
 * Every level is a heap, so one placement costs O(levels × log(branches) + log(nodes)): a batch
 * of T tasks over N nodes is O(N + T log N), not O(T × N).
 */

export interface SpreadLabel {
  kind: 'nodeLabel' | 'engineLabel';
  label: string;
}

/** Parses `node.labels.K` or `engine.labels.K` (the part after `spread=`). */
export function parseSpreadDescriptor(descriptor: string): SpreadLabel {
  const field = labelField(descriptor.trim());
  if (field?.kind === 'nodeLabel' || field?.kind === 'engineLabel') return field;
  throw new TswarmError(
    'INVALID_ARGUMENT',
    `invalid placement preference "spread=${descriptor}": tasks can be spread over node.labels.<label> or engine.labels.<label>. Write it as spread=node.labels.zone`,
  );
}

function labelValue(label: SpreadLabel, node: Node): string {
  const labels = label.kind === 'nodeLabel' ? node.spec?.annotations?.labels : node.description?.engineLabels;
  return labelOf(labels, label.label) ?? '';
}

interface BranchBase {
  /** The label value this branch stands for ("" at the root and for nodes without it). */
  value: string;
  /** Tasks of the service on every node under this branch. */
  serviceTasks: number;
}
interface Leaf extends BranchBase {
  kind: 'leaf';
  nodes: MinHeap<NodeInfo>;
}
interface Inner extends BranchBase {
  kind: 'inner';
  children: MinHeap<Branch>;
}
export type Branch = Leaf | Inner;

interface Draft {
  value: string;
  serviceTasks: number;
  children: Map<string, Draft>;
  eligible: NodeInfo[];
}

const branchLess = (a: Branch, b: Branch) =>
  a.serviceTasks !== b.serviceTasks ? a.serviceTasks < b.serviceTasks : a.value < b.value;

function nodeLess(serviceId: string): (a: NodeInfo, b: NodeInfo) => boolean {
  return (a, b) => {
    const byService = activeTasksOf(a, serviceId) - activeTasksOf(b, serviceId);
    if (byService !== 0) return byService < 0;
    if (a.activeTasks !== b.activeTasks) return a.activeTasks < b.activeTasks;
    return a.node.id < b.node.id;
  };
}

/** Drafts without an eligible node are dropped: there is nothing to place under them. */
function freeze(draft: Draft, depth: number, serviceId: string): Branch | undefined {
  if (depth === 0) {
    if (draft.eligible.length === 0) return undefined;
    const nodes = new MinHeap<NodeInfo>(nodeLess(serviceId));
    for (const info of draft.eligible) nodes.push(info);
    return { kind: 'leaf', value: draft.value, serviceTasks: draft.serviceTasks, nodes };
  }
  const children = new MinHeap<Branch>(branchLess);
  for (const child of draft.children.values()) {
    const frozen = freeze(child, depth - 1, serviceId);
    if (frozen) children.push(frozen);
  }
  if (children.size === 0) return undefined;
  return { kind: 'inner', value: draft.value, serviceTasks: draft.serviceTasks, children };
}

/**
 * The tree over every node (for the counts), holding as candidates only the `eligible` ones.
 * Undefined when no node is eligible.
 */
export function buildSpreadTree(
  infos: Iterable<NodeInfo>,
  serviceId: string,
  labels: readonly SpreadLabel[],
  eligible: (info: NodeInfo) => boolean,
): Branch | undefined {
  const root: Draft = { value: '', serviceTasks: 0, children: new Map(), eligible: [] };
  for (const info of infos) {
    const count = activeTasksOf(info, serviceId);
    let draft = root;
    draft.serviceTasks += count;
    for (const label of labels) {
      const value = labelValue(label, info.node);
      let child = draft.children.get(value);
      if (!child) {
        child = { value, serviceTasks: 0, children: new Map(), eligible: [] };
        draft.children.set(value, child);
      }
      child.serviceTasks += count;
      draft = child;
    }
    if (eligible(info)) draft.eligible.push(info);
  }
  return freeze(root, labels.length, serviceId);
}

/**
 * Takes the best node for the next task, lets `place` account for the task on it, and reorders
 * the tree; a node for which `fitsAnother` is false afterwards leaves the tree, and so does a
 * branch left with no node. Undefined when the tree is empty (`root` itself is then spent).
 */
export function takeNode(
  root: Branch,
  place: (info: NodeInfo) => void,
  fitsAnother: (info: NodeInfo) => boolean,
): NodeInfo | undefined {
  const path: Inner[] = [];
  let branch: Branch = root;
  while (branch.kind === 'inner') {
    const next = branch.children.peek();
    if (!next) return undefined;
    path.push(branch);
    branch = next;
  }
  const info = branch.nodes.peek();
  if (!info) return undefined;
  place(info);
  branch.serviceTasks += 1;
  if (fitsAnother(info)) branch.nodes.fixTop();
  else branch.nodes.pop();
  let emptied = branch.nodes.size === 0;
  for (let i = path.length - 1; i >= 0; i--) {
    const parent = path[i]!;
    parent.serviceTasks += 1;
    if (emptied) parent.children.pop();
    else parent.children.fixTop();
    emptied = parent.children.size === 0;
  }
  return info;
}
