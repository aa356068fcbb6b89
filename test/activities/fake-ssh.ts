/**
 * A scripted SshExecutor for the activity tests: every command (and every section of a batched
 * command) is answered by the most recently registered matching rule, and every call is recorded
 * so a test can assert which commands ran, in which order, and that no mutating one did.
 */
import type { ShellCommand } from '../../src/ssh/command';
import { unwrapDetached } from '../../src/ssh/detached';
import type { RunOptions, RunResult, SshExecutor, SshTarget } from '../../src/ssh/types';
import type { ClusterContext, Inventory, InventoryNode } from '../../src/shared/inventory';
import { clusterContext } from '../../src/shared/inventory';
import type { ResolvedHop } from '../../src/shared/activities';

export interface Reply {
  exitCode?: number;
  stdout?: string;
  stderr?: string;
}

type Responder = Reply | Error | ((command: string, node: string) => Reply | Error);

interface Rule {
  match: RegExp;
  node?: string;
  reply: Responder;
  times?: number;
  delayMs?: number;
}

export interface Call {
  node: string;
  command: string;
  /** The individual commands that ran: the sections of a batch (not one its guard left out), or the command itself. */
  parts: string[];
  opts?: RunOptions;
}

const SECTION_RE =
  /echo '@@kupgrade@@ begin ([a-z0-9-]+)'; \{ ([\s\S]*?); \} 2>&1; printf '\\n%s%s\\n' '@@kupgrade@@ end \1 ' "\$\?"/g;

/** keptSection (src/activities/script.ts): `v=$({ CMD; } 2>&1); v_rc=$?; echo '... begin NAME'` */
const KEPT_RE = /([a-z_]+)=\$\(\{ ([\s\S]*?); \} 2>&1\); \1_rc=\$\?; echo '@@kupgrade@@ begin ([a-z0-9-]+)'/g;

/** unlessSaid (src/activities/script.ts): what runs only when kept section `v` lacks a text. */
const GUARD_RE =
  /if \[ "\$([a-z_]+)_rc" = 0 \]; then case \$\1 in \*('(?:[^']|'\\'')*'|[^*\s]+)\*\) ;; \*\) [\s\S]*? ;; esac; fi/g;

/** The word a POSIX single-quoted argument stands for. */
function unquote(word: string): string {
  return word.startsWith("'") ? word.slice(1, -1).replace(/'\\''/g, "'") : word;
}

/** Commands that change a node or the cluster. */
export const MUTATING =
  /\b(?:yum|dnf) (?:-y )?install\b|apt-get (?:-y )?install|apt-mark (?:un)?hold|kubeadm upgrade (?:apply|node)|kubeadm config images pull|systemctl (?:restart|daemon-reload)|kubectl\b.* (?:drain|uncordon|cordon)\b|printf '%s' .* > \/etc|mv -f \S+ \/etc|cp -a \/etc\/kubernetes|snapshot save|yum clean|dnf clean|apt-get update/;

export class FakeSsh implements SshExecutor {
  readonly calls: Call[] = [];
  /** The transactions run detached (step ids), in order. */
  readonly detached: { node: string; id: string }[] = [];
  private readonly rules: Rule[] = [];

  /** Registers a rule; later rules win over earlier ones. `times` limits how often it answers. */
  on(
    match: RegExp | string,
    reply: Responder,
    opts: { node?: string; times?: number; delayMs?: number } = {},
  ): this {
    const re = typeof match === 'string' ? new RegExp(match.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : match;
    this.rules.push({ match: re, reply, node: opts.node, times: opts.times, delayMs: opts.delayMs });
    return this;
  }

  /** The delay of the rule that would answer `command` (0 when none). */
  private delayOf(command: string, node: string): number {
    for (let i = this.rules.length - 1; i >= 0; i--) {
      const r = this.rules[i];
      if ((r.node && r.node !== node) || !r.match.test(command) || r.times === 0) continue;
      return r.delayMs ?? 0;
    }
    return 0;
  }

  private answer(command: string, node: string): Reply | Error {
    for (let i = this.rules.length - 1; i >= 0; i--) {
      const r = this.rules[i];
      if (r.node && r.node !== node) continue;
      if (!r.match.test(command)) continue;
      if (r.times !== undefined) {
        if (r.times <= 0) continue;
        r.times--;
      }
      return typeof r.reply === 'function' ? r.reply(command, node) : r.reply;
    }
    return { exitCode: 127, stderr: `fake: no rule for: ${command}\n` };
  }

  async run(target: SshTarget, command: ShellCommand, opts?: RunOptions): Promise<RunResult> {
    // a transaction (src/ssh/detached.ts) is answered and recorded as the step it runs
    const step = unwrapDetached(String(command));
    if (step) this.detached.push({ node: target.name, id: step.id });
    const text = step ? step.command : String(command);
    // sections as batch() writes them, and as keptSection() does (its output kept in a variable)
    const keptVariables = new Map<number, string>();
    const sections = [
      ...text.matchAll(SECTION_RE),
      ...[...text.matchAll(KEPT_RE)].map((m) => {
        keptVariables.set(m.index ?? 0, m[1]);
        // as a batch section: [whole, name, command]
        return Object.assign([m[0], m[3], m[2]], { index: m.index ?? 0 }) as unknown as RegExpExecArray;
      }),
    ].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    const guards = [...text.matchAll(GUARD_RE)].map((g) => ({
      variable: g[1],
      text: unquote(g[2]),
      start: g.index ?? 0,
      end: (g.index ?? 0) + g[0].length,
    }));
    // the commands that ran: a section left out by its guard did not
    const parts: string[] = sections.length ? [] : [text];
    this.calls.push({ node: target.name, command: text, parts, opts });
    if (sections.length === 0) {
      const delay = this.delayOf(text, target.name);
      if (delay) await new Promise((r) => setTimeout(r, delay));
      const a = this.answer(text, target.name);
      if (a instanceof Error) throw a;
      opts?.onProgress?.(Buffer.from(a.stdout ?? ''), 'stdout');
      return {
        exitCode: a.exitCode ?? 0,
        stdout: a.stdout ?? '',
        stderr: a.stderr ?? '',
        truncated: false,
        durationMs: 1,
      };
    }
    let stdout = '';
    // what kept sections said (keptSection), for the sections run only unless they said a text
    const kept = new Map<string, { exitCode: number; output: string }>();
    for (const m of sections) {
      const at = m.index ?? 0;
      const guard = guards.find((g) => at > g.start && at < g.end);
      if (guard) {
        const k = kept.get(guard.variable);
        if (!k || k.exitCode !== 0 || k.output.includes(guard.text)) continue;
      }
      parts.push(m[2]);
      const a = this.answer(m[2], target.name);
      if (a instanceof Error) throw a;
      const output = `${a.stdout ?? ''}${a.stderr ?? ''}`;
      const variable = keptVariables.get(at);
      if (variable) kept.set(variable, { exitCode: a.exitCode ?? 0, output });
      stdout += `@@kupgrade@@ begin ${m[1]}\n${output}\n@@kupgrade@@ end ${m[1]} ${a.exitCode ?? 0}\n`;
    }
    opts?.onProgress?.(Buffer.from(stdout), 'stdout');
    return { exitCode: 0, stdout, stderr: '', truncated: false, durationMs: 1 };
  }

  async close(): Promise<void> {}

  /** Every individual command run (batch sections split), optionally on one node. */
  commands(node?: string): string[] {
    return this.calls.filter((c) => !node || c.node === node).flatMap((c) => c.parts);
  }

  mutating(node?: string): string[] {
    return this.commands(node).filter((c) => MUTATING.test(c));
  }

  reset(): void {
    this.calls.length = 0;
  }
}

export function ctxOf(inv: Inventory): ClusterContext {
  return clusterContext(inv);
}

export function nodeOf(inv: Inventory, name: string): InventoryNode {
  const n = inv.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`no node ${name}`);
  return n;
}

export function hop130(manager: 'yum' | 'dnf' | 'apt' = 'yum'): ResolvedHop {
  const full = manager === 'apt' ? '1.30.4-1.1' : '1.30.4-150500.1.1';
  return {
    index: 0,
    from: 'v1.29.6',
    minor: '1.30',
    version: 'v1.30.4',
    packages: { kubeadm: full, kubelet: full, kubectl: full },
  };
}
