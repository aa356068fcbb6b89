/**
 * Names that must agree between the starter (CLI), the worker and the workflows: task queue,
 * workflow IDs, search attribute keys (registered on the server with exactly these names), and the
 * run's one-line summary.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { UpgradeInput } from './types';

export const TASK_QUEUE = 'kupgrade';

/** One active upgrade per cluster: start with workflowIdConflictPolicy 'FAIL'. */
export function upgradeWorkflowId(cluster: string): string {
  return `kupgrade-${cluster}`;
}

export function planWorkflowId(cluster: string, suffix: string): string {
  return `kupgrade-plan-${cluster}-${suffix}`;
}

/** Child workflow of one node, one hop, one attempt (unique: a retry starts a new child). */
export function nodeWorkflowId(
  parentId: string,
  node: string,
  hop: number,
  attempt: number,
  part = '',
): string {
  return `${parentId}/h${hop}/${node}/a${attempt}${part ? `-${part}` : ''}`;
}

export const SA_CLUSTER = defineSearchAttributeKey('KupgradeCluster', SearchAttributeType.KEYWORD);
export const SA_TARGET = defineSearchAttributeKey('KupgradeTarget', SearchAttributeType.KEYWORD);
export const SA_PHASE = defineSearchAttributeKey('KupgradePhase', SearchAttributeType.KEYWORD);

/** Workflow type names (registered by src/workflows/index.ts). */
export const WORKFLOW_TYPES = {
  upgrade: 'upgradeCluster',
  node: 'upgradeNode',
  plan: 'planUpgrade',
} as const;

/**
 * The run's staticSummary (one line, ≤ 200 bytes): "prod-bj: v1.29.6 → v1.30.4, 3 CP + 40 workers".
 * `from` is the current version when the starter knows it (e.g. from a plan).
 */
export function summaryFor(
  input: Pick<UpgradeInput, 'inventory' | 'target' | 'options'>,
  from?: string,
): string {
  const cps = input.inventory.nodes.filter((n) => n.role === 'control-plane').length;
  const ws = input.inventory.nodes.length - cps;
  const to = input.target.startsWith('v') ? input.target : `v${input.target}`;
  const range = from ? `${from.startsWith('v') ? from : `v${from}`} → ${to}` : `→ ${to}`;
  const flags = [input.options?.dryRun ? 'dry run' : '', input.options?.autoApprove ? 'auto-approve' : '']
    .filter(Boolean)
    .join(', ');
  const text = `${input.inventory.metadata.name}: ${range}, ${cps} CP + ${ws} worker${ws === 1 ? '' : 's'}${flags ? ` (${flags})` : ''}`;
  return truncateUtf8(text, 200);
}

function truncateUtf8(text: string, maxBytes: number): string {
  let out = '';
  let bytes = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes + n > maxBytes) break;
    out += ch;
    bytes += n;
  }
  return out;
}
