/**
 * The controller: 1,000 nodes and hundreds of concurrent commands over its HTTP API, one writer of
 * well-formed events; a restarted controller resumes from state.json without re-emitting `up`;
 * a node that goes down turns NotReady after the grace period and Ready again after it is back.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { startController } from '../../lab/src/controller/server';
import { request, setNodeDown } from '../../lab/src/lab';
import { downInProcess, readEvents, upInProcess } from '../helpers/lab';

jest.setTimeout(120_000);

function post(
  port: number,
  body: unknown,
): Promise<{ status: number; json: { stdout: string; exit: number } }> {
  const data = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/exec',
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': data.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as { stdout: string; exit: number },
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

const ctx = { files: {}, env: {}, localTime: '2026-01-01-00-00-00' };

test('1,000 nodes, 500 concurrent commands', async () => {
  const t0 = Date.now();
  const lab = await upInProcess({
    controlPlanes: 3,
    workers: 997,
    version: '1.31.2',
    packages: 'dnf',
    speed: 100,
  });
  try {
    const upMs = Date.now() - t0;
    expect(upMs).toBeLessThan(60_000);
    const ups = readEvents<Record<string, unknown>>(lab.dir).filter((e) => e.type === 'state');
    expect(ups).toHaveLength(1000);
    const port = lab.controller!.port;
    const nodes = lab.spec.nodes.map((n) => n.name);
    const calls = Array.from({ length: 500 }, (_, i) =>
      post(port, { node: nodes[(i * 7) % 1000], tool: 'systemctl', argv: ['is-active', 'kubelet'], ctx }),
    );
    const res = await Promise.all(calls);
    expect(res.every((r) => r.status === 200 && r.json.exit === 0 && r.json.stdout === 'active\n')).toBe(
      true,
    );
    // cordon 100 workers at once through kubectl on the first control plane
    const admin = { ...ctx, files: { '/etc/kubernetes/admin.conf': 'x' } };
    const cordons = await Promise.all(
      nodes
        .slice(3, 103)
        .map((n) => post(port, { node: 'cp-1', tool: 'kubectl', argv: ['cordon', n], ctx: admin })),
    );
    expect(cordons.map((r) => r.json.stdout)).toEqual(nodes.slice(3, 103).map((n) => `node/${n} cordoned\n`));
    const lines = fs.readFileSync(path.join(lab.dir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean);
    // every line parses: one writer, no interleaving
    const parsed = lines.map((l) => JSON.parse(l) as { type: string; unschedulable?: boolean });
    expect(parsed.filter((e) => e.type === 'exec')).toHaveLength(600);
    expect(parsed.filter((e) => e.type === 'state' && e.unschedulable)).toHaveLength(100);
  } finally {
    await downInProcess(lab);
  }
});

test('a restarted controller resumes from state.json; node down and up', async () => {
  const lab = await upInProcess({
    controlPlanes: 1,
    workers: 2,
    version: '1.30.4',
    packages: 'yum',
    speed: 1000,
  });
  try {
    const admin = { ...ctx, files: { '/etc/kubernetes/admin.conf': 'x' } };
    expect(
      (
        await post(lab.controller!.port, {
          node: 'cp-1',
          tool: 'kubectl',
          argv: ['cordon', 'w-2'],
          ctx: admin,
        })
      ).json.exit,
    ).toBe(0);
    await lab.controller!.close();
    const before = readEvents<Record<string, unknown>>(lab.dir).length;
    const again = await startController(lab.dir);
    lab.controller = again;
    // the lab.json port changed: record it as `up` does
    const spec = JSON.parse(fs.readFileSync(path.join(lab.dir, 'lab.json'), 'utf8')) as {
      controller: { port: number };
    };
    spec.controller.port = again.port;
    fs.writeFileSync(path.join(lab.dir, 'lab.json'), JSON.stringify(spec));
    expect(readEvents<Record<string, unknown>>(lab.dir)).toHaveLength(before); // no second set of `up` lines
    const st = await request<{ nodes: { name: string; unschedulable: boolean; ready: boolean }[] }>(
      lab.dir,
      'GET',
      '/status',
    );
    expect(st.nodes.find((n) => n.name === 'w-2')).toMatchObject({ unschedulable: true, ready: true });
    // node down (the lab was started without sshd: only the controller side is exercised here)
    await setNodeDown(lab.dir, 'w-1', true);
    await new Promise((r) => setTimeout(r, 120)); // 40s grace at speed 1000
    const down = await request<{ nodes: { name: string; ready: boolean; down: boolean }[] }>(
      lab.dir,
      'GET',
      '/status',
    );
    expect(down.nodes.find((n) => n.name === 'w-1')).toMatchObject({ ready: false, down: true });
    await setNodeDown(lab.dir, 'w-1', false);
    await new Promise((r) => setTimeout(r, 80));
    const upAgain = await request<{ nodes: { name: string; ready: boolean; down: boolean }[] }>(
      lab.dir,
      'GET',
      '/status',
    );
    expect(upAgain.nodes.find((n) => n.name === 'w-1')).toMatchObject({ ready: true, down: false });
    expect(readEvents<Record<string, unknown>>(lab.dir)).toContainEqual(
      expect.objectContaining({ node: 'w-1', type: 'state', ready: false }),
    );
  } finally {
    await downInProcess(lab);
  }
});

test('up --cordoned: a node cordoned by someone else before the upgrade; mirror repo files', async () => {
  const lab = await upInProcess({
    controlPlanes: 1,
    workers: 2,
    version: '1.30.4',
    packages: 'apt',
    repo: 'mirror',
    cordoned: ['w-2'],
    speed: 1000,
  });
  try {
    const first = readEvents<Record<string, unknown>>(lab.dir).filter(
      (e) => e.type === 'state' && e.node === 'w-2',
    )[0];
    expect(first).toMatchObject({ unschedulable: true, ready: true, kubelet: 'v1.30.4', apiserver: null });
    expect(
      fs.readFileSync(path.join(lab.dir, 'nodes/w-1/etc/apt/sources.list.d/kubernetes.list'), 'utf8'),
    ).toBe(
      'deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.30/deb/ /\n',
    );
    const yaml = fs.readFileSync(path.join(lab.dir, 'cluster.yaml'), 'utf8');
    expect(yaml).toContain(
      '    mode: mirror\n    urlTemplate: https://mirrors.aliyun.com/kubernetes-new/core/stable/v{minor}/deb/\n',
    );
    expect(fs.existsSync(path.join(lab.dir, 'nodes/w-1/etc/kubernetes/admin.conf'))).toBe(false);
    expect(fs.existsSync(path.join(lab.dir, 'nodes/cp-1/etc/kubernetes/manifests/etcd.yaml'))).toBe(true);
    const shim = fs.readFileSync(path.join(lab.dir, 'bin/kubeadm'), 'utf8');
    expect(shim).toMatch(/^#!\/bin\/bash\n# kupgrade-lab shim: kubeadm /);
    expect(shim).toContain('printf \'%s\\0\' KLAB1 "$node" "kubeadm"');
    expect(fs.statSync(path.join(lab.dir, 'bin/kubeadm')).mode & 0o111).toBe(0o111);
  } finally {
    await downInProcess(lab);
  }
});

test('pods evicted before the run: Failed/Evicted as the kubelet reports them; a drain deletes them without a replacement', async () => {
  const lab = await upInProcess({
    controlPlanes: 1,
    workers: 2,
    version: '1.30.4',
    packages: 'yum',
    speed: 1000,
    evictedPods: ['w-1'],
    podsPerWorker: 0,
  });
  try {
    const admin = { ...ctx, files: { '/etc/kubernetes/admin.conf': 'x' } };
    const kubectl = async (...argv: string[]) =>
      (await post(lab.controller!.port, { node: 'cp-1', tool: 'kubectl', argv, ctx: admin })).json;
    const list = JSON.parse((await kubectl('-n', 'kube-system', 'get', 'pods', '-o', 'json')).stdout) as {
      items: {
        metadata: { name: string };
        spec: { nodeName: string };
        status: { phase: string; reason?: string; containerStatuses?: { ready: boolean }[] };
      }[];
    };
    const evicted = list.items.filter((p) => p.status.phase === 'Failed');
    expect(evicted).toHaveLength(1);
    expect(evicted[0]).toMatchObject({ spec: { nodeName: 'w-1' }, status: { reason: 'Evicted' } });
    expect(evicted[0].metadata.name).toMatch(/^metrics-server-[a-z0-9]{10}-[a-z0-9]{5}$/);
    // every running pod reports its containers' readiness
    expect(
      list.items
        .filter((p) => p.status.phase === 'Running')
        .every((p) => p.status.containerStatuses?.[0]?.ready),
    ).toBe(true);
    const table = (await kubectl('-n', 'kube-system', 'get', 'pods')).stdout;
    expect(table).toMatch(new RegExp(`${evicted[0].metadata.name}\\s+0/1\\s+Evicted`));
    const drain = await kubectl('drain', 'w-1', '--ignore-daemonsets', '--timeout=60s');
    expect(drain.exit).toBe(0);
    expect(drain.stdout).toContain(`evicting pod kube-system/${evicted[0].metadata.name}\n`);
    const after = JSON.parse((await kubectl('-n', 'kube-system', 'get', 'pods', '-o', 'json')).stdout) as {
      items: { metadata: { name: string } }[];
    };
    expect(after.items.filter((p) => p.metadata.name.startsWith('metrics-server-'))).toEqual([]);
    // an operator's cordon is recorded as theirs before the node's state line
    await request(lab.dir, 'POST', '/cordon', { node: 'w-2', cordon: true });
    const ev = readEvents<Record<string, unknown>>(lab.dir);
    const i = ev.findIndex((e) => e.type === 'operator');
    expect(ev[i]).toMatchObject({ node: 'w-2', action: 'cordon' });
    expect(ev.slice(i + 1).find((e) => e.node === 'w-2')).toMatchObject({
      type: 'state',
      unschedulable: true,
    });
  } finally {
    await downInProcess(lab);
  }
});
