import { Client, Connection, WorkflowUpdateFailedError } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { echoWorkflow, release } from './workflows/echo';

describe('foundation: a workflow on the real Temporal dev server', () => {
  let nativeConnection: NativeConnection;
  let connection: Connection;

  beforeAll(async () => {
    const address = process.env.TEMPORAL_ADDRESS;
    if (!address)
      throw new Error('TEMPORAL_ADDRESS is not set: the jest global setup must start the dev server');
    nativeConnection = await NativeConnection.connect({ address });
    connection = await Connection.connect({ address });
  });
  afterAll(async () => {
    await connection?.close();
    await nativeConnection?.close();
  });

  it('runs a workflow with an activity and an Update on a real Worker', async () => {
    const taskQueue = `smoke-${randomUUID()}`;
    const worker = await Worker.create({
      connection: nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('./workflows/echo'),
      activities: { shout: async (t: string) => t.toUpperCase() },
    });
    const client = new Client({ connection });
    const result = await worker.runUntil(async () => {
      const handle = await client.workflow.start(echoWorkflow, {
        taskQueue,
        workflowId: `smoke-${randomUUID()}`,
        args: ['hello'],
      });
      await expect(handle.executeUpdate(release, { args: [''] })).rejects.toBeInstanceOf(
        WorkflowUpdateFailedError,
      );
      expect(await handle.executeUpdate(release, { args: ['alice'] })).toBe('released by alice');
      const out = await handle.result();
      const history = await handle.fetchHistory();
      // The rejected update leaves no event; the accepted one does.
      const accepted = history.events?.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes) ?? [];
      expect(accepted).toHaveLength(1);
      return out;
    });
    expect(result).toBe('HELLO (alice)');
  });

  it('registered the kupgrade search attributes on the server', async () => {
    const resp = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
    expect(Object.keys(resp.customAttributes ?? {})).toEqual(
      expect.arrayContaining(['KupgradeCluster', 'KupgradeTarget', 'KupgradePhase']),
    );
  });
});
