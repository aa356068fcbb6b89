/**
 * Starts the real Temporal dev server (the CLI built from its Go module) for tests, the demo and the
 * benchmark. We spawn it ourselves instead of TestWorkflowEnvironment.createLocal because that
 * helper waits only 5 s for readiness, too short on a loaded 2-core machine.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';

// Works from src/temporal (ts) and dist/src/temporal (js).
const ROOT = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? '../../..' : '../..');

export interface DevServer {
  address: string;
  uiAddress: string;
  pid: number;
  dbFile: string;
}

function temporalBinary(): string {
  return execFileSync('bash', [path.join(ROOT, 'scripts/temporal-cli.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

function searchAttributeArgs(): string[] {
  const attrs = JSON.parse(readFileSync(path.join(ROOT, 'scripts/search-attributes.json'), 'utf8')) as Record<
    string,
    string
  >;
  return Object.entries(attrs).flatMap(([k, t]) => ['--search-attribute', `${k}=${t}`]);
}

export async function waitForServer(address: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const conn = await Connection.connect({ address, connectTimeout: 2000 });
      await conn.workflowService.getSystemInfo({});
      await conn.close();
      return;
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`Temporal dev server at ${address} not ready after ${timeoutMs} ms: ${String(lastError)}`);
}

export async function startDevServer(opts: {
  dbFile: string;
  port?: number;
  uiPort?: number;
  logFile?: string;
}): Promise<DevServer> {
  const bin = temporalBinary();
  const port = opts.port ?? (await freePort());
  const uiPort = opts.uiPort ?? (await freePort());
  mkdirSync(path.dirname(opts.dbFile), { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--db-filename',
    opts.dbFile,
    ...searchAttributeArgs(),
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecution=true',
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecutionAsyncAccepted=true',
    // the next step's activity comes back in the workflow task's reply instead of a trip through
    // matching: one round trip less per step (off by default in the server)
    '--dynamic-config-value',
    'system.enableActivityEagerExecution=true',
    // write-ahead log, synced at checkpoints: SQLite's default (rollback journal, an fsync per
    // transaction) costs a disk flush for every history write
    '--sqlite-pragma',
    'journal_mode=wal',
    '--sqlite-pragma',
    'synchronous=normal',
    '--log-level',
    'error',
  ];
  const out = opts.logFile ? openSync(opts.logFile, 'a') : 'ignore';
  const child = spawn(bin, args, { detached: true, stdio: ['ignore', out, out] });
  child.unref();
  const address = `127.0.0.1:${port}`;
  await waitForServer(address);
  return { address, uiAddress: `http://127.0.0.1:${uiPort}`, pid: child.pid ?? -1, dbFile: opts.dbFile };
}
