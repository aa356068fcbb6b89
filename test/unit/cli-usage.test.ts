/** The CLI's contract for bad usage: exit 2, an error on stderr that names the flag and the fix. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../src/cli/main';

async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t), isTTY: false });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

describe('kupgrade usage', () => {
  it.each([
    [['frobnicate'], /unknown command "frobnicate"/],
    [['start'], /--file is required/],
    [['start', '-f', '/nonexistent/cluster.yaml', '--to', '1.30'], /cluster\.yaml/],
    [['status'], /exactly one CLUSTER/],
    [['status', 'Bad_Name!'], /not a valid cluster name/],
    [['status', 'prod', '-o', 'xml'], /--output must be one of json\|yaml/],
    [['approve', 'prod', '--gate', 'lunch'], /unknown gate "lunch"/],
    [['skip', 'prod'], /needs --node/],
    [['watch', 'prod', '--interval', '0'], /--interval/],
    [['status', 'prod', '--bogus'], /Unknown option '--bogus'/],
  ])('%j exits 2 with a clear error', async (argv, message) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('validates flags of start before touching any node or server', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kupgrade-cli-'));
    const key = path.join(dir, 'id');
    writeFileSync(key, 'not a key', { mode: 0o600 });
    const file = path.join(dir, 'cluster.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: kupgrade/v1',
        'kind: Cluster',
        'metadata: {name: prod}',
        `ssh: {user: root, privateKeyPath: ${key}, knownHostsPath: ${key}}`,
        'packages: {manager: yum}',
        'nodes:',
        '  - {name: cp-1, address: 127.0.0.2, role: control-plane}',
      ].join('\n'),
    );
    for (const [flags, message] of [
      [['--to', '1.30', '--max-unavailable', '150%'], /--max-unavailable: "150%"/],
      [['--to', '1.30', '--max-unavailable', '0'], /--max-unavailable: "0"/],
      [['--to', '1.30', '--gates', 'preflight,lunch'], /--gates: unknown gate "lunch"/],
      [['--to', 'latest'], /--to: "latest" is not a Kubernetes version/],
    ] as [string[], RegExp][]) {
      const r = await run(['start', '-f', file, '--address', '127.0.0.1:1', ...flags]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it('prints help with examples and exits 0', async () => {
    const r = await run(['approve', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Examples:/);
    expect(r.stdout).toMatch(/temporal workflow update execute/);
    const top = await run(['--help']);
    expect(top.code).toBe(0);
    for (const c of [
      'plan',
      'start',
      'watch',
      'status',
      'approve',
      'retry',
      'skip',
      'abort',
      'pause',
      'resume',
      'list',
      'history',
      'worker',
      'server',
    ]) {
      expect(top.stdout).toContain(`  ${c} `);
    }
  });

  it('reports an unreachable server as a failure (exit 1) naming the fix', async () => {
    const r = await run(['status', 'prod', '--address', '127.0.0.1:1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot reach the Temporal server at 127\.0\.0\.1:1/);
    expect(r.stderr).toMatch(/kupgrade server/);
  });
});
