/**
 * No secret in Temporal. The worker reads an SSH key encrypted with a
 * passphrase; kupgrade plans and dry-runs an upgrade of a lab with it; then every workflow on the
 * dev server — history, memo, search attributes, summaries — is scanned for the key's body, the
 * "PRIVATE KEY" armour and the passphrase. The scanner itself is shown to find planted secrets,
 * base64 payloads included, both in memory and on the real server. The same scan runs over every
 * workflow of the suite in test/setup/global-teardown.ts.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SA_CLUSTER, upgradeWorkflowId, WORKFLOW_TYPES } from '../../src/shared/names';
import { createWorker } from '../../src/worker';
import { kupgrade } from '../helpers/cli';
import { Lab } from '../helpers/lab';
import { address, client, uniqueQueue } from '../helpers/temporal';
import {
  envNeedles,
  keyNeedles,
  NEEDLE_DIR,
  PRIVATE_KEY_MARKER,
  scanServer,
  scanValue,
  type Needle,
} from '../helpers/secret-scan';

jest.setTimeout(5 * 60_000);

/** A history event as the server stores it: the input payload is base64 JSON. */
function historyWith(input: unknown) {
  const payload = (v: unknown) => ({
    metadata: { encoding: Buffer.from('json/plain').toString('base64') },
    data: Buffer.from(JSON.stringify(v)).toString('base64'),
  });
  return {
    events: [
      {
        eventId: '1',
        eventType: 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED',
        workflowExecutionStartedEventAttributes: { input: { payloads: [payload(input)] } },
      },
    ],
  };
}

describe('the secret scanner', () => {
  const dir = path.join(NEEDLE_DIR, '..', `scanner-${randomUUID().slice(0, 8)}`);
  let key: string;
  let needles: Needle[];

  beforeAll(() => {
    mkdirSync(dir, { recursive: true });
    key = path.join(dir, 'planted_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    needles = [PRIVATE_KEY_MARKER, ...keyNeedles(key), { label: 'passphrase', value: 'correct horse 42' }];
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a key body line by line, without the armour', () => {
    const body = keyNeedles(key);
    expect(body.length).toBeGreaterThanOrEqual(3);
    expect(body.every((n) => !n.value.includes('-----'))).toBe(true);
  });

  it('finds a key planted in a base64 payload, where a plain search of the JSON does not', () => {
    const text = readFileSync(key, 'utf8');
    const history = historyWith({ inventory: { ssh: { privateKey: text } } });
    expect(JSON.stringify(history)).not.toContain('PRIVATE KEY'); // why decoding matters
    const found = scanValue(history, needles, 'planted');
    expect(found.map((f) => f.label)).toEqual(
      expect.arrayContaining([PRIVATE_KEY_MARKER.label, ...keyNeedles(key).map((n) => n.label)]),
    );
  });

  it('finds one line of a key, a passphrase in a failure detail, and nothing in a clean history', () => {
    const line = keyNeedles(key)[1].value;
    expect(scanValue(historyWith({ outputTail: `x${line}y` }), needles, 'h')).toHaveLength(1);
    const failure = { failure: { encodedAttributes: historyWith({ hint: 'sshpass -p correct horse 42' }) } };
    expect(scanValue(failure, needles, 'h').map((f) => f.label)).toEqual(['passphrase']);
    expect(scanValue(historyWith({ privateKeyPath: key, node: 'cp-1' }), needles, 'h')).toEqual([]);
  });

  it('takes secret-named environment variables as needles', () => {
    expect(envNeedles({ SSH_PASSPHRASE: 'hunter22', PATH: '/usr/bin', X_TOKEN: 'abc' })).toEqual([
      { label: 'the value of $SSH_PASSPHRASE', value: 'hunter22' },
    ]);
  });

  it('finds a secret planted in a real history, memo and search attribute on the server', async () => {
    const canary = `canary-${randomUUID()}`;
    const { client: c, close } = await client();
    const workflowId = `secret-scan-canary-${randomUUID().slice(0, 8)}`;
    try {
      // No worker serves this queue: the workflow only exists to have a history and a memo.
      const h = await c.workflow.start(WORKFLOW_TYPES.upgrade, {
        taskQueue: uniqueQueue('nobody'),
        workflowId,
        args: [{ planted: canary }],
        memo: { note: canary },
        typedSearchAttributes: [{ key: SA_CLUSTER, value: canary }],
      });
      const { findings } = await scanServer(address(), [{ label: 'canary', value: canary }]);
      const mine = findings.filter((f) => f.where.includes(workflowId));
      expect(mine.map((f) => f.where.split(' of ')[0]).sort()).toEqual([
        'history',
        'memo/search attributes/summary',
      ]);
      await h.terminate('secret scanner self-test');
    } finally {
      await close();
    }
  });
});

describe('no secret in any workflow on the server', () => {
  let lab: Lab;
  let passphrase: string;
  let encrypted: string;

  beforeAll(() => {
    lab = Lab.up({ controlPlanes: 1, workers: 1, version: '1.29.6', packages: 'yum' });
    // The lab's client key, encrypted with a passphrase; the inventory names the encrypted copy.
    passphrase = `pp-${randomBytes(12).toString('hex')}`;
    const plain = path.join(lab.dir, 'ssh', 'id_ed25519');
    encrypted = path.join(lab.dir, 'ssh', 'id_ed25519_encrypted');
    copyFileSync(plain, encrypted);
    execFileSync('ssh-keygen', ['-q', '-p', '-f', encrypted, '-P', '', '-N', passphrase]);
    expect(readFileSync(encrypted, 'utf8')).not.toEqual(readFileSync(plain, 'utf8'));
    const inv = readFileSync(lab.inventory, 'utf8');
    writeFileSync(lab.inventory, inv.replace(`privateKeyPath: ${plain}`, `privateKeyPath: ${encrypted}`));
    // ...and the worker config grants the encrypted copy (the worker uses only the key it grants).
    const config = path.join(lab.dir, 'worker.yaml');
    const granted = readFileSync(config, 'utf8');
    expect(granted).toContain(`privateKeyPath: ${plain}\n`);
    writeFileSync(config, granted.replace(`privateKeyPath: ${plain}\n`, `privateKeyPath: ${encrypted}\n`));
    // The end-of-suite scan (global teardown) looks for this passphrase too.
    mkdirSync(NEEDLE_DIR, { recursive: true });
    writeFileSync(path.join(NEEDLE_DIR, `${path.basename(lab.dir)}.passphrase`), passphrase);
  });
  afterAll(() => lab?.down());

  it('plans and dry-runs with a passphrase-protected key; no history, memo or attribute holds a secret', async () => {
    const queue = uniqueQueue('secrets');
    process.env.KUPGRADE_TASK_QUEUE = queue;
    const w = await createWorker({
      address: address(),
      taskQueue: queue,
      pollIntervalMs: 100,
      ssh: { passphrase },
      trust: path.join(lab.dir, 'worker.yaml'),
    });
    const running = w.worker.run();
    try {
      const plan = await kupgrade('plan', '-f', lab.inventory, '--to', '1.30');
      expect(plan.stderr).toBe('');
      expect(plan.code).toBe(0); // the worker did log in with the encrypted key
      const cluster = /^Cluster (\S+):/.exec(plan.stdout)?.[1] ?? '';
      const dry = await kupgrade('start', '-f', lab.inventory, '--to', '1.30', '--dry-run', '--auto-approve');
      expect(dry.code).toBe(0);
      const { client: c, close } = await client();
      try {
        await c.workflow.getHandle(upgradeWorkflowId(cluster)).result();
      } finally {
        await close();
      }
    } finally {
      w.worker.shutdown();
      await running;
      await w.close();
      delete process.env.KUPGRADE_TASK_QUEUE;
    }

    const needles: Needle[] = [
      PRIVATE_KEY_MARKER,
      ...keyNeedles(path.join(lab.dir, 'ssh', 'id_ed25519'), 'the lab client key'),
      ...keyNeedles(encrypted, 'the encrypted client key'),
      ...keyNeedles(path.join(lab.dir, 'ssh', 'ssh_host_ed25519_key'), 'the lab host key'),
      { label: 'the key passphrase', value: passphrase },
      ...envNeedles(),
    ];
    expect(needles.length).toBeGreaterThan(10);
    // Every workflow on the server: this test's, and every other test's that ran before it.
    const { workflows, findings } = await scanServer(address(), needles);
    expect(workflows).toBeGreaterThanOrEqual(2);
    expect(findings).toEqual([]);
  });
});
