/**
 * The controller's exec port: the plain TCP protocol that the bash shims (script.ts) and the node
 * shell speak, because bash can open a TCP connection itself (/dev/tcp) but cannot do HTTP/JSON
 * cheaply. Address in DIR/controller.addr ("127.0.0.1 PORT").
 *
 * Request: NUL-terminated fields.
 *   KLAB1 node tool root cwd kubeconfig has-kubeconfig(0|1) stdin-state(none|value) stdin pid argc argv...
 *     root: /proc/<shim pid>/root or KUPGRADE_LAB_ROOT (see node-files.ts)
 *   KEVT1 node cmd exit      (the node shell's {type:'ssh'} event)
 *   KEVT2 node cmd exit ms   (the same with the node shell's own milliseconds)
 * Response to KLAB1: "EXIT DROP STDOUT-BYTES STDERR-BYTES\n", the stdout bytes, the stderr bytes.
 *   The controller gathers the node's files, runs the tool (holding the answer for the modelled
 *   time), performs the file effects in the node's root, then answers; a hang fault never answers.
 * Response to KEVT1/KEVT2: "ok\n".
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { Cluster } from '../controller/cluster';
import type { ExecRequest, ExecResult } from '../tools/types';
import { applyEffects, checkRoot, gatherFiles, kubeadmTimestamp, nodeFiles } from './node-files';

const EXEC_FIELDS = 11;

export interface ExecPort {
  port: number;
  close(): Promise<void>;
}

type Execute = (req: ExecRequest) => Promise<ExecResult | null>;

/** Fields of a request once it is complete, or null while more bytes are due. */
export function parseFields(buf: Buffer): string[] | null {
  const fields: string[] = [];
  let start = 0;
  for (;;) {
    const end = buf.indexOf(0, start);
    if (end < 0) return null;
    fields.push(buf.subarray(start, end).toString('utf8'));
    start = end + 1;
    if (fields[0] === 'KEVT1' && fields.length === 4) return fields;
    if (fields[0] === 'KEVT2' && fields.length === 5) return fields;
    if (fields[0] === 'KLAB1' && fields.length >= EXEC_FIELDS) {
      const argc = Number(fields[EXEC_FIELDS - 1]);
      if (!Number.isInteger(argc) || argc < 0) throw new Error(`bad argc ${fields[EXEC_FIELDS - 1]}`);
      if (fields.length === EXEC_FIELDS + argc) return fields;
    }
    if (fields[0] !== 'KLAB1' && fields[0] !== 'KEVT1' && fields[0] !== 'KEVT2')
      throw new Error(`unknown request ${fields[0]}`);
  }
}

function answer(r: ExecResult): Buffer {
  const out = Buffer.from(r.stdout, 'utf8');
  const err = Buffer.from(r.stderr, 'utf8');
  return Buffer.concat([Buffer.from(`${r.exit} ${r.drop ? 1 : 0} ${out.length} ${err.length}\n`), out, err]);
}

/**
 * Where a killed command's file effects go: its own root died with it, so the node's namespace
 * holder's root (DIR/ssh/ns/NODE.pid, the same mount namespace), or the node folder when there is
 * no namespace (a shim run with KUPGRADE_LAB_ROOT).
 */
export function rootAfterKill(dir: string, node: string, root: string): string | null {
  if (!root.startsWith('/proc/')) return root;
  try {
    const pid = fs.readFileSync(path.join(dir, 'ssh', 'ns', `${node}.pid`), 'utf8').trim();
    const r = `/proc/${pid}/root`;
    return /^\d+$/.test(pid) && checkRoot(r, dir) === null ? r : null;
  } catch {
    return null;
  }
}

export async function handleExec(
  dir: string,
  f: string[],
  execute: Execute,
  killed?: AbortSignal,
): Promise<ExecResult | null> {
  const [, node, tool, root, cwd, kubeconfig, hasKubeconfig, stdinState, stdin] = f as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const argv = f.slice(EXEC_FIELDS);
  const refused = checkRoot(root, dir);
  if (refused) return { stdout: '', stderr: `kupgrade-lab shim: refused: ${refused}\n`, exit: 1 };
  const files = nodeFiles(root, cwd);
  const kc = hasKubeconfig === '1' ? kubeconfig : undefined;
  const r = await execute({
    node,
    tool,
    argv,
    ctx: {
      files: gatherFiles(files, tool, argv, kc),
      env: kc !== undefined ? { KUBECONFIG: kc } : {},
      localTime: kubeadmTimestamp(new Date()),
      stdin: stdinState === 'value' ? stdin : null,
    },
    ...(killed ? { killed } : {}),
  });
  if (r === null) return null;
  if (killed?.aborted) {
    // the half-done work of a killed command stays on the node (nobody reads its output)
    const after = rootAfterKill(dir, node, root);
    if (after !== null) applyEffects(nodeFiles(after, cwd), r.effects ?? []);
    return r;
  }
  const errors = applyEffects(files, r.effects ?? []);
  return errors ? { ...r, stderr: r.stderr + errors } : r;
}

export async function startExecPort(
  dir: string,
  cl: Pick<Cluster, 'event'>,
  execute: Execute,
): Promise<ExecPort> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => sock.destroy());
    let buf = Buffer.alloc(0);
    let started = false;
    sock.on('data', (d: Buffer) => {
      if (started) return;
      buf = Buffer.concat([buf, d]);
      let f: string[] | null;
      try {
        f = parseFields(buf);
      } catch (e) {
        started = true;
        sock.end(answer({ stdout: '', stderr: `kupgrade-lab: ${(e as Error).message}\n`, exit: 70 }));
        return;
      }
      if (!f) return;
      started = true;
      if (f[0] === 'KEVT1' || f[0] === 'KEVT2') {
        const exit = Number(f[3]);
        const ms = f[0] === 'KEVT2' ? Number(f[4]) : NaN;
        cl.event(
          f[1]!,
          'ssh',
          f[2]!,
          Number.isInteger(exit) ? exit : -1,
          Number.isInteger(ms) ? ms : undefined,
        );
        sock.end('ok\n');
        return;
      }
      // the shim's process dies with its SSH session: its socket closes before the answer
      const kill = new AbortController();
      sock.once('close', () => kill.abort());
      void handleExec(dir, f, execute, kill.signal)
        .then((r) => {
          // hang fault: never answer; the socket stays open until the shim goes away
          if (r !== null) sock.end(answer(r));
        })
        .catch((e: unknown) =>
          sock.end(answer({ stdout: '', stderr: `kupgrade-lab: internal error: ${String(e)}\n`, exit: 70 })),
        );
    });
  });
  server.maxConnections = 100_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
