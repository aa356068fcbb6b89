/**
 * Batching read-only checks into one SSH command: each section prints a marker, its output
 * (stdout and stderr together) and its exit code, so one round trip answers many questions.
 */
import { raw, sh, type ShellCommand } from '../ssh/command';
import type { InventoryNode, InventorySettings } from '../shared/inventory';
import type { RunResult, SshTarget } from '../ssh/types';

const MARK = '@@kupgrade@@';

export interface Section {
  /** [a-z0-9-] only: it is part of the marker line. */
  name: string;
  command: ShellCommand;
}

export interface SectionResult {
  exitCode: number;
  output: string;
}

/** One command line running every section in order, whatever the previous ones returned. */
export function batch(sections: Section[]): ShellCommand {
  const parts = sections.map((s) => {
    if (!/^[a-z0-9-]+$/.test(s.name)) throw new Error(`batch: bad section name ${s.name}`);
    const begin = `${MARK} begin ${s.name}`;
    const end = `${MARK} end ${s.name} `;
    // The end marker starts on its own line even when the output has no trailing newline.
    return sh`echo ${begin}; { ${s.command}; } 2>&1; printf '\\n%s%s\\n' ${end} "$?"`;
  });
  return sh`${parts.reduce((a, b) => sh`${a}; ${b}`)}`;
}

/** A section as a command's result (its stdout and stderr came together), for failure reports. */
export function sectionRun(s: SectionResult): RunResult {
  return { exitCode: s.exitCode, stdout: s.output, stderr: '', truncated: false, durationMs: 0 };
}

/** What a command printed before the first section of a `batch` it ran after it (all of it when none). */
export function beforeSections(stdout: string): string {
  const at = stdout.search(new RegExp(`^${MARK} begin `, 'm'));
  return at < 0 ? stdout : stdout.slice(0, at);
}

/**
 * A section as batch writes it whose output also stays in the shell, for a later `unlessSaid`:
 * stdout and stderr in `$v`, the exit code in `$v_rc` (`v`: [a-z_] only). The output loses its
 * trailing newlines (command substitution), which parseBatch drops anyway.
 */
export function keptSection(s: Section, v: string): ShellCommand {
  if (!/^[a-z0-9-]+$/.test(s.name)) throw new Error(`keptSection: bad section name ${s.name}`);
  if (!/^[a-z_]+$/.test(v)) throw new Error(`keptSection: bad variable name ${v}`);
  const begin = `${MARK} begin ${s.name}`;
  const end = `${MARK} end ${s.name} `;
  return sh`${raw(v)}=$({ ${s.command}; } 2>&1); ${raw(v)}_rc=$?; echo ${begin}; printf '%s\n' "$${raw(v)}"; printf '\n%s%s\n' ${end} "$${raw(v)}_rc"`;
}

/** `command`, run only when the kept section `v` (keptSection) exited 0 and its output lacks `text`. */
export function unlessSaid(v: string, text: string, command: ShellCommand): ShellCommand {
  if (!/^[a-z_]+$/.test(v)) throw new Error(`unlessSaid: bad variable name ${v}`);
  return sh`if [ "$${raw(v)}_rc" = 0 ]; then case $${raw(v)} in *${text}*) ;; *) ${command} ;; esac; fi`;
}

/** Splits the output of `batch` back into sections. A section missing from the output is absent. */
export function parseBatch(stdout: string): Map<string, SectionResult> {
  const out = new Map<string, SectionResult>();
  const lines = stdout.split('\n');
  let current: string | null = null;
  let buf: string[] = [];
  for (const line of lines) {
    if (line.startsWith(`${MARK} begin `)) {
      current = line.slice(`${MARK} begin `.length).trim();
      buf = [];
      continue;
    }
    if (current && line.startsWith(`${MARK} end ${current} `)) {
      const code = Number(line.slice(`${MARK} end ${current} `.length).trim());
      // printf added one newline before the end marker.
      const text = buf.join('\n').replace(/\n$/, '');
      out.set(current, { exitCode: Number.isFinite(code) ? code : -1, output: text });
      current = null;
      continue;
    }
    if (current) buf.push(line);
  }
  return out;
}

/** The SSH target of an inventory node. */
export function targetOf(settings: Pick<InventorySettings, 'ssh'>, node: InventoryNode): SshTarget {
  return {
    name: node.name,
    host: node.address,
    port: node.port,
    user: settings.ssh.user,
    sudo: settings.ssh.sudo,
  };
}

/** The text from the first `{` to the last `}`: kubectl/kubeadm may print log lines around JSON. */
export function jsonIn(text: string): unknown {
  const a = text.indexOf('{');
  const b = text.lastIndexOf('}');
  if (a < 0 || b < a) throw new Error('no JSON object in the output');
  return JSON.parse(text.slice(a, b + 1)) as unknown;
}
