/**
 * Bad input never reaches a node. Every case of the bad-input corpus
 * (test/fixtures/bad-inputs, the same cases and expectations as test/unit/inventory-bad-inputs.test.ts)
 * is pointed at a running lab — its addresses, key and known_hosts — so that, apart from the defect
 * the case is about, the inventory is a valid one for that lab. `kupgrade start --auto-approve` and
 * `kupgrade plan` must exit 2 with an error naming the field and the fix, no workflow may start,
 * and the lab's exec log (DIR/events.jsonl) must show no command at all on any node. A control run
 * of `plan` with the valid version of the same inventory proves the rewriting gives an inventory
 * the lab accepts and that the exec log does record commands.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadInventory } from '../../src/inventory';
import { upgradeWorkflowId } from '../../src/shared/names';
import { kupgrade } from '../helpers/cli';
import { isMutating, Lab, type LabEvent } from '../helpers/lab';
import { client, startWorker, uniqueQueue } from '../helpers/temporal';
import { BAD_INPUTS_DIR, badInputCases, type BadInputCase } from '../helpers/bad-inputs';

jest.setTimeout(5 * 60_000);

const cases = badInputCases();
/** The corpus's nodes: cp-1, cp-2 and w-1, as in a lab of 2 control planes and 1 worker. */
const CORPUS_ADDRESSES: Record<string, string> = {
  'cp-1': '192.0.2.11',
  'cp-2': '192.0.2.12',
  'w-1': '192.0.2.21',
};

const commandsOn = (events: LabEvent[]) => events.filter((e) => e.type === 'ssh' || e.type === 'exec');

describe('bad input: refused before any node is touched', () => {
  let lab: Lab;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let tmp: string;
  let name: string;
  let spec: {
    nodes: { name: string; address: string }[];
    ssh: { clientKeyPath: string; knownHostsPath: string };
  };
  const queue = uniqueQueue('bad-input');

  beforeAll(async () => {
    process.env.KUPGRADE_TASK_QUEUE = queue;
    lab = Lab.up({ controlPlanes: 2, workers: 1, version: '1.29.6', packages: 'yum' });
    spec = JSON.parse(fs.readFileSync(path.join(lab.dir, 'lab.json'), 'utf8')) as typeof spec;
    name = `bad-input-${queue.slice(-8)}`;
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kupgrade-bad-lab-'));
    // A worker serves the queue: an inventory that slipped through would really run (auto-approved).
    // Its worker config grants this test's cluster the lab's credentials, as the valid case names them.
    const valid = loadInventory(labInventory(cases.find((c) => c.target !== undefined)!));
    const config = path.join(tmp, 'worker.yaml');
    fs.writeFileSync(
      config,
      JSON.stringify({
        apiVersion: 'kupgrade/v1',
        kind: 'WorkerConfig',
        clusters: {
          [name]: {
            ssh: {
              user: valid.ssh.user,
              privateKeyPath: valid.ssh.privateKeyPath,
              knownHostsPath: valid.ssh.knownHostsPath,
              hostKeyPolicy: valid.ssh.hostKeyPolicy,
            },
          },
        },
      }),
    );
    worker = await startWorker(queue, config);
  });
  afterAll(async () => {
    await worker?.stop();
    lab?.down();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    delete process.env.KUPGRADE_TASK_QUEUE;
  });

  /** The corpus file, aimed at the lab: its node addresses, client key, known_hosts; a unique name. */
  function labInventory(c: BadInputCase): string {
    const dir = path.join(tmp, c.file.replace(/\.yaml\.in$/, ''));
    fs.mkdirSync(dir, { recursive: true });
    let text = fs.readFileSync(path.join(BAD_INPUTS_DIR, c.file), 'utf8');
    for (const n of spec.nodes) text = text.split(CORPUS_ADDRESSES[n.name]).join(n.address);
    text = text.split('./known_hosts').join(spec.ssh.knownHostsPath);
    text = text.split('name: prod-bj').join(`name: ${name}`);
    if (c.check === 'keys') {
      // The key cases: the lab's real key, but missing or with the case's mode.
      if (c.key) {
        const p = path.join(dir, c.key.path);
        fs.mkdirSync(path.dirname(p), { recursive: true });
        fs.copyFileSync(spec.ssh.clientKeyPath, p);
        fs.chmodSync(p, parseInt(c.key.mode, 8));
      }
    } else {
      text = text.split('./keys/id_ed25519').join(spec.ssh.clientKeyPath);
    }
    const file = path.join(dir, 'cluster.yaml');
    fs.writeFileSync(file, text);
    return file;
  }

  it('the corpus is the one the unit test reads, aimed at this lab', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
    expect(spec.nodes.map((n) => n.name)).toEqual(Object.keys(CORPUS_ADDRESSES));
  });

  it('refuses every case with exit 2, naming the field and the fix; no command reaches a node', async () => {
    const before = commandsOn(lab.events()).length;
    const results: {
      file: string;
      command: string;
      code: number;
      named: boolean;
      fixed: boolean;
      quiet: boolean;
    }[] = [];
    for (const c of cases) {
      const file = labInventory(c);
      const to = c.target ?? '1.30';
      // A bad --to is the CLI's flag, not an inventory field: the error names the flag.
      const field = c.target !== undefined ? '--to' : c.field;
      for (const argv of [
        ['start', '-f', file, '--to', to, '--auto-approve', '--by', 'ci'],
        ['plan', '-f', file, '--to', to],
      ]) {
        const r = await kupgrade(...argv);
        results.push({
          file: c.file,
          command: argv[0],
          code: r.code,
          named: r.stderr.includes(field),
          fixed: r.stderr.includes(c.fix),
          quiet: r.stdout === '',
        });
      }
    }
    // One list, so a failure shows every case that is wrong, not only the first.
    expect(results.filter((r) => r.code !== 2 || !r.named || !r.fixed || !r.quiet)).toEqual([]);
    expect(results).toHaveLength(cases.length * 2);

    // No upgrade workflow exists for the cluster, and not one command ran on any node.
    const { client: c, close } = await client();
    try {
      await expect(c.workflow.getHandle(upgradeWorkflowId(name)).describe()).rejects.toBeInstanceOf(
        WorkflowNotFoundError,
      );
    } finally {
      await close();
    }
    const after = commandsOn(lab.events());
    expect(after.slice(before)).toEqual([]);
    expect(after.filter((e) => isMutating(e.cmd ?? ''))).toEqual([]);
  });

  it('control: the valid inventory the cases derive from is accepted by plan (read-only)', async () => {
    const base = cases.find((c) => c.target !== undefined);
    expect(base).toBeDefined();
    const before = commandsOn(lab.events()).length;
    const r = await kupgrade('plan', '-f', labInventory(base!), '--to', '1.30');
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/target 1\.30 → v1\.30\.14/);
    expect(r.code).toBe(0);
    // The plan did read the nodes over SSH (so the exec log would have shown a bad case's commands)...
    const ran = commandsOn(lab.events()).slice(before);
    expect(ran.length).toBeGreaterThan(0);
    // ...and changed nothing.
    expect(ran.filter((e) => isMutating(e.cmd ?? ''))).toEqual([]);
  });
});
