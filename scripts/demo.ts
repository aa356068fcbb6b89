/**
 * `npm run demo`: the whole main job on one machine. Starts the Temporal dev server (Web UI on
 * :8233), a lab cluster (2 control planes + 3 workers by default, 1.29 → 1.30), a worker, starts
 * the upgrade and watches it; asks for each approval at a terminal, approves by itself with
 * --yes or without one; runs the lab's invariant check; stops everything unless --keep.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { main as kupgrade } from '../src/cli/main';
import { watchScreen } from '../src/cli/render';
import { loadInventory } from '../src/inventory';
import { approveUpdate, stateQuery } from '../src/shared/messages';
import { upgradeWorkflowId } from '../src/shared/names';
import type { UpgradeState } from '../src/shared/types';
import { workflowUiUrl } from '../src/temporal/connection';
import { startDevServer, waitForServer } from '../src/temporal/dev-server';
import { createWorker } from '../src/worker';

/** From dist/scripts/ to the repository root. */
const ROOT = path.resolve(__dirname, '../..');
const LAB_CLI = path.join(ROOT, 'dist/lab/src/cli.js');

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

function lab(args: string[]): string {
  return execFileSync(process.execPath, [LAB_CLI, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

async function run(): Promise<number> {
  const { values } = parseArgs({
    options: {
      yes: { type: 'boolean', short: 'y' },
      keep: { type: 'boolean' },
      'control-planes': { type: 'string', default: '2' },
      workers: { type: 'string', default: '3' },
      from: { type: 'string' },
      to: { type: 'string' },
      api: { type: 'string', default: 'emulated' },
      packages: { type: 'string', default: 'yum' },
      speed: { type: 'string', default: '20' },
      dir: { type: 'string', default: path.join(ROOT, '.cache/demo') },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(
      'npm run demo -- [--yes] [--keep] [--control-planes 2] [--workers 3] [--from 1.29.6] [--to 1.30] [--packages yum|dnf|apt] [--speed 20] [--api real|emulated]\n' +
        '  --api real: the lab runs the real kube-apiserver, etcd, controller-manager, scheduler and kubectl\n' +
        '              (built from Go modules by scripts/build-k8s.sh); --from defaults to 1.33.13, --to to 1.34',
    );
    return 0;
  }
  if (values.api !== 'real' && values.api !== 'emulated') {
    console.error(`--api ${values.api}: want real or emulated`);
    return 2;
  }
  // the real API exists for the releases built from Go modules (v1.33.13, v1.34.4)
  values.from ??= values.api === 'real' ? '1.33.13' : '1.29.6';
  values.to ??= values.api === 'real' ? '1.34' : '1.30';
  const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY) && !values.yes;
  // The in-process worker's logs would drown the watch screen; warnings and errors still show.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const dir = values.dir!;
  const labDir = path.join(dir, 'lab');
  mkdirSync(dir, { recursive: true });
  const cleanups: (() => Promise<void> | void)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
  };

  try {
    // 1. Temporal: reuse a server on :7233 if one runs, else start the dev server with the UI on :8233.
    let address = '127.0.0.1:7233';
    let ui = 'http://localhost:8233';
    if (await portOpen(7233)) {
      await waitForServer(address);
      console.log(`==> Using the Temporal server already on ${address}`);
    } else {
      console.log('==> Starting the Temporal dev server (Web UI on http://localhost:8233)');
      const server = await startDevServer({
        dbFile: path.join(dir, 'temporal.db'),
        port: 7233,
        uiPort: 8233,
        logFile: path.join(dir, 'temporal.log'),
      });
      address = server.address;
      ui = 'http://localhost:8233';
      cleanups.push(() => {
        if (values.keep) {
          console.log(`The dev server keeps running (pid ${server.pid}); stop it with: kill ${server.pid}`);
        } else {
          process.kill(server.pid, 'SIGTERM');
        }
      });
    }

    // 2. The lab cluster.
    console.log(
      `==> Starting a lab cluster: ${values['control-planes']} control planes + ${values.workers} workers, ${values.packages}, v${values.from}`,
    );
    spawnSync(process.execPath, [LAB_CLI, 'down', '--dir', labDir], { stdio: 'ignore' });
    rmSync(labDir, { recursive: true, force: true });
    process.stdout.write(
      lab([
        'up',
        '--dir',
        labDir,
        '--control-planes',
        values['control-planes']!,
        '--workers',
        values.workers!,
        '--version',
        values.from!,
        '--packages',
        values.packages!,
        '--speed',
        values.speed!,
        '--api',
        values.api!,
      ]),
    );
    cleanups.push(() => {
      if (values.keep) console.log(`The lab keeps running; stop it with: kupgrade-lab down --dir ${labDir}`);
      else lab(['down', '--dir', labDir]);
    });

    // 3. A worker in this process.
    process.env.TEMPORAL_ADDRESS = address;
    const { worker, close } = await createWorker({
      address,
      pollIntervalMs: 500,
      trust: path.join(labDir, 'worker.yaml'),
    });
    const running = worker.run();
    cleanups.push(async () => {
      worker.shutdown();
      await running;
      await close();
    });

    // 4. Start the upgrade through the CLI itself.
    const io = { out: (t: string) => console.log(t), err: (t: string) => console.error(t), isTTY: false };
    const cluster = 'lab';
    const inventoryFile = path.join(labDir, 'cluster.yaml');
    const code = await kupgrade(
      ['start', '-f', inventoryFile, '--to', values.to!, '--address', address, '--by', 'demo'],
      io,
    );
    if (code !== 0) return code;

    // 5. Watch; approve gates as they open.
    const connection = await Connection.connect({ address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection });
    const workflowId = upgradeWorkflowId(readClusterName(inventoryFile) ?? cluster);
    const handle = client.workflow.getHandle(workflowId);
    const rl = interactive ? createInterface({ input: process.stdin, output: process.stdout }) : undefined;
    let state: UpgradeState;
    let lastPrinted = '';
    for (;;) {
      state = await handle.query(stateQuery);
      const screen = watchScreen(state);
      if (process.stdout.isTTY) process.stdout.write(`\x1b[H\x1b[2J${screen}\n`);
      else {
        const line = `phase=${state.phase}${state.gate ? ` gate=${state.gate.name}` : ''} ${state.nodes.map((n) => `${n.name}:${n.status}${n.step ? `/${n.step}` : ''}`).join(' ')}`;
        if (line !== lastPrinted) console.log(`${new Date().toISOString().slice(11, 19)} ${line}`);
        lastPrinted = line;
      }
      if (['done', 'aborted', 'failed'].includes(state.phase)) break;
      if (state.gate) {
        const gate = state.gate.name;
        let ok = true;
        if (rl) ok = /^y(es)?$/i.test((await rl.question(`Approve gate "${gate}"? [y/N] `)).trim());
        if (ok) {
          await handle
            .executeUpdate(approveUpdate, {
              args: [
                {
                  gate,
                  by: interactive ? (process.env.USER ?? 'operator') : 'demo',
                  comment: 'npm run demo',
                },
              ],
            })
            .catch(() => undefined);
        } else {
          console.log(
            `Not approved. The run waits; approve later with: kupgrade approve ${state.cluster} --gate ${gate}`,
          );
          values.keep = true;
          return 1;
        }
      }
      if (state.blocked.length) {
        console.log(watchScreen(state));
        console.log(
          'A node is blocked; see the decision commands above. The demo stops here and leaves everything running.',
        );
        values.keep = true;
        return 1;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    rl?.close();
    console.log(watchScreen(state));
    const desc = await handle.describe();
    console.log(
      `\nWeb UI of this run: ${workflowUiUrl({ uiAddress: ui, namespace: 'default' }, workflowId, desc.runId)}`,
    );

    // 6. Ground truth: the lab's own invariant check over its event log.
    const target = state.hops.at(-1)?.version ?? state.target;
    const check = spawnSync(process.execPath, [LAB_CLI, 'check', '--dir', labDir, '--target', target], {
      encoding: 'utf8',
    });
    process.stdout.write(check.stdout);
    process.stderr.write(check.stderr);
    const ok = state.phase === 'done' && check.status === 0;
    console.log(
      ok ? `\nDemo finished: every node is at ${target} and the lab's check passed.` : '\nDemo FAILED.',
    );
    return ok ? 0 : 1;
  } finally {
    await cleanup();
  }
}

function readClusterName(file: string): string | undefined {
  try {
    return loadInventory(file).metadata.name;
  } catch {
    return undefined;
  }
}

run().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
