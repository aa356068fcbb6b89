/** `kupgrade plan`: the read-only plan, computed by a short workflow on the worker. */
import { randomUUID } from 'node:crypto';
import { planWorkflowId, WORKFLOW_TYPES } from '../../shared/names';
import type { PlanInput, UpgradePlan } from '../../shared/types';
import {
  checkInventoryKeyFiles,
  CONN_FLAGS,
  INVENTORY_FLAGS,
  inventoryArg,
  outputFormat,
  targetArg,
  outputHelp,
  OUTPUT_OPTION,
} from '../args';
import { withCli } from '../client';
import { print, type Command } from '../command';
import { planText } from '../render';

export const plan: Command = {
  help: {
    name: 'plan',
    summary: 'Read-only: versions, the resolved target, hops, preflight, and the ordered steps.',
    usage: 'kupgrade plan -f cluster.yaml --to VERSION [--allow-unlisted] [-o json|yaml]',
    flags: [
      ['-f, --file FILE', 'the inventory (docs/inventory.md)'],
      ['--to VERSION', 'target: 1.30 (newest patch in the repo) or 1.30.4'],
      ['--allow-unlisted', 'cluster nodes missing from the inventory only warn (they are not upgraded)'],
      outputHelp('text'),
      ...CONN_FLAGS,
    ],
    examples: [
      'kupgrade plan -f cluster.yaml --to 1.30',
      'kupgrade plan -f cluster.yaml --to v1.30.4 -o json',
    ],
  },
  flags: {
    ...INVENTORY_FLAGS,
    ...OUTPUT_OPTION,
    'allow-unlisted': { type: 'boolean' },
  },
  async run(p, io) {
    const inventory = inventoryArg(p, 'plan');
    const target = targetArg(p, 'plan');
    outputFormat(p);
    checkInventoryKeyFiles(inventory);
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
