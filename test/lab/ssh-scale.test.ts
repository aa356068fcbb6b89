/**
 * 100 lab nodes behind real sshd: started in parallel (one sshd per 16 addresses), every
 * address listening, a few nodes reached over SSH, then stopped. The times are printed for the
 * record, not asserted (the machine is shared).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { labExec } from '../../lab/src/sshd/client';
import {
  planAddressesDetailed,
  sshdStatus,
  startSshd,
  stopSshd,
  type LabSshNode,
} from '../../lab/src/sshd/index';
import { tcpSockets } from '../../lab/src/sshd/proc';

const COUNT = 100;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kupgrade-ssh-scale-'));
let nodes: LabSshNode[] = [];

afterAll(async () => {
  await stopSshd(dir);
  fs.rmSync(dir, { recursive: true, force: true });
});

test(`${COUNT} nodes up, reachable by address, and down again`, async () => {
  let t = Date.now();
  const plan = planAddressesDetailed(COUNT);
  const planMs = Date.now() - t;
  nodes = plan.addresses.map((a, i) => ({ name: `node-${String(i + 1).padStart(3, '0')}`, ...a }));
  fs.writeFileSync(
    path.join(dir, 'lab.json'),
    JSON.stringify({
      nodes: nodes.map((n) => ({ ...n, role: 'worker' })),
      controller: { host: '127.0.0.1', port: 9 },
    }),
  );

  t = Date.now();
  await startSshd(dir, nodes);
  const startMs = Date.now() - t;

  const status = sshdStatus(dir);
  const pids = new Set(status.map((s) => s.pid));
  expect(status).toHaveLength(COUNT);
  expect(status.every((s) => s.pid !== null && !s.down)).toBe(true);
  expect(pids.size).toBe(Math.ceil(COUNT / 16));
  const listening = new Set(
    [...tcpSockets().values()].filter((s) => s.state === 'LISTEN').map((s) => s.local),
  );
  for (const n of nodes) expect(listening).toContain(`${n.address}:${n.port}`);

  const sample = [nodes[0], nodes[16], nodes[COUNT - 1]];
  t = Date.now();
  const results = await Promise.all(sample.map((n) => labExec(n, 'echo $KUPGRADE_LAB_NODE', { dir })));
  const execMs = Date.now() - t;
  expect(results.map((r) => r.stdout.trim())).toEqual(sample.map((n) => n.name));

  t = Date.now();
  await stopSshd(dir);
  const stopMs = Date.now() - t;
  expect(sshdStatus(dir).every((s) => s.pid === null)).toBe(true);

  console.log(
    `[ssh-scale] ${COUNT} nodes (${plan.mode}, ${pids.size} sshd): plan ${planMs} ms, start ${startMs} ms, ` +
      `3 commands in parallel ${execMs} ms, stop ${stopMs} ms`,
  );
});
