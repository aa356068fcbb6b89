// A minimal workflow that proves the chain: client -> real dev server -> real Worker -> activity.
import { proxyActivities, defineUpdate, setHandler, condition } from '@temporalio/workflow';

export interface EchoActivities {
  shout(text: string): Promise<string>;
}
const { shout } = proxyActivities<EchoActivities>({ startToCloseTimeout: '10 seconds' });

export const release = defineUpdate<string, [string]>('release');

export async function echoWorkflow(text: string): Promise<string> {
  let releasedBy: string | undefined;
  setHandler(
    release,
    (by: string) => {
      releasedBy = by;
      return `released by ${by}`;
    },
    {
      validator: (by: string) => {
        if (!by) throw new Error('by is required');
      },
    },
  );
  await condition(() => releasedBy !== undefined);
  return `${await shout(text)} (${releasedBy})`;
}
