/**
 * Markdown rendering of the state for the Temporal UI's current details (setCurrentDetails, max
 * 20 KB). Pure: the CLI may reuse it.
 */
import type { NodeState, UpgradeState } from './types';

const MAX_ROWS = 60;

function cell(text: string | undefined): string {
  return (text ?? '').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function hhmmss(iso: string | undefined): string {
  return iso ? iso.slice(11, 19) : '';
}

export function renderDetails(state: UpgradeState): string {
  const lines: string[] = [];
  const hop = state.hopIndex !== undefined ? state.hops[state.hopIndex] : undefined;
  lines.push(
    `**${cell(state.cluster)}** → ${cell(state.target)} · phase **${state.phase}**` +
      (hop ? ` · hop ${hop.index + 1}/${state.hops.length} (${hop.version})` : '') +
      (state.paused ? ' · paused' : ''),
  );
  if (state.gate) {
    lines.push(
      '',
      `Gate **${state.gate.name}** is open: \`kupgrade approve ${state.cluster} --gate ${state.gate.name}\``,
    );
  }
  for (const b of state.blocked) {
    lines.push(
      '',
      `Blocked: **${cell(b.node ?? b.step)}** at ${b.step} (${b.type}): ${cell(b.message).slice(0, 300)} — \`kupgrade retry|skip|abort ${state.cluster}\``,
    );
  }
  if (state.backup) {
    lines.push(
      '',
      `Backup on ${state.backup.node}: ${cell(state.backup.kubernetesCopy)} ${cell(state.backup.etcdSnapshot)}`,
    );
  }
  if (state.rehearsal) {
    lines.push(
      '',
      `Rehearsal on ${state.rehearsal.node} (kubeadm upgrade diff, apply --dry-run): ${cell(state.rehearsal.detail ?? 'done')} (output in its node workflow)`,
    );
  }
  const counts = new Map<string, number>();
  for (const n of state.nodes) counts.set(n.status, (counts.get(n.status) ?? 0) + 1);
  lines.push('', [...counts.entries()].map(([k, v]) => `${k}: ${v}`).join(' · '));
  // Show every node for small clusters; otherwise the interesting ones first.
  let rows: NodeState[] = state.nodes;
  if (rows.length > MAX_ROWS) {
    const rank = (n: NodeState): number =>
      n.status === 'blocked'
        ? 0
        : n.status === 'running' || n.status === 'prepared'
          ? 1
          : n.status === 'pending'
            ? 3
            : 2;
    rows = [...rows].sort((a, b) => rank(a) - rank(b)).slice(0, MAX_ROWS);
  }
  lines.push(
    '',
    '| node | role | status | step | version | started | finished |',
    '|---|---|---|---|---|---|---|',
  );
  for (const n of rows) {
    lines.push(
      `| ${cell(n.name)} | ${n.role === 'control-plane' ? 'CP' : 'worker'} | ${n.status} | ${n.step ?? ''} | ${cell(n.version)} | ${hhmmss(n.startedAt)} | ${hhmmss(n.finishedAt)} |`,
    );
  }
  if (rows.length < state.nodes.length) lines.push('', `… ${state.nodes.length - rows.length} more nodes`);
  return lines.join('\n');
}
