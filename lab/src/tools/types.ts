/** The shim <-> controller protocol (POST /exec) and the shape of a tool handler. */
import type { Cluster } from '../controller/cluster';
import type { NodeState } from '../model/state';

/** Node-local facts the shim gathers before asking the controller (it alone sees the node's /etc). */
export interface ExecCtx {
  /** file path (as the tool would open it) -> content, or null when it does not exist */
  files: Record<string, string | null>;
  env: Record<string, string>;
  /** kubeadm's timestamp for backup folders, in the node's local time: 2025-05-29-18-04-05 */
  localTime: string;
  /** what the tool read on stdin when it would prompt (null: stdin not readable / a TTY) */
  stdin?: string | null;
}

export interface ExecRequest {
  node: string;
  tool: string;
  argv: string[];
  ctx: ExecCtx;
  /** aborted when the process that ran the command died before the answer (its session was killed) */
  killed?: AbortSignal;
}

/** File operations the shim performs in the node's root after the controller answers. */
export type Effect =
  | { op: 'write'; path: string; content: string; mode?: number }
  | { op: 'mkdir'; path: string; mode?: number }
  | { op: 'copy'; from: string; to: string }
  | { op: 'copydir'; from: string; to: string };

export interface ExecResult {
  stdout: string;
  stderr: string;
  exit: number;
  /** the shim must drop the SSH session (fault) */
  drop?: boolean;
  effects?: Effect[];
}

export interface ToolCall {
  cl: Cluster;
  node: NodeState;
  argv: string[];
  ctx: ExecCtx;
  cmdline: string;
  /**
   * Aborted when the command's process was killed mid-way (SSH channel closed, session killed):
   * a tool that mutates checks it at its modelled steps and leaves the half-done state the real
   * tool leaves (see killable()).
   */
  killed?: AbortSignal;
}

export type Tool = (c: ToolCall) => Promise<ExecResult>;

/**
 * Waits a modelled duration unless the command is killed first; true when it was killed (the
 * tool then stops where it is, as a SIGKILLed process would).
 */
export async function killable(c: Pick<ToolCall, 'cl' | 'killed'>, modelMs: number): Promise<boolean> {
  const k = c.killed;
  if (!k) {
    await c.cl.sleep(modelMs);
    return false;
  }
  if (k.aborted) return true;
  await Promise.race([
    c.cl.sleep(modelMs),
    new Promise<void>((r) => k.addEventListener('abort', () => r(), { once: true })),
  ]);
  return k.aborted;
}

/** What a killed command's process "printed" (nobody reads it): exit 137, SIGKILL. */
export const KILLED: ExecResult = { stdout: '', stderr: '', exit: 137 };

export const ok = (stdout = '', stderr = ''): ExecResult => ({ stdout, stderr, exit: 0 });
export const fail = (exit: number, stderr: string, stdout = ''): ExecResult => ({ stdout, stderr, exit });

export const LAB_TOOLS = [
  'kubeadm',
  'kubectl',
  'yum',
  'dnf',
  'apt-get',
  'apt-cache',
  'apt-mark',
  'systemctl',
  'swapon',
  'etcdctl',
  'rpm',
  'dpkg-query',
  'curl',
  'gpg',
  'dpkg',
  'zypper',
] as const;
