/** `kupgrade list`: every upgrade of the namespace, from the search attributes. */
import { SA_CLUSTER, SA_PHASE, SA_TARGET, WORKFLOW_TYPES } from '../../shared/names';
import { CONN_FLAGS, outputFormat, outputHelp, OUTPUT_OPTION } from '../args';
import { withCli } from '../client';
import { print, type Command } from '../command';
import { table } from '../render';
import { UsageError } from '../usage';

interface UpgradeRow {
  cluster: string;
  target: string;
  phase: string;
  status: string;
  workflowId: string;
  runId: string;
  startTime: string;
  closeTime?: string;
}

export const list: Command = {
  help: {
    name: 'list',
    summary: 'Every upgrade this Temporal namespace knows, from the search attributes.',
    usage: 'kupgrade list [-o json|yaml]',
    flags: [outputHelp(), ...CONN_FLAGS],
    examples: ['kupgrade list'],
  },
  flags: OUTPUT_OPTION,
  async run(p, io) {
    outputFormat(p);
    if (p.positionals.length) throw new UsageError('kupgrade list takes no arguments');
    const rows = await withCli(p, async (cli) => {
      const out: UpgradeRow[] = [];
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
