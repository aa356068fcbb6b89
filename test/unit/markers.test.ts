/** Completion markers are keyed by run and hop: only this run's line for this hop counts. */
import { markerKey, markerLine, markerSays } from '../../src/activities/markers';

const hop = (index: number) => ({
  index,
  from: 'v1.29.6',
  minor: '1.30',
  version: 'v1.30.14',
  packages: { kubeadm: '', kubelet: '', kubectl: '' },
});

describe('markers', () => {
  const key = markerKey({ hop: hop(1), run: 'run-b' }, 'v1.30.14');
  test('the line names version, run and hop', () => {
    expect(markerLine(key)).toBe('v1.30.14 run=run-b hop=1');
  });
  test.each([
    ['this run and hop', 'v1.30.14 run=run-b hop=1\n', true],
    ['an earlier run, same version', 'v1.30.14 run=run-a hop=1\n', false],
    ['an earlier hop of this run', 'v1.30.14 run=run-b hop=0\n', false],
    ['the old one-version format', 'v1.30.14\n', false],
    ['another version', 'v1.30.13 run=run-b hop=1\n', false],
    ['no marker', '', false],
  ])('%s', (_what, content, says) => {
    expect(markerSays(content, key)).toBe(says);
  });
  test('a run started before keyed markers keeps the version alone', () => {
    expect(markerLine(markerKey({ hop: hop(0) }, 'v1.30.14'))).toBe('v1.30.14');
  });
});
