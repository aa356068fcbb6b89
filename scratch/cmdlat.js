const R = '/work/main/dist';
const fs = require('fs');
const { labUp, labDown } = require(R + '/lab/src/api');
const { createSshPool } = require(R + '/src/ssh/pool');
const { cmd } = require(R + '/src/ssh/command');
const { loadInventory } = require(R + '/src/inventory');
(async () => {
  const dir = fs.mkdtempSync('/tmp/cl-');
  await labUp({ dir, controlPlanes: 1, workers: 2, version: '1.29.6', packages: 'yum', speed: 100000 });
  const inv = loadInventory(dir + '/cluster.yaml');
  const pool = createSshPool({ privateKeyPath: inv.ssh.privateKeyPath, knownHostsPath: inv.ssh.knownHostsPath });
  const n = inv.nodes[0];
  const t = { name: n.name, host: n.address, port: inv.ssh.port ?? n.port ?? 22, user: inv.ssh.user, sudo: false };
  if (n.port) t.port = n.port;
  for (const [label, c] of [['true', cmd('true')], ['echo', cmd('echo', 'hi')], ['kubectl get node', cmd('kubectl', 'get', 'node', 'w-1', '-o', 'json')], ['kubeadm version', cmd('kubeadm', 'version', '-o', 'short')], ['rpm -q', cmd('rpm', '-q', 'kubeadm')]]) {
    await pool.run(t, c);
    const t0 = process.hrtime.bigint(); const N = 20;
    for (let i = 0; i < N; i++) { const r = await pool.run(t, c); if (i == 0 && r.exitCode) console.log(label, r.exitCode, r.stderr.slice(0, 200)); }
    console.log(label.padEnd(20), (Number(process.hrtime.bigint() - t0) / 1e6 / N).toFixed(1), 'ms');
  }
  const raw = createSshPool({ privateKeyPath: inv.ssh.privateKeyPath, knownHostsPath: inv.ssh.knownHostsPath, killOnEof: false });
  for (const [label, c] of [['true (no wrapper)', cmd('true')], ['kubectl (no wrapper)', cmd('kubectl', 'get', 'node', 'w-1', '-o', 'json')]]) {
    await raw.run(t, c);
    const t0 = process.hrtime.bigint(); const N = 20;
    for (let i = 0; i < N; i++) await raw.run(t, c);
    console.log(label.padEnd(20), (Number(process.hrtime.bigint() - t0) / 1e6 / N).toFixed(1), 'ms');
  }
  await pool.close(); await raw.close(); await labDown(dir); process.exit(0);
})().catch(e => { console.error(e); process.exit(1); });
