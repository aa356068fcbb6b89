/**
 * Helpers for the lab tests: the lab's shim (DIR/bin/<tool>) run as a child process with the node's
 * environment (KUPGRADE_LAB_ROOT mode, no SSH). The lab itself starts in test/helpers/lab.ts.
 */
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Run {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Runs a lab command on a node the way the node shell would (argv as the shell would split it). */
export function run(
  dir: string,
  node: string,
  tool: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      path.join(dir, 'bin', tool),
      args,
      {
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          KUPGRADE_LAB_DIR: dir,
          KUPGRADE_LAB_NODE: node,
          KUPGRADE_LAB_ROOT: path.join(dir, 'nodes', node),
          ...env,
        },
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: number | string; signal?: NodeJS.Signals }) | null;
        resolve({
          stdout,
          stderr,
          code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
          signal: e?.signal ?? null,
        });
      },
    );
  });
}

/** Starts a shim without waiting (for the hang fault). */
export function start(dir: string, node: string, tool: string, args: string[]) {
  return spawn(path.join(dir, 'bin', tool), args, {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      KUPGRADE_LAB_DIR: dir,
      KUPGRADE_LAB_NODE: node,
      KUPGRADE_LAB_ROOT: path.join(dir, 'nodes', node),
    },
    stdio: 'ignore',
  });
}

export function nodeFile(dir: string, node: string, p: string): string {
  return path.join(dir, 'nodes', node, p);
}

export function editNodeFile(dir: string, node: string, p: string, fn: (s: string) => string): void {
  const f = nodeFile(dir, node, p);
  fs.writeFileSync(f, fn(fs.readFileSync(f, 'utf8')));
}

export const STACK = 'To see the stack trace of this error execute with --v=5 or higher\n';
