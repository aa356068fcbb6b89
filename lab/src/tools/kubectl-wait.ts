/**
 * `kubectl wait` for nodes, as kubectl does it (staging/src/k8s.io/kubectl/pkg/cmd/wait): the
 * condition is checked on the current object and then on every change until it holds or
 * `--timeout` (default 30s; 0 = check once; negative = a week) runs out.
 *
 * - `--for=condition=NAME[=VALUE]`: the status.conditions entry of that type has status VALUE
 *   (default "true", compared case-insensitively, as kubectl's strings.EqualFold);
 * - `--for=jsonpath={.a.b}=VALUE` (kubectl ≥1.23): the value at that path equals VALUE (quotes
 *   trimmed); a relaxed path without braces or leading dot is accepted, as kubectl's
 *   RelaxedJSONPathExpression does. The lab evaluates dotted keys only (no filters or indices);
 * - `--for=delete`: the node no longer exists.
 * Met: `node/NAME condition met` on stdout, exit 0; with `-o json|yaml|name` the node as it met
 * the condition instead (kubectl's RunWait hands the final object to its printer). Timed out: `error: timed out waiting for the
 * condition on nodes/NAME`, exit 1. A node that does not exist: kubectl's NotFound, exit 1.
 *
 * The wait is the cluster's time, not the caller's: the lab's clock model applies (`--timeout` is
 * modelled, like drain's), and the command holds until the controller's next transition.
 */
import type { NodeState } from '../model/state';
import { scaled } from '../model/time-model';
import { parseGoDuration } from '../model/format';
import { parseFlags, str, type FlagDef, type Parsed } from './argv';
import { fail, ok, type ExecResult, type ToolCall } from './types';

export interface WaitDeps {
  global: FlagDef[];
  kubeconfigOk(c: ToolCall, p: Parsed): ExecResult | null;
  nodeObject(c: ToolCall, n: NodeState): Record<string, unknown>;
  /** kubectl's json (4-space indent) and yaml printers */
  print(v: unknown, format: 'json' | 'yaml'): string;
  unknownFlag(err: string, verb: string): ExecResult;
}

type Condition = (obj: Record<string, unknown> | undefined) => boolean;

const FORMAT = "jsonpath wait format must be --for=jsonpath='{.status.readyReplicas}'=3";

function conditionFor(spec: string): Condition | string {
  if (spec.toLowerCase() === 'delete') return (obj) => obj === undefined;
  if (spec.startsWith('condition=')) {
    let name = spec.slice('condition='.length);
    let value = 'true';
    const eq = name.indexOf('=');
    if (eq >= 0) [name, value] = [name.slice(0, eq), name.slice(eq + 1)];
    return (obj) => {
      const conds = ((obj?.status as Record<string, unknown> | undefined)?.conditions ?? []) as {
        type?: string;
        status?: string;
      }[];
      const c = conds.find((x) => x.type === name);
      return c !== undefined && String(c.status).toLowerCase() === value.toLowerCase();
    };
  }
  if (spec.startsWith('jsonpath=')) {
    const parts = spec.split('=');
    if (parts.length !== 3) return FORMAT;
    const want = parts[2]!.replace(/^['"]+|['"]+$/g, '');
    if (!want) return 'jsonpath wait condition cannot be empty';
    let expr = parts[1]!;
    if (expr.startsWith('{') && expr.endsWith('}')) expr = expr.slice(1, -1);
    if (expr.startsWith('.')) expr = expr.slice(1);
    if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(expr))
      return `kupgrade-lab: kubectl wait evaluates dotted jsonpath keys only, not ${JSON.stringify(parts[1])}`;
    const keys = expr.split('.');
    return (obj) => {
      let v: unknown = obj;
      for (const k of keys) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
      return v !== undefined && v !== null && typeof v !== 'object' && String(v) === want;
    };
  }
  return `unrecognized condition: ${JSON.stringify(spec)}`;
}

/** Node names from `node/NAME …` or `node NAME …` (kubectl's resource builder forms). */
function nodeNames(args: string[]): string[] | string {
  if (!args.length) return 'resource(s) were provided, but no name was specified';
  const isNode = (k: string) => ['node', 'nodes', 'no'].includes(k.toLowerCase());
  if (args.every((a) => a.includes('/'))) {
    const bad = args.find((a) => !isNode(a.split('/')[0]!));
    if (bad) return `kupgrade-lab: kubectl wait is simulated for nodes only (got ${bad})`;
    return args.map((a) => a.slice(a.indexOf('/') + 1));
  }
  const [kind, ...names] = args;
  if (!isNode(kind!)) return `kupgrade-lab: kubectl wait is simulated for nodes only (got ${kind})`;
  if (!names.length) return 'resource(s) were provided, but no name was specified';
  return names;
}

export async function kubectlWait(c: ToolCall, argv: string[], d: WaitDeps): Promise<ExecResult> {
  const p = parseFlags(argv, [
    ...d.global,
    { name: 'for', type: 'string' },
    { name: 'timeout', type: 'string' },
    { name: 'output', short: 'o', type: 'string' },
  ]);
  if (p.error) return d.unknownFlag(p.error, 'wait');
  const spec = str(p, 'for');
  if (!spec) return fail(1, 'error: --for must be specified\n');
  const cond = conditionFor(spec);
  if (typeof cond === 'string') return fail(1, `error: ${cond}\n`);
  const timeoutStr = str(p, 'timeout') ?? '30s';
  const timeoutMs = parseGoDuration(timeoutStr.replace(/^-/, ''));
  if (timeoutMs === null) {
    return fail(
      1,
      `error: invalid argument "${timeoutStr}" for "--timeout" flag: time: invalid duration "${timeoutStr}"\nSee 'kubectl wait --help' for usage.\n`,
    );
  }
  const output = str(p, 'output') ?? '';
  if (output && !['json', 'yaml', 'name'].includes(output)) {
    return fail(
      1,
      `error: unable to match a printer suitable for the output format "${output}", allowed formats are: go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,yaml\n`,
    );
  }
  const names = nodeNames(p.args);
  if (typeof names === 'string') return fail(1, `error: ${names}\n`);
  const bad = d.kubeconfigOk(c, p);
  if (bad) return bad;
  const missing = names.filter((n) => !c.cl.node(n));
  if (missing.length && spec.toLowerCase() !== 'delete') {
    return fail(1, missing.map((m) => `Error from server (NotFound): nodes "${m}" not found\n`).join(''));
  }
  const modelMs = timeoutStr.startsWith('-') ? 7 * 24 * 3600_000 : timeoutMs;
  const deadline = Date.now() + scaled(modelMs, c.cl.speed);
  let stdout = '';
  for (const name of names) {
    for (;;) {
      c.cl.settle();
      const n = c.cl.node(name);
      const obj = n ? d.nodeObject(c, n) : undefined;
      if (cond(obj)) {
        if (output === 'name') stdout += `node/${name}\n`;
        else if ((output === 'json' || output === 'yaml') && obj) stdout += d.print(obj, output);
        else stdout += `node/${name} condition met\n`;
        break;
      }
      const left = deadline - Date.now();
      if (left <= 0 || c.killed?.aborted) {
        return fail(1, `error: timed out waiting for the condition on nodes/${name}\n`, stdout);
      }
      // as a watch would: wake at the node's next transition, or a little later for the others
      const next = n?.readyAt ?? n?.notReadyAt ?? null;
      const ms = Math.max(1, Math.min(left, next !== null ? next - Date.now() + 1 : 50));
      await new Promise<void>((r) => {
        // one listener per sleep, removed when the sleep ends: a long wait must not pile them up
        const onAbort = () => (clearTimeout(t), r());
        const t = setTimeout(() => (c.killed?.removeEventListener('abort', onAbort), r()), ms);
        t.unref();
        c.killed?.addEventListener('abort', onAbort, { once: true });
      });
    }
  }
  return ok(stdout);
}
