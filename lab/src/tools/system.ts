/** systemctl, swapon, etcdctl. */
import { TIME } from '../model/time-model';
import { etcdFor } from '../model/versions';
import type { ExecResult, ToolCall } from './types';
import { ok, fail } from './types';
import { parseFlags, str, type FlagDef } from './argv';

const KNOWN_UNITS = new Set(['kubelet', 'containerd', 'docker', 'sshd', 'crio', 'chronyd', 'firewalld']);

function unitName(u: string): string {
  return u.replace(/\.service$/, '');
}

export async function systemctl(c: ToolCall): Promise<ExecResult> {
  const quiet = c.argv.includes('--quiet') || c.argv.includes('-q');
  const bad = c.argv.find(
    (a) =>
      a.startsWith('-') &&
      !['--quiet', '-q', '--no-pager', '--now', '-l', '--full', '--no-block', '--system'].includes(a),
  );
  if (bad) return fail(1, `systemctl: unrecognized option '${bad}'\n`);
  const [verb, ...units] = c.argv.filter((a) => !a.startsWith('-'));
  if (!verb) return fail(1, 'Too few arguments.\n'); // RECON
  const n = c.node;
  switch (verb) {
    case 'daemon-reload':
      await c.cl.sleep(TIME.daemonReloadMs);
      n.needsDaemonReload = false;
      c.cl.persist();
      return ok();
    case 'restart':
    case 'start':
    case 'stop':
    case 'enable':
    case 'try-restart': {
      if (!units.length) return fail(1, `Too few arguments.\n`);
      let err = '';
      for (const u of units.map(unitName)) {
        if (!KNOWN_UNITS.has(u))
          return fail(5, `Failed to ${verb} ${u}.service: Unit ${u}.service not found.\n`);
        if (u !== 'kubelet') continue;
        if (n.needsDaemonReload && verb !== 'enable') {
          err +=
            "Warning: The unit file, source configuration file or drop-ins of kubelet.service changed on disk. Run 'systemctl daemon-reload' to reload units.\n";
        }
        if (verb === 'enable') continue;
        await c.cl.sleep(TIME.kubeletRestartMs);
        if (verb === 'stop') {
          n.kubeletActive = 'inactive';
          n.notReadyAt = c.cl.after(TIME.nodeNotReadyGraceMs);
          c.cl.wakeAt(n.notReadyAt);
          c.cl.changed(n.name);
        } else if (verb === 'start' && n.kubeletActive === 'active') {
          // starting a running unit is a no-op
        } else c.cl.restartKubelet(n.name);
      }
      return ok('', err);
    }
    case 'is-active': {
      if (!units.length) return fail(1, 'Too few arguments.\n');
      await c.cl.sleep(TIME.trivialMs);
      let out = '';
      let any = false;
      for (const u of units.map(unitName)) {
        const st = u === 'kubelet' ? n.kubeletActive : KNOWN_UNITS.has(u) ? 'active' : 'inactive';
        if (st === 'active') any = true;
        out += `${st}\n`;
      }
      return { stdout: quiet ? '' : out, stderr: '', exit: any ? 0 : 3 };
    }
    case 'status': {
      const u = unitName(units[0] ?? '');
      if (!KNOWN_UNITS.has(u)) return fail(4, `Unit ${u}.service could not be found.\n`);
      await c.cl.sleep(TIME.trivialMs);
      const st = u === 'kubelet' ? n.kubeletActive : 'active';
      const active =
        st === 'active'
          ? 'active (running) since Sat 2026-11-28 08:00:00 UTC; 1h ago'
          : st === 'activating'
            ? 'activating (auto-restart) (Result: exit-code) since Sat 2026-11-28 08:00:00 UTC; 4s ago'
            : 'inactive (dead)';
      const desc = u === 'kubelet' ? 'kubelet: The Kubernetes Node Agent' : `${u}`;
      return {
        stdout: `● ${u}.service - ${desc}\n     Loaded: loaded (/usr/lib/systemd/system/${u}.service; enabled; preset: disabled)\n    Drop-In: /usr/lib/systemd/system/${u}.service.d\n             └─10-kubeadm.conf\n     Active: ${active}\n`,
        stderr: '',
        exit: st === 'active' ? 0 : 3,
      };
    }
    default:
      return fail(1, `Unknown command verb ${verb}.\n`);
  }
}

export async function swapon(c: ToolCall): Promise<ExecResult> {
  await c.cl.sleep(TIME.trivialMs);
  const swap = c.cl.hasFault('swap', c.node.name);
  const a = c.argv;
  if (a.length === 1 && (a[0] === '--show' || a[0] === '-s' || a[0] === '--summary')) {
    if (!swap) return ok();
    if (a[0] === '--show')
      return ok('NAME      TYPE      SIZE USED PRIO\n/dev/dm-1 partition   4G   0B   -2\n');
    return ok(
      'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/dev/dm-1                               partition\t4194300\t\t0\t\t-2\n',
    );
  }
  if (a.length === 1 && (a[0] === '-a' || a[0] === '--all')) return ok();
  if (!a.length) {
    // RECON: util-linux prints its usage to stderr and exits 1 without arguments
    return fail(
      1,
      'Usage:\n swapon [options] [<spec>]\n\nEnable devices and files for paging and swapping.\n',
    );
  }
  const bad = a.find((x) => x.startsWith('-'));
  if (bad)
    return fail(1, `swapon: unrecognized option '${bad}'\nTry 'swapon --help' for more information.\n`);
  return fail(1, `swapon: cannot open ${a[0]}: No such file or directory\n`);
}

const ETCD_FLAGS: FlagDef[] = [
  { name: 'endpoints', type: 'string' },
  { name: 'cacert', type: 'string' },
  { name: 'cert', type: 'string' },
  { name: 'key', type: 'string' },
  { name: 'write-out', short: 'w', type: 'string' },
  { name: 'dial-timeout', type: 'string' },
  { name: 'command-timeout', type: 'string' },
  { name: 'insecure-skip-tls-verify', type: 'bool' },
  { name: 'cluster', type: 'bool' },
];

/** etcdctl exit codes (pkg/cobrautl/error.go) */
const EXIT = { error: 1, interrupted: 5, badArgs: 128 };

export async function etcdctl(c: ToolCall): Promise<ExecResult> {
  const p = parseFlags(c.argv, ETCD_FLAGS);
  if (p.error) return fail(EXIT.error, `Error: ${p.error}\n`);
  for (const f of ['cacert', 'cert', 'key']) {
    const v = str(p, f);
    if (v && !c.ctx.files[v]) return fail(EXIT.error, `Error: open ${v}: no such file or directory\n`);
  }
  const endpoint = (str(p, 'endpoints') ?? '127.0.0.1:2379').split(',')[0]!;
  const [a0, a1, ...rest] = p.args;
  const reachable = !!c.node.cp;
  const ts = () => new Date().toISOString().replace('Z', '+0000');
  if (a0 === 'snapshot' && a1 === 'save') {
    if (rest.length !== 1) return fail(EXIT.badArgs, 'Error: snapshot save expects one argument\n');
    const path = rest[0]!;
    if (!reachable) {
      await c.cl.sleep(5_000);
      return fail(
        EXIT.interrupted,
        `{"level":"info","ts":"${ts()}","caller":"snapshot/v3_snapshot.go:65","msg":"created temporary db file","path":"${path}.part"}\nError: context deadline exceeded\n`,
      );
    }
    await c.cl.sleep(TIME.etcdSnapshotMs);
    const t = ts();
    const log = [
      `{"level":"info","ts":"${t}","caller":"snapshot/v3_snapshot.go:65","msg":"created temporary db file","path":"${path}.part"}`,
      `{"level":"info","ts":"${t}","logger":"client","caller":"v3@v3.5.10/maintenance.go:212","msg":"opened snapshot stream; downloading"}`,
      `{"level":"info","ts":"${t}","caller":"snapshot/v3_snapshot.go:73","msg":"fetching snapshot","endpoint":"${endpoint}"}`,
      `{"level":"info","ts":"${t}","logger":"client","caller":"v3@v3.5.10/maintenance.go:220","msg":"completed snapshot read; closing"}`,
      `{"level":"info","ts":"${t}","caller":"snapshot/v3_snapshot.go:88","msg":"fetched snapshot","endpoint":"${endpoint}","size":"5.2 MB","took":"now"}`,
      `{"level":"info","ts":"${t}","caller":"snapshot/v3_snapshot.go:97","msg":"saved","path":"${path}"}`,
    ].join('\n');
    const etcd = c.node.cp!.etcd;
    const v36 = etcd.startsWith('3.6');
    return {
      stdout: `${v36 ? `Server version ${etcd.replace(/-0$/, '')}\n` : ''}Snapshot saved at ${path}\n`,
      stderr: v36 ? '' : log + '\n',
      exit: 0,
      effects: [
        {
          op: 'write',
          path,
          content: `kupgrade-lab etcd snapshot: node=${c.node.name} etcd=${etcd} kubernetes=${c.cl.state.kubernetesVersion} at=${t}\n`,
        },
      ],
    };
  }
  if (a0 === 'endpoint' && a1 === 'health') {
    if (!reachable) {
      await c.cl.sleep(5_000);
      return fail(
        EXIT.error,
        `${endpoint} is unhealthy: failed to commit proposal: context deadline exceeded\nError: unhealthy cluster\n`,
      );
    }
    await c.cl.sleep(TIME.etcdHealthMs);
    return ok(`${endpoint} is healthy: successfully committed proposal: took = 9.874331ms\n`);
  }
  if (a0 === 'version')
    return ok(
      `etcdctl version: ${etcdFor(c.cl.state.kubernetesVersion).replace(/-0$/, '')}\nAPI version: 3.5\n`,
    );
  if (a0 === 'snapshot' || a0 === 'endpoint' || a0 === 'member') {
    return fail(
      EXIT.error,
      `kupgrade-lab: "etcdctl ${[a0, a1].filter(Boolean).join(' ')}" is not simulated by the lab\n`,
    );
  }
  return fail(
    EXIT.error,
    `Error: unknown command "${a0 ?? ''}" for "etcdctl"\nRun 'etcdctl --help' for usage.\n`,
  );
}
