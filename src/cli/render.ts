/** Terminal rendering for the CLI: tables, the watch screen, the plan. Pure string builders. */
import { stringify } from 'yaml';
import type { UpgradePlan, UpgradeState } from '../shared/types';
import type { OutputFormat } from './args';

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : (c ?? '').padEnd(widths[i])))
      .join('   ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function formatted(value: unknown, format: Exclude<OutputFormat, 'table'>): string {
  return format === 'json' ? JSON.stringify(value, null, 2) : stringify(value);
}

function since(iso: string | undefined, now: number): string {
  if (!iso) return '';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return s < 60
    ? `${s}s`
    : s < 3600
      ? `${Math.floor(s / 60)}m${s % 60}s`
      : `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

function duration(a: string | undefined, b: string | undefined, now: number): string {
  if (!a) return '';
  return since(a, b ? Date.parse(b) : now);
}

function progressBar(done: number, total: number, width = 30): string {
  const frac = total ? done / total : 1;
  const n = Math.round(frac * width);
  return `[${'#'.repeat(n)}${'.'.repeat(width - n)}] ${done}/${total} nodes`;
}

function nodesFinished(state: UpgradeState): number {
  return state.nodes.filter((n) => ['done', 'up-to-date', 'skipped'].includes(n.status)).length;
}

/** The watch screen: phase, hop, gate with the exact approve command, node table, progress. */
export function watchScreen(state: UpgradeState, now = Date.now()): string {
  const hop = state.hopIndex !== undefined ? state.hops[state.hopIndex] : undefined;
  const lines = [
    `Cluster ${state.cluster}: ${state.from ?? '?'} → ${state.target}   phase ${state.phase}` +
      (hop ? `   hop ${hop.index + 1}/${state.hops.length} (${hop.version})` : '') +
      (state.paused ? '   PAUSED' : '') +
      `   window ${state.window}`,
  ];
  if (state.gate) {
    lines.push(
      `Gate "${state.gate.name}" is open. Approve with:  kupgrade approve ${state.cluster} --gate ${state.gate.name} --by <you>`,
    );
  }
  for (const b of state.blocked) {
    lines.push(
      `BLOCKED ${b.node ?? ''} at ${b.step} (${b.type}): ${b.message.split('\n')[0].slice(0, 160)}`,
      `  decide:  kupgrade retry ${state.cluster}  |  kupgrade skip ${state.cluster} --node ${b.node ?? '?'}  |  kupgrade abort ${state.cluster}`,
    );
  }
  if (state.rehearsal) {
    lines.push(`Rehearsal on ${state.rehearsal.node}: ${state.rehearsal.detail ?? 'done'}`);
    if (state.rehearsal.outputTail)
      lines.push(
        ...state.rehearsal.outputTail
          .split('\n')
          .slice(0, 20)
          .map((l) => `  | ${l}`),
      );
  }
  lines.push('');
  lines.push(
    table(
      ['NODE', 'ROLE', 'STATUS', 'STEP', 'VERSION', 'TIME'],
      state.nodes.map((n) => [
        n.name,
        n.role,
        n.status,
        n.step ?? '',
        n.version ?? '',
        duration(n.startedAt, n.finishedAt, now),
      ]),
    ),
  );
  lines.push('', progressBar(nodesFinished(state), state.nodes.length));
  if (state.message) lines.push('', state.message);
  return lines.join('\n');
}

export function planText(plan: UpgradePlan): string {
  const out: string[] = [];
  out.push(
    `Cluster ${plan.cluster}: target ${plan.target}${plan.resolvedTarget ? ` → ${plan.resolvedTarget}` : ''}`,
  );
  if (plan.apiServerVersion) out.push(`API server: ${plan.apiServerVersion}`);
  out.push('', 'Current versions:');
  out.push(
    table(
      ['NODE', 'ROLE', 'KUBELET', 'READY', 'SCHEDULABLE'],
      plan.versions.map((v) => [
        v.name,
        v.role,
        v.kubeletVersion,
        v.ready ? 'yes' : 'no',
        v.unschedulable ? 'no (cordoned)' : 'yes',
      ]),
    ),
  );
  if (plan.preflight) {
    out.push('', `Preflight: ${plan.preflight.ok ? 'ok' : 'FAILED'}`);
    out.push(
      table(
        ['CHECK', 'NODE', 'RESULT', 'DETAIL'],
        plan.preflight.checks.map((c) => [c.name, c.node ?? '', c.status.toUpperCase(), c.message]),
      ),
    );
    if (plan.preflight.pdbs.length) {
      out.push('', 'PodDisruptionBudgets that may block a drain:');
      out.push(
        table(
          ['NAMESPACE/NAME', 'WHY', 'NODES'],
          plan.preflight.pdbs.map((p) => [`${p.namespace}/${p.name}`, p.reason, p.nodes.join(',')]),
        ),
      );
    }
  }
  if (plan.refused) {
    out.push('', `REFUSED (${plan.refused.type}): ${plan.refused.message}`);
    return out.join('\n');
  }
  for (const h of plan.hops) {
    out.push(
      '',
      `Hop ${h.hop.index + 1}: ${h.hop.from} → ${h.hop.version}   gates: ${h.gates.join(', ') || 'none'}   worker window: ${h.window}`,
    );
    let step = 1;
    for (const n of h.nodes) {
      out.push(
        `  ${String(step++).padStart(3)}. ${n.name} (${n.kind})${n.upToDate ? ' already at the version' : `: ${n.steps.join(' → ')}`}`,
      );
    }
  }
  const rehearsed = plan.hops
    .flatMap((h) => h.nodes)
    .find((n) => !n.upToDate && n.steps.includes('rehearsal'));
  if (rehearsed) {
    out.push(
      '',
      `rehearsal: on ${rehearsed.name}, read-only, before any image is pulled or applied: kubeadm upgrade diff <version> and kubeadm upgrade apply <version> --dry-run (with --config/--patches as apply gets them); the diff is shown by kupgrade status and in the node's workflow.`,
    );
  }
  return out.join('\n');
}
