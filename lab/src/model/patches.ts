/**
 * kubeadm's `--patches DIR` (cmd/kubeadm/app/util/patches): files named
 * `target[suffix][+patchtype].extension`, target one of etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler, kubeletconfiguration, corednsdeployment; patch type
 * strategic (default), merge or json; extension json, yaml or yml. Files are applied in name
 * order; each applied file prints `[patches] Applied patch of type "<mime>" to target "<t>"`.
 * A file that does not follow the pattern is ignored (kubeadm warns; the lab says nothing).
 * Strategic merge is modelled for what static pods need: maps merge, the `containers`,
 * `volumes`, `volumeMounts` and `env` lists merge by `name`, other lists are replaced.
 */
import * as YAML from 'yaml';

export const PATCH_TARGETS = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kubeletconfiguration',
  'corednsdeployment',
] as const;

const MIME: Record<string, string> = {
  strategic: 'application/strategic-merge-patch+json',
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
};

export interface PatchFile {
  name: string;
  content: string;
}

/** `kube-apiserver0+merge.yaml` → target kube-apiserver, type merge; null when not a patch file. */
export function parsePatchName(name: string): { target: string; type: string } | null {
  const m = /^(.*?)(?:\+([^+.]*))?\.(json|yaml|yml)$/.exec(name);
  if (!m) return null;
  // the target is the known name the first part starts with (kube-apiserver0, kube-scheduler-extra)
  const target = PATCH_TARGETS.find((t) => m[1]!.startsWith(t));
  const type = m[2] ?? 'strategic';
  // RECON: kubeadm fails on an unknown patch type; the lab ignores the file
  if (!target || !(type in MIME)) return null;
  return { target, type };
}

type J = unknown;
const isObj = (v: J): v is Record<string, J> => typeof v === 'object' && v !== null && !Array.isArray(v);
const MERGE_BY_NAME = new Set(['containers', 'initContainers', 'volumes', 'volumeMounts', 'env']);

function strategic(base: J, patch: J, key = ''): J {
  if (patch === null) return undefined;
  if (Array.isArray(patch) && Array.isArray(base) && MERGE_BY_NAME.has(key)) {
    const out = base.map((x) => x as J);
    for (const p of patch) {
      const name = isObj(p) ? p.name : undefined;
      const i = out.findIndex((b) => isObj(b) && name !== undefined && b.name === name);
      if (i >= 0) out[i] = strategic(out[i], p);
      else out.push(p);
    }
    return out;
  }
  if (!isObj(patch) || !isObj(base)) return patch;
  const out: Record<string, J> = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    const r = strategic(base[k], v, k);
    if (r === undefined) delete out[k];
    else out[k] = r;
  }
  return out;
}

function mergePatch(base: J, patch: J): J {
  if (!isObj(patch)) return patch;
  const out: Record<string, J> = isObj(base) ? { ...base } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function jsonPatch(base: J, ops: J): J {
  if (!Array.isArray(ops)) throw new Error('json patch: not a list of operations');
  const doc = JSON.parse(JSON.stringify(base)) as J;
  for (const op of ops as { op: string; path: string; value?: J }[]) {
    const parts = op.path
      .split('/')
      .slice(1)
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = parts.pop()!;
    let cur = doc as Record<string, J> | J[];
    for (const p of parts) cur = (cur as Record<string, J>)[p] as Record<string, J>;
    if (Array.isArray(cur)) {
      const i = last === '-' ? cur.length : Number(last);
      if (op.op === 'add') cur.splice(i, 0, op.value);
      else if (op.op === 'replace') cur[i] = op.value;
      else if (op.op === 'remove') cur.splice(i, 1);
    } else if (op.op === 'remove') delete cur[last];
    else cur[last] = op.value;
  }
  return doc;
}

/**
 * Applies the patch files for `target` to a YAML document. Returns the text unchanged (byte for
 * byte) when no file targets it, else the re-serialized document and one output line per file.
 */
export function applyPatches(
  target: string,
  text: string,
  files: PatchFile[],
): { text: string; lines: string[]; error?: string } {
  const mine = files
    .map((f) => ({ f, p: parsePatchName(f.name) }))
    .filter((x) => x.p?.target === target)
    .sort((a, b) => (a.f.name < b.f.name ? -1 : a.f.name > b.f.name ? 1 : 0));
  if (!mine.length) return { text, lines: [] };
  let doc = YAML.parse(text) as J;
  const lines: string[] = [];
  for (const { f, p } of mine) {
    try {
      const patch = YAML.parse(f.content) as J;
      doc =
        p!.type === 'json'
          ? jsonPatch(doc, patch)
          : p!.type === 'merge'
            ? mergePatch(doc, patch)
            : strategic(doc, patch);
    } catch (e) {
      return {
        text,
        lines,
        error: `could not apply the following patch of type ${JSON.stringify(MIME[p!.type])} to target ${JSON.stringify(target)}:\n${f.content}\n: ${(e as Error).message}`,
      };
    }
    lines.push(
      `[patches] Applied patch of type ${JSON.stringify(MIME[p!.type])} to target ${JSON.stringify(target)}\n`,
    );
  }
  return { text: YAML.stringify(doc), lines };
}

/** The patch `up --patches` writes on each control plane (a resource request kubeadm would not set). */
export const LAB_PATCH = {
  name: 'kube-apiserver+strategic.yaml',
  content: [
    'spec:',
    '  containers:',
    '  - name: kube-apiserver',
    '    resources:',
    '      requests:',
    '        cpu: 500m',
    '        memory: 512Mi',
    '',
  ].join('\n'),
};
