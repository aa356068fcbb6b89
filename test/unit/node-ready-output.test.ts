/**
 * printedNode: the Node that waitNodeReady's `kubectl wait … && kubectl wait --for=condition=Ready
 * -o json` printed, trusted only when it is the node, Ready, at the hop's version.
 */
import { printedNode } from '../../src/activities/node-ready';
import { nodeJson } from '../activities/samples';

const met = 'node/w-1 condition met\n';

test.each([
  [
    'the version wait’s line, then the Node',
    met + nodeJson({ name: 'w-1', version: 'v1.30.14', unschedulable: true }),
    { name: 'w-1', unschedulable: true },
  ],
  [
    'a schedulable node',
    met + nodeJson({ name: 'w-1', version: 'v1.30.14' }),
    { name: 'w-1', unschedulable: false },
  ],
  ['another node', met + nodeJson({ name: 'w-2', version: 'v1.30.14' }), undefined],
  ['not Ready', met + nodeJson({ name: 'w-1', version: 'v1.30.14', ready: false }), undefined],
  ['another version', met + nodeJson({ name: 'w-1', version: 'v1.29.6' }), undefined],
  ['no object (a kubectl that printed only `condition met`)', met + met, undefined],
  ['cut short', met + nodeJson({ name: 'w-1', version: 'v1.30.14' }).slice(0, 80), undefined],
  ['nothing', '', undefined],
])('%s', (_what, stdout, want) => {
  const got = printedNode(stdout, 'w-1', 'v1.30.14');
  if (want === undefined) expect(got).toBeUndefined();
  else expect(got).toMatchObject({ ...want, ready: true, kubeletVersion: 'v1.30.14' });
});
