/**
 * detachedStep (src/ssh/detached.ts) run by a local sh, as the node would run it: the step survives
 * the death of the command that started it, a second call attaches instead of starting it again,
 * two steps never overlap on a node, and a collected step runs again on the next call.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { raw, sh } from '../../src/ssh/command';
import { cksum, detachedStep, stepId, unwrapDetached } from '../../src/ssh/detached';

interface Run {
  pid: number;
  done: Promise<{ code: number; stdout: string; stderr: string }>;
}

/** Runs a command line in its own process group (as sshd runs a session). */
function start(line: string): Run {
  const p = spawn('sh', ['-c', line], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return {
    pid: p.pid!,
    done: new Promise((resolve) => p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }))),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, fn: () => boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (fn()) return;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('detachedStep', () => {
  let dir: string;
  let runDir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'kupgrade-detached-'));
    runDir = path.join(dir, 'run');
  });

  it('passes the step’s stdout, stderr and exit code through', async () => {
    const r = await start(detachedStep('s1', raw('echo out; echo err >&2; exit 3'), runDir)).done;
    expect(r).toEqual({ code: 3, stdout: 'out\n', stderr: 'err\n' });
    expect(readFileSync(path.join(runDir, 's1', 'rc'), 'utf8')).toBe('3\n');
    expect(existsSync(path.join(runDir, 's1', 'collected'))).toBe(true);
  });

  it('survives the kill of its session and is attached to, never started twice', async () => {
    const count = path.join(dir, 'count');
    const gate = path.join(dir, 'gate');
    const step = sh`echo x >> ${count}; while [ ! -f ${gate} ]; do sleep 0.05; done; echo finished`;
    const line = detachedStep(stepId('upgrade-apply', 'v1.30.14'), step, runDir);
    const first = start(line);
    await until('the step to start', () => existsSync(count));
    process.kill(-first.pid, 'SIGKILL'); // the kill-on-EOF wrapper's `kill -KILL 0`
    await first.done;
    // a retry (twice at once: a duplicate attempt) attaches to the running step
    const second = start(line);
    const third = start(line);
    await sleep(300);
    writeFileSync(gate, '');
    const [b, c] = await Promise.all([second.done, third.done]);
    expect(b.code).toBe(0);
    expect(c.code).toBe(0);
    expect(b.stdout).toBe('finished\n');
    expect(c.stdout).toBe('finished\n');
    expect(readFileSync(count, 'utf8')).toBe('x\n');
  });

  it('runs one step at a time on a node, and a collected step again on the next call', async () => {
    const log = path.join(dir, 'log');
    const step = (name: string) => sh`echo start-${name} >> ${log}; sleep 0.3; echo end-${name} >> ${log}`;
    const [a, b] = await Promise.all([
      start(detachedStep('a', step('a'), runDir)).done,
      start(detachedStep('b', step('b'), runDir)).done,
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]!.replace('start-', 'end-')).toBe(lines[1]);
    expect(lines[2]!.replace('start-', 'end-')).toBe(lines[3]);
    expect(existsSync(path.join(runDir, 'a', 'collected'))).toBe(true);
    await start(detachedStep('a', step('a'), runDir)).done;
    expect(readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(6);
    // the collected run was kept as the last one, and the new run is collected in its place
    expect(readFileSync(path.join(runDir, '.last', 'a', 'rc'), 'utf8')).toBe('0\n');
    expect(existsSync(path.join(runDir, 'a', 'collected'))).toBe(true);
  });

  it('takes the result of a finished step whose sum `cksum` wrote (an earlier wrapper), once', async () => {
    const command = raw('echo never-run');
    const d = path.join(runDir, 'kubelet-restart');
    mkdirSync(d, { recursive: true });
    const sum = spawnSync('sh', ['-c', 'printf %s "$1" | cksum', 'x', command], { encoding: 'utf8' }).stdout;
    writeFileSync(path.join(d, 'sum'), sum);
    writeFileSync(path.join(d, 'pid'), '1\n');
    writeFileSync(path.join(d, 'out'), 'from-the-earlier-run\n');
    writeFileSync(path.join(d, 'err'), '');
    writeFileSync(path.join(d, 'rc'), '4\n');
    const r = await start(detachedStep('kubelet-restart', command, runDir)).done;
    expect(r).toEqual({ code: 4, stdout: 'from-the-earlier-run\n', stderr: '' });
    const again = await start(detachedStep('kubelet-restart', command, runDir)).done;
    expect(again).toEqual({ code: 0, stdout: 'never-run\n', stderr: '' });
  });

  it('runs again a step that ended without a whole exit code (killed while writing it)', async () => {
    const command = raw('echo second');
    for (const [id, rc] of [
      ['empty-rc', ''],
      ['only-rc-tmp', null],
    ] as const) {
      const d = path.join(runDir, id);
      mkdirSync(d, { recursive: true });
      writeFileSync(path.join(d, 'sum'), `${cksum(command)}\n`);
      writeFileSync(path.join(d, 'pid'), '1\n');
      writeFileSync(path.join(d, 'out'), 'first\n');
      if (rc === null) writeFileSync(path.join(d, 'rc.tmp'), '0\n');
      else writeFileSync(path.join(d, 'rc'), rc);
      const r = await start(detachedStep(id, command, runDir)).done;
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('second\n');
      expect(r.stderr).toMatch(/ended without an exit code \(node restarted\?\); running it again/);
    }
  });

  it('computes the sum as POSIX cksum does, and the command is read back from the line', () => {
    for (const text of ['', 'a', "kubeadm upgrade node && echo 'ok'", 'ü升级\n'.repeat(5000)]) {
      const want = spawnSync('cksum', { input: Buffer.from(text, 'utf8'), encoding: 'utf8' }).stdout.trim();
      expect(cksum(text)).toBe(want);
    }
    const command = raw("yum install -y 'kubelet-1.30.14' && echo it's done");
    expect(unwrapDetached(detachedStep('kubelet-packages', command, '/run/x'))).toEqual({
      runDir: '/run/x',
      id: 'kubelet-packages',
      command,
    });
    expect(unwrapDetached('sh -c true')).toBeNull();
  });

  it('refuses an id that is not a plain name', () => {
    expect(() => detachedStep('../x', raw('true'))).toThrow(/bad step id/);
    expect(stepId('kubelet-packages', '1.30.14-1.1')).toBe('kubelet-packages-1.30.14-1.1');
  });
});
