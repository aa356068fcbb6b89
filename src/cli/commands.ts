/**
 * The kupgrade commands (PRODUCT.md "The user's day"). Each command parses its flags, validates
 * input once, talks to Temporal, and prints; main.ts maps errors to exit codes.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { checkKeyFiles, InventoryError, loadInventory, parseTargetVersion } from '../inventory';
import { approveUpdate, decideUpdate, pauseUpdate, resumeUpdate, stateQuery } from '../shared/messages';
import {
  planWorkflowId,
  SA_CLUSTER,
  SA_PHASE,
  SA_TARGET,
  summaryFor,
  upgradeWorkflowId,
  WORKFLOW_TYPES,
} from '../shared/names';
import { GATES, isGateName, type GateName } from '../shared/gates';
import {
  type DecisionRecord,
  type PauseRequest,
  type PlanInput,
  type UpgradeInput,
  type UpgradePlan,
  type UpgradeState,
} from '../shared/types';
import { workflowUiUrl } from '../temporal/connection';
import { clusterArg, outputFormat, required, str, type FlagSpec, type Parsed } from './args';
import { connect, explain, identityOf, upgradeHandle, type Cli } from './client';
import { formatted, planText, table, watchScreen } from './render';
import { CommandError, UsageError, type CommandHelp } from './usage';

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  isTTY: boolean;
}

export interface Command {
  help: CommandHelp;
  flags: FlagSpec;
  run(p: Parsed, io: Io): Promise<number>;
}

const CONN_FLAGS: [string, string][] = [
  ['--address HOST:PORT', 'Temporal frontend (default: TEMPORAL_ADDRESS, the profile, or localhost:7233)'],
  ['-n, --namespace NS', 'Temporal namespace (default: TEMPORAL_NAMESPACE or default)'],
  ['--profile NAME', 'envconfig profile of ~/.config/temporalio/temporal.toml'],
];

async function withCli<T>(p: Parsed, fn: (cli: Cli) => Promise<T>, cluster?: string): Promise<T> {
  const cli = await connect(p);
  try {
    return await fn(cli);
  } catch (err) {
    throw explain(err, cluster);
  } finally {
    await cli.close();
  }
}

function loadInventoryOrExplain(file: string) {
  try {
    const inv = loadInventory(file);
    return inv;
  } catch (err) {
    if (err instanceof InventoryError) throw new UsageError(err.message);
    throw err;
  }
}

/** The key file and known_hosts checks: bad input (exit 2) that names the field and the fix. */
function checkKeyFilesOrExplain(inventory: ReturnType<typeof loadInventory>): void {
  try {
    checkKeyFiles(inventory);
  } catch (err) {
    if (err instanceof InventoryError) throw new UsageError(err.message);
    throw err;
  }
}

/** `--to` must be a Kubernetes version (1.30, v1.30.4) before anything is sent to a worker. */
function checkTarget(target: string): void {
  try {
    parseTargetVersion(target);
  } catch (err) {
    if (err instanceof InventoryError) {
      const i = err.issues[0];
      throw new UsageError(`--to: ${i.message}; fix: ${i.fix}`);
    }
    throw err;
  }
}

function parseGates(text: string | undefined): GateName[] | undefined {
  if (text === undefined) return undefined;
  if (text === '' || text === 'none') return [];
  const gates = text.split(',').map((g) => g.trim());
  for (const g of gates) {
    if (!isGateName(g)) {
      throw new UsageError(
        `--gates: unknown gate "${g}"; use a comma list of ${GATES.join(', ')} (or "none")`,
      );
    }
  }
  return gates as GateName[];
}

function parseMaxUnavailable(text: string | undefined): number | `${number}%` | undefined {
  if (text === undefined) return undefined;
  if (/^[1-9]\d{0,5}$/.test(text)) return Number(text);
  const m = /^([1-9]\d?|100)%$/.exec(text);
  if (m) return `${Number(m[1])}%`;
  throw new UsageError(
    `--max-unavailable: "${text}" is neither a count ≥ 1 nor a percentage 1%–100% (e.g. 2 or 10%)`,
  );
}

function print(io: Io, value: unknown, p: Parsed, text: () => string): void {
  const f = outputFormat(p);
  io.out(f === 'table' ? text() : formatted(value, f));
}

async function queryState(cli: Cli, cluster: string): Promise<UpgradeState> {
  return upgradeHandle(cli, cluster).query(stateQuery);
}

// ----------------------------------------------------------------------------------------------

const plan: Command = {
  help: {
    name: 'plan',
    summary: 'Read-only: versions, the resolved target, hops, preflight, and the ordered steps.',
    usage: 'kupgrade plan -f cluster.yaml --to VERSION [--allow-unlisted] [-o json|yaml]',
    flags: [
      ['-f, --file FILE', 'the inventory (docs/inventory.md)'],
      ['--to VERSION', 'target: 1.30 (newest patch in the repo) or 1.30.4'],
      ['--allow-unlisted', 'cluster nodes missing from the inventory only warn (they are not upgraded)'],
      ['-o, --output FORMAT', 'json|yaml (default: text)'],
      ...CONN_FLAGS,
    ],
    examples: [
      'kupgrade plan -f cluster.yaml --to 1.30',
      'kupgrade plan -f cluster.yaml --to v1.30.4 -o json',
    ],
  },
  flags: {
    file: { type: 'string', short: 'f' },
    to: { type: 'string' },
    output: { type: 'string', short: 'o' },
    'allow-unlisted': { type: 'boolean' },
  },
  async run(p, io) {
    const inventory = loadInventoryOrExplain(
      required(p, 'file', 'plan', 'the cluster inventory, e.g. -f cluster.yaml'),
    );
    const target = required(p, 'to', 'plan', 'the target version, e.g. --to 1.30');
    checkTarget(target);
    outputFormat(p);
    checkKeyFilesOrExplain(inventory);
    // The plan runs as a short workflow so the worker, not the CLI, holds the SSH keys.
    const result = await withCli(p, (cli) =>
      cli.client.workflow.execute<(i: PlanInput) => Promise<UpgradePlan>>(WORKFLOW_TYPES.plan, {
        taskQueue: cli.settings.taskQueue,
        workflowId: planWorkflowId(inventory.metadata.name, randomUUID().slice(0, 8)),
        args: [
          {
            inventory,
            target,
            ...(p.values['allow-unlisted'] === true ? { options: { allowUnlisted: true } } : {}),
          },
        ],
        staticSummary: `plan ${inventory.metadata.name} → ${target}`,
        workflowExecutionTimeout: '30 minutes',
      }),
    );
    print(io, result, p, () => planText(result));
    return result.refused || (result.preflight && !result.preflight.ok) ? 1 : 0;
  },
};

const start: Command = {
  help: {
    name: 'start',
    summary: 'Start the upgrade of a cluster (workflow kupgrade-<cluster>); one active upgrade per cluster.',
    usage:
      'kupgrade start -f cluster.yaml --to VERSION [--auto-approve] [--max-unavailable N|P%] [--gates LIST] [--dry-run]',
    flags: [
      ['-f, --file FILE', 'the inventory (docs/inventory.md)'],
      ['--to VERSION', 'target: 1.30 or 1.30.4; several minors are done one hop at a time'],
      ['--auto-approve', 'approve every gate by itself (CI, the lab)'],
      ['--max-unavailable N|P%', 'workers upgraded at once (overrides rollout.maxUnavailable)'],
      ['--gates LIST', `comma list of ${GATES.join(', ')}, or none (overrides rollout.gates)`],
      ['--dry-run', 'preflight and plan only; nothing on any node changes'],
      ['--allow-unlisted', 'upgrade although the cluster has nodes the inventory does not list'],
      ['--by NAME', 'who starts the run (default: $USER)'],
      ['-o, --output FORMAT', 'json|yaml'],
      ...CONN_FLAGS,
    ],
    examples: [
      'kupgrade start -f cluster.yaml --to 1.30',
      'kupgrade start -f cluster.yaml --to 1.31 --max-unavailable 10% --gates preflight,workers',
    ],
  },
  flags: {
    file: { type: 'string', short: 'f' },
    to: { type: 'string' },
    'auto-approve': { type: 'boolean' },
    'max-unavailable': { type: 'string' },
    gates: { type: 'string' },
    'dry-run': { type: 'boolean' },
    'allow-unlisted': { type: 'boolean' },
    by: { type: 'string' },
    output: { type: 'string', short: 'o' },
  },
  async run(p, io) {
    const inventory = loadInventoryOrExplain(
      required(p, 'file', 'start', 'the cluster inventory, e.g. -f cluster.yaml'),
    );
    const target = required(p, 'to', 'start', 'the target version, e.g. --to 1.30');
    checkTarget(target);
    const input: UpgradeInput = {
      inventory,
      target,
      options: {
        autoApprove: p.values['auto-approve'] === true,
        maxUnavailable: parseMaxUnavailable(str(p, 'max-unavailable')),
        gates: parseGates(str(p, 'gates')),
        dryRun: p.values['dry-run'] === true,
        startedBy: identityOf(p),
        ...(p.values['allow-unlisted'] === true ? { allowUnlisted: true } : {}),
      },
    };
    outputFormat(p);
    checkKeyFilesOrExplain(inventory);
    const cluster = inventory.metadata.name;
    const workflowId = upgradeWorkflowId(cluster);
    const handle = await withCli(p, async (cli) => {
      try {
        const h = await cli.client.workflow.start(WORKFLOW_TYPES.upgrade, {
          taskQueue: cli.settings.taskQueue,
          workflowId,
          args: [input],
          workflowIdConflictPolicy: 'FAIL',
          staticSummary: summaryFor(input),
          typedSearchAttributes: [
            { key: SA_CLUSTER, value: cluster },
            { key: SA_TARGET, value: target },
            { key: SA_PHASE, value: 'preflight' },
          ],
        });
        return {
          runId: h.firstExecutionRunId,
          url: workflowUiUrl(cli.settings, workflowId, h.firstExecutionRunId),
        };
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) {
          throw new CommandError(
            `an upgrade of cluster "${cluster}" is already running (workflow ${workflowId}); ` +
              `watch it with 'kupgrade watch ${cluster}', or stop it with 'kupgrade abort ${cluster}' before starting another`,
          );
        }
        throw err;
      }
    });
    const info = { workflowId, runId: handle.runId, ui: handle.url, cluster, target };
    print(io, info, p, () =>
      [
        `Started the upgrade of ${cluster} to ${target}: workflow ${workflowId} (run ${handle.runId})`,
        `Web UI: ${handle.url}`,
        `Next:   kupgrade watch ${cluster}`,
      ].join('\n'),
    );
    return 0;
  },
};

const TERMINAL = new Set(['done', 'aborted', 'failed']);

const watch: Command = {
  help: {
    name: 'watch',
    summary: 'Live view of an upgrade: nodes, steps, versions, the open gate and its approve command.',
    usage: 'kupgrade watch CLUSTER [--interval SECONDS] [--once]',
    flags: [
      ['--interval SECONDS', 'refresh period (default 1)'],
      ['--once', 'print one screen and exit'],
      ...CONN_FLAGS,
    ],
    examples: ['kupgrade watch prod-bj', 'kupgrade watch prod-bj --once | less'],
  },
  flags: { interval: { type: 'string' }, once: { type: 'boolean' } },
  async run(p, io) {
    const cluster = clusterArg(p, 'watch');
    const interval = Number(str(p, 'interval') ?? '1');
    if (!(interval > 0 && interval <= 3600))
      throw new UsageError('--interval must be a number of seconds between 0 and 3600');
    return withCli(
      p,
      async (cli) => {
        let last = '';
        for (;;) {
          const state = await queryState(cli, cluster);
          const screen = watchScreen(state);
          if (io.isTTY) {
            io.out(`\x1b[H\x1b[2J${screen}`);
          } else {
            // Piped: one plain line per change, not a redraw.
            const line =
              `${new Date().toISOString()} phase=${state.phase}${state.gate ? ` gate=${state.gate.name}` : ''} ` +
              state.nodes.map((n) => `${n.name}:${n.status}${n.step ? `/${n.step}` : ''}`).join(' ');
            if (line.slice(25) !== last) io.out(line);
            last = line.slice(25);
          }
          if (p.values.once || TERMINAL.has(state.phase)) {
            if (!io.isTTY && (p.values.once || TERMINAL.has(state.phase))) io.out(screen);
            return state.phase === 'done' || p.values.once ? 0 : 1;
          }
          await new Promise((r) => setTimeout(r, interval * 1000));
        }
      },
      cluster,
    );
  },
};

const status: Command = {
  help: {
    name: 'status',
    summary: 'The state of an upgrade (phase, hop, gate, nodes, failures, approvals).',
    usage: 'kupgrade status CLUSTER [-o json|yaml]',
    flags: [['-o, --output FORMAT', 'json|yaml (default: the watch screen)'], ...CONN_FLAGS],
    examples: ['kupgrade status prod-bj', 'kupgrade status prod-bj -o json | jq -r .phase'],
  },
  flags: { output: { type: 'string', short: 'o' } },
  async run(p, io) {
    const cluster = clusterArg(p, 'status');
    outputFormat(p);
    const state = await withCli(p, (cli) => queryState(cli, cluster), cluster);
    print(io, state, p, () => watchScreen(state));
    return 0;
  },
};

const approve: Command = {
  help: {
    name: 'approve',
    summary: 'Approve the open gate of an upgrade (refused when that gate is not open).',
    usage: 'kupgrade approve CLUSTER [--gate GATE] [--by NAME] [--comment TEXT]',
    flags: [
      ['--gate GATE', `the gate to approve (${GATES.join(', ')}); default: the open one`],
      [
        '--by NAME',
        'who approves: must be one of the approvers the worker config names (default: KUPGRADE_IDENTITY or $USER)',
      ],
      ['--comment TEXT', 'why, e.g. a change ticket'],
      ...CONN_FLAGS,
    ],
    examples: [
      'kupgrade approve prod-bj --gate control-plane --by alice --comment "CAB-1234"',
      `temporal workflow update execute --workflow-id kupgrade-prod-bj --name approve --input '{"gate":"workers","by":"alice"}'`,
    ],
  },
  flags: { gate: { type: 'string' }, by: { type: 'string' }, comment: { type: 'string' } },
  async run(p, io) {
    const cluster = clusterArg(p, 'approve');
    const gateFlag = str(p, 'gate');
    if (gateFlag !== undefined && !isGateName(gateFlag)) {
      throw new UsageError(`--gate: unknown gate "${gateFlag}"; one of ${GATES.join(', ')}`);
    }
    const rec = await withCli(
      p,
      async (cli) => {
        const handle = upgradeHandle(cli, cluster);
        let gate = gateFlag as GateName | undefined;
        if (!gate) {
          const state = await handle.query(stateQuery);
          if (!state.gate)
            throw new CommandError(
              `no gate is open on ${cluster} (phase ${state.phase}); nothing to approve`,
            );
          gate = state.gate.name;
        }
        return handle.executeUpdate(approveUpdate, {
          args: [{ gate, by: identityOf(p), comment: str(p, 'comment') }],
        });
      },
      cluster,
    );
    io.out(
      `approved gate ${rec.gate}${rec.hop !== undefined ? ` (hop ${rec.hop + 1})` : ''} of ${cluster} by ${rec.by}`,
    );
    return 0;
  },
};

function decision(name: 'retry' | 'skip' | 'abort' | 'accept'): Command {
  const summaries = {
    accept:
      'Accept a failed verify: the cluster is taken as it is, the run ends done (who and why recorded; --comment required).',
    retry: 'Retry the blocked node(s) of an upgrade.',
    skip: 'Skip a blocked worker (it stays at its version); control planes cannot be skipped.',
    abort: 'Abort the upgrade safely: nodes this run cordoned are uncordoned, others stay as they are.',
  };
  return {
    help: {
      name,
      summary: summaries[name],
      usage:
        name === 'accept'
          ? 'kupgrade accept CLUSTER --comment TEXT [--by NAME]'
          : `kupgrade ${name} CLUSTER${name === 'skip' ? ' --node NODE' : ' [--node NODE]'} [--by NAME] [--comment TEXT]`,
      flags: [
        ...(name === 'accept'
          ? []
          : [
              [
                '--node NODE',
                name === 'skip' ? 'the blocked worker to skip' : 'the blocked node (default: all)',
              ] as [string, string],
            ]),
        ['--by NAME', 'who decides (default: $USER)'],
        ['--comment TEXT', name === 'accept' ? 'why the cluster is accepted as it is (required)' : 'why'],
        ...CONN_FLAGS,
      ],
      examples: [
        name === 'accept'
          ? 'kupgrade accept prod-bj --by alice --comment "CAB-1234: metrics-server CrashLoop is known"'
          : `kupgrade ${name} prod-bj${name === 'skip' ? ' --node w-3' : ''} --by alice`,
      ],
    },
    flags: { node: { type: 'string' }, by: { type: 'string' }, comment: { type: 'string' } },
    async run(p, io) {
      const cluster = clusterArg(p, name);
      const node = str(p, 'node');
      if (name === 'skip' && !node)
        throw new UsageError(`kupgrade skip needs --node NODE (the blocked worker to skip)`);
      if (name === 'accept' && !str(p, 'comment')?.trim())
        throw new UsageError(
          'kupgrade accept needs --comment TEXT: why the cluster is accepted as it is (recorded with --by)',
        );
      const rec = await withCli(
        p,
        (cli) =>
          upgradeHandle(cli, cluster).executeUpdate(decideUpdate, {
            args: [
              {
                action: name,
                node,
                by: identityOf(p),
                comment: str(p, 'comment'),
              },
            ],
          }),
        cluster,
      );
      io.out(`${rec.action}${rec.node ? ` ${rec.node}` : ''} on ${cluster}: accepted (by ${rec.by})`);
      return 0;
    },
  };
}

function pauseResume(name: 'pause' | 'resume'): Command {
  return {
    help: {
      name,
      summary:
        name === 'pause'
          ? 'Pause between nodes: running nodes finish, no new node starts.'
          : 'Resume a paused upgrade.',
      usage: `kupgrade ${name} CLUSTER [--by NAME] [--comment TEXT]`,
      flags: [['--by NAME', 'who (default: $USER)'], ['--comment TEXT', 'why'], ...CONN_FLAGS],
      examples: [`kupgrade ${name} prod-bj --by alice`],
    },
    flags: { by: { type: 'string' }, comment: { type: 'string' } },
    async run(p, io) {
      const cluster = clusterArg(p, name);
      const rec = await withCli(
        p,
        (cli) =>
          upgradeHandle(cli, cluster).executeUpdate<DecisionRecord, [PauseRequest]>(
            (name === 'pause' ? pauseUpdate : resumeUpdate).name,
            { args: [{ by: identityOf(p), comment: str(p, 'comment') }] },
          ),
        cluster,
      );
      io.out(`${name}d ${cluster} (by ${rec.by})`);
      return 0;
    },
  };
}

const list: Command = {
  help: {
    name: 'list',
    summary: 'Every upgrade this Temporal namespace knows, from the search attributes.',
    usage: 'kupgrade list [-o json|yaml]',
    flags: [['-o, --output FORMAT', 'json|yaml'], ...CONN_FLAGS],
    examples: ['kupgrade list'],
  },
  flags: { output: { type: 'string', short: 'o' } },
  async run(p, io) {
    outputFormat(p);
    if (p.positionals.length) throw new UsageError('kupgrade list takes no arguments');
    const rows = await withCli(p, async (cli) => {
      const out: {
        cluster: string;
        target: string;
        phase: string;
        status: string;
        workflowId: string;
        runId: string;
        startTime: string;
        closeTime?: string;
      }[] = [];
      for await (const wf of cli.client.workflow.list({
        query: `WorkflowType = '${WORKFLOW_TYPES.upgrade}'`,
      })) {
        out.push({
          cluster: String(wf.typedSearchAttributes.get(SA_CLUSTER) ?? ''),
          target: String(wf.typedSearchAttributes.get(SA_TARGET) ?? ''),
          phase: String(wf.typedSearchAttributes.get(SA_PHASE) ?? ''),
          status: wf.status.name,
          workflowId: wf.workflowId,
          runId: wf.runId,
          startTime: wf.startTime.toISOString(),
          closeTime: wf.closeTime?.toISOString(),
        });
      }
      return out;
    });
    print(io, rows, p, () =>
      table(
        ['CLUSTER', 'TARGET', 'PHASE', 'STATUS', 'STARTED', 'WORKFLOW'],
        rows.map((r) => [
          r.cluster,
          r.target,
          r.phase,
          r.status,
          r.startTime.slice(0, 19).replace('T', ' '),
          r.workflowId,
        ]),
      ),
    );
    return 0;
  },
};

const history: Command = {
  help: {
    name: 'history',
    summary: 'One upgrade step by step: node steps with times, approvals and decisions with who and why.',
    usage: 'kupgrade history CLUSTER [-o json|yaml]',
    flags: [['-o, --output FORMAT', 'json|yaml'], ...CONN_FLAGS],
    examples: ['kupgrade history prod-bj'],
  },
  flags: { output: { type: 'string', short: 'o' } },
  async run(p, io) {
    const cluster = clusterArg(p, 'history');
    outputFormat(p);
    const { state, events } = await withCli(
      p,
      async (cli) => {
        const handle = upgradeHandle(cli, cluster);
        const state = await handle.query(stateQuery);
        const h = await handle.fetchHistory();
        const scheduled = new Map<string, { type: string; summary?: string }>();
        const events: { at: string; what: string }[] = [];
        for (const e of h.events ?? []) {
          const at = e.eventTime ? new Date(Number(e.eventTime.seconds ?? 0) * 1000).toISOString() : '';
          const sched = e.activityTaskScheduledEventAttributes;
          if (sched) {
            scheduled.set(String(e.eventId), {
              type: sched.activityType?.name ?? '?',
              summary: summaryText(e.userMetadata?.summary?.data),
            });
          }
          const done = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes;
          if (done) {
            const s = scheduled.get(String(done.scheduledEventId));
            events.push({
              at,
              what: `${e.activityTaskFailedEventAttributes ? 'FAILED ' : ''}${s?.summary ?? s?.type ?? 'activity'}`,
            });
          }
          const child =
            e.childWorkflowExecutionCompletedEventAttributes ?? e.childWorkflowExecutionFailedEventAttributes;
          if (child)
            events.push({
              at,
              what: `node workflow ${child.workflowExecution?.workflowId ?? ''} ${e.childWorkflowExecutionFailedEventAttributes ? 'failed' : 'completed'}`,
            });
        }
        return { state, events };
      },
      cluster,
    );
    const record = {
      cluster,
      phase: state.phase,
      approvals: state.approvals,
      decisions: state.decisions,
      failures: state.failures,
      nodes: state.nodes,
      parentEvents: events,
      timings: state.timings,
    };
    print(io, record, p, () =>
      [
        `Upgrade of ${cluster} → ${state.target}: ${state.phase} (started ${state.timings.startedAt}${state.timings.finishedAt ? `, finished ${state.timings.finishedAt}` : ''})`,
        '',
        'Approvals and decisions:',
        table(
          ['AT', 'WHAT', 'BY', 'VIA', 'COMMENT'],
          [
            ...state.approvals.map((a) => [
              a.at,
              `approve ${a.gate}${a.hop !== undefined ? ` (hop ${a.hop + 1})` : ''}`,
              a.by,
              a.via,
              a.comment ?? '',
            ]),
            ...state.decisions.map((d) => [
              d.at,
              `${d.action}${d.node ? ` ${d.node}` : ''}`,
              d.by,
              d.via,
              d.comment ?? '',
            ]),
          ].sort((a, b) => a[0].localeCompare(b[0])),
        ),
        '',
        'Nodes:',
        table(
          ['NODE', 'STATUS', 'LAST STEP', 'VERSION', 'STARTED', 'FINISHED', 'ATTEMPTS'],
          state.nodes.map((n) => [
            n.name,
            n.status,
            n.step ?? '',
            n.version ?? '',
            n.startedAt ?? '',
            n.finishedAt ?? '',
            String(n.attempts),
          ]),
        ),
        '',
        'Steps of the run (parent workflow):',
        table(
          ['AT', 'STEP'],
          events.map((e) => [e.at, e.what]),
        ),
        ...(state.failures.length
          ? [
              '',
              'Failures:',
              ...state.failures.map(
                (f) =>
                  `  ${f.at} ${f.node ?? ''} ${f.step} ${f.type}: ${f.message.split('\n')[0]}${f.resolution ? ` → ${f.resolution}` : ''}`,
              ),
            ]
          : []),
      ].join('\n'),
    );
    return 0;
  },
};

function summaryText(data: Uint8Array | null | undefined): string | undefined {
  if (!data) return undefined;
  try {
    return JSON.parse(Buffer.from(data).toString('utf8')) as string;
  } catch {
    return undefined;
  }
}

const worker: Command = {
  help: {
    name: 'worker',
    summary: 'Run the kupgrade Temporal worker (it holds the SSH keys named by the inventories).',
    usage: 'kupgrade worker --config worker.yaml',
    flags: [
      [
        '--config FILE',
        'the worker config: clusters, their SSH credentials, allowed CNI commands, approvers (default: KUPGRADE_WORKER_CONFIG)',
      ],
      ...CONN_FLAGS,
    ],
    examples: ['TEMPORAL_ADDRESS=temporal.example:7233 kupgrade worker --config /etc/kupgrade/worker.yaml'],
  },
  flags: { config: { type: 'string' } },
  async run(p) {
    // Loaded lazily: the worker pulls in the workflow bundler, which the other commands never need.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { runWorker } = require('../worker') as typeof import('../worker');
    await runWorker({
      address: str(p, 'address'),
      namespace: str(p, 'namespace'),
      profile: str(p, 'profile'),
      trust: str(p, 'config'),
    });
    return 0;
  },
};

const server: Command = {
  help: {
    name: 'server',
    summary: 'Run the Temporal dev server (SQLite file, Web UI, kupgrade search attributes).',
    usage: 'kupgrade server [--port 7233] [--ui-port 8233] [--db FILE]',
    flags: [
      ['--port PORT', 'gRPC port (default 7233)'],
      ['--ui-port PORT', 'Web UI port (default 8233)'],
      ['--db FILE', 'SQLite file (default .cache/temporal.db); state survives restarts'],
    ],
    examples: [
      'kupgrade server',
      'kupgrade server --port 7300 --ui-port 8300 --db /var/lib/kupgrade/temporal.db',
    ],
  },
  flags: { port: { type: 'string' }, 'ui-port': { type: 'string' }, db: { type: 'string' } },
  async run(p) {
    const args: string[] = [];
    for (const f of ['port', 'ui-port', 'db']) {
      const v = str(p, f);
      if (v !== undefined) args.push(`--${f}`, v);
    }
    for (const f of ['port', 'ui-port']) {
      const v = str(p, f);
      if (v !== undefined && !/^\d{1,5}$/.test(v))
        throw new UsageError(`--${f} must be a port number, got "${v}"`);
    }
    const r = spawnSync('bash', [path.resolve(__dirname, '../../../scripts/server.sh'), ...args], {
      stdio: 'inherit',
    });
    return r.status ?? 1;
  },
};

export const COMMANDS: Record<string, Command> = {
  plan,
  start,
  watch,
  status,
  approve,
  retry: decision('retry'),
  skip: decision('skip'),
  abort: decision('abort'),
  accept: decision('accept'),
  pause: pauseResume('pause'),
  resume: pauseResume('resume'),
  list,
  history,
  worker,
  server,
};
