/** `kupgrade start`: starts the upgrade workflow of a cluster (one active upgrade per cluster). */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { GATES } from '../../shared/gates';
import {
  SA_CLUSTER,
  SA_PHASE,
  SA_TARGET,
  summaryFor,
  upgradeWorkflowId,
  WORKFLOW_TYPES,
} from '../../shared/names';
import type { UpgradeInput } from '../../shared/types';
import { workflowUiUrl } from '../../temporal/connection';
import {
  checkInventoryKeyFiles,
  CONN_FLAGS,
  gatesArg,
  INVENTORY_FLAGS,
  inventoryArg,
  maxUnavailableArg,
  outputFormat,
  targetArg,
  outputHelp,
  OUTPUT_OPTION,
} from '../args';
import { identityOf, withCli } from '../client';
import { print, type Command } from '../command';
import { CommandError } from '../usage';

export const start: Command = {
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
      outputHelp(),
      ...CONN_FLAGS,
    ],
    examples: [
      'kupgrade start -f cluster.yaml --to 1.30',
      'kupgrade start -f cluster.yaml --to 1.31 --max-unavailable 10% --gates preflight,workers',
    ],
  },
  flags: {
    ...INVENTORY_FLAGS,
    'auto-approve': { type: 'boolean' },
    'max-unavailable': { type: 'string' },
    gates: { type: 'string' },
    'dry-run': { type: 'boolean' },
    'allow-unlisted': { type: 'boolean' },
    by: { type: 'string' },
    ...OUTPUT_OPTION,
  },
  async run(p, io) {
    const inventory = inventoryArg(p, 'start');
    const target = targetArg(p, 'start');
    const input: UpgradeInput = {
      inventory,
      target,
      options: {
        autoApprove: p.values['auto-approve'] === true,
        maxUnavailable: maxUnavailableArg(p),
        gates: gatesArg(p),
        dryRun: p.values['dry-run'] === true,
        startedBy: identityOf(p),
        ...(p.values['allow-unlisted'] === true ? { allowUnlisted: true } : {}),
      },
    };
    outputFormat(p);
    checkInventoryKeyFiles(inventory);
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
