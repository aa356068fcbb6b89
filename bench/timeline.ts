/**
 * The rollout as a picture: one row per node, one bar per step, from the lab's exec log.
 * Pure: events in, SVG text out.
 */
export interface TimelineEvent {
  ts: string;
  node: string;
  type: string;
  cmd?: string;
  exit?: number;
  /** exec events: how long the lab's tool held the command */
  ms?: number;
  /** kubectl commands run on the API node act on the node they name. */
}

const STEPS: [RegExp, string, string][] = [
  [/^(yum|dnf) install .*kubeadm|^apt-get install .*kubeadm=/, 'kubeadm pkg', '#8e6bd6'],
  [/^kubeadm upgrade apply/, 'upgrade apply', '#d64545'],
  [/^kubeadm upgrade node/, 'upgrade node', '#e08a3c'],
  [/^kubectl (?:-\S+ )*drain /, 'drain', '#3c7fe0'],
  [/^(yum|dnf) install .*kubelet|^apt-get install .*kubelet=/, 'kubelet pkg', '#2fa37a'],
  [/^systemctl restart kubelet/, 'restart', '#a3a32f'],
  [/^kubectl (?:-\S+ )*uncordon /, 'uncordon', '#777777'],
];

/** kubectl drain/uncordon/cordon run on the API node; the bar belongs to the node they name. */
function subjectNode(e: TimelineEvent): string {
  const m = /^kubectl (?:-\S+ )*(?:drain|uncordon|cordon) (?:-\S+ )*(\S+)/.exec(e.cmd ?? '');
  return m ? m[1] : e.node;
}

export interface Bar {
  node: string;
  step: string;
  color: string;
  start: number;
  end: number;
}

export function bars(events: TimelineEvent[]): Bar[] {
  const lastTs = new Map<string, number>();
  const out: Bar[] = [];
  for (const e of events) {
    if (e.type !== 'exec' || !e.cmd) continue;
    const node = subjectNode(e);
    const t = Date.parse(e.ts);
    const step = STEPS.find(([re]) => re.test(e.cmd!));
    if (step) out.push({ node, step: step[1], color: step[2], start: lastTs.get(node) ?? t, end: t });
    lastTs.set(node, t);
  }
  return out;
}

export function timelineSvg(events: TimelineEvent[], title: string): string {
  const b = bars(events);
  if (!b.length)
    return `<svg xmlns="http://www.w3.org/2000/svg" width="400" height="40"><text x="10" y="25">no data</text></svg>`;
  const nodes = [...new Set(b.map((x) => x.node))];
  const t0 = Math.min(...b.map((x) => x.start));
  const t1 = Math.max(...b.map((x) => x.end));
  const rowH = Math.max(3, Math.min(14, Math.floor(1400 / nodes.length)));
  const left = 90;
  const width = 1100;
  const top = 40;
  const height = top + nodes.length * rowH + 50;
  const x = (t: number) => left + ((t - t0) / Math.max(1, t1 - t0)) * width;
  const row = new Map(nodes.map((n, i) => [n, i]));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 20}" height="${height}" font-family="sans-serif" font-size="10">`,
    `<text x="${left}" y="16" font-size="13">${escape(title)} — ${((t1 - t0) / 1000).toFixed(1)} s</text>`,
  ];
  STEPS.forEach(([, name, color], i) => {
    parts.push(
      `<rect x="${left + i * 120}" y="22" width="10" height="10" fill="${color}"/><text x="${left + i * 120 + 14}" y="31">${name}</text>`,
    );
  });
  if (rowH >= 8) {
    for (const n of nodes)
      parts.push(`<text x="4" y="${top + row.get(n)! * rowH + rowH - 2}">${escape(n)}</text>`);
  }
  for (const bar of b) {
    const y = top + row.get(bar.node)! * rowH;
    parts.push(
      `<rect x="${x(bar.start).toFixed(1)}" y="${y}" width="${Math.max(0.5, x(bar.end) - x(bar.start)).toFixed(1)}" height="${rowH - 1}" fill="${bar.color}"><title>${escape(bar.node)} ${bar.step}</title></rect>`,
    );
  }
  const axisY = top + nodes.length * rowH + 15;
  for (let i = 0; i <= 10; i++) {
    const t = t0 + ((t1 - t0) * i) / 10;
    parts.push(`<text x="${x(t).toFixed(0)}" y="${axisY}">${((t - t0) / 1000).toFixed(0)}s</text>`);
  }
  parts.push('</svg>');
  return parts.join('\n');
}

function escape(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] ?? c);
}
