/** The lab's kubeadm patches (model/patches.ts): file names and the three patch types. */
import { applyPatches, LAB_PATCH, parsePatchName } from '../../lab/src/model/patches';
import { image, manifest } from '../../lab/src/model/manifests';

describe('patch file names (target[suffix][+patchtype].extension)', () => {
  test.each([
    ['kube-apiserver.yaml', { target: 'kube-apiserver', type: 'strategic' }],
    ['kube-apiserver0+merge.yaml', { target: 'kube-apiserver', type: 'merge' }],
    ['etcd+json.json', { target: 'etcd', type: 'json' }],
    ['kube-scheduler-extra+strategic.yml', { target: 'kube-scheduler', type: 'strategic' }],
    ['kubeletconfiguration+strategic.yaml', { target: 'kubeletconfiguration', type: 'strategic' }],
    ['kube-proxy.yaml', null],
    ['kube-apiserver+bogus.yaml', null],
    ['README.md', null],
  ])('%s', (name, want) => {
    expect(parsePatchName(name)).toEqual(want);
  });
});

describe('applyPatches', () => {
  const base = manifest('kube-apiserver', '10.0.0.1', image('registry.k8s.io', 'kube-apiserver', 'v1.31.2'));

  test('no file for the target: the text is unchanged, byte for byte', () => {
    expect(applyPatches('kube-scheduler', base, [LAB_PATCH])).toEqual({ text: base, lines: [] });
  });

  test('strategic: the container is merged by name, other fields kept', () => {
    const r = applyPatches('kube-apiserver', base, [LAB_PATCH]);
    expect(r.lines).toEqual([
      '[patches] Applied patch of type "application/strategic-merge-patch+json" to target "kube-apiserver"\n',
    ]);
    expect(r.text).toContain('cpu: 500m');
    expect(r.text).toContain('memory: 512Mi');
    expect(r.text).toContain('image: registry.k8s.io/kube-apiserver:v1.31.2');
    expect(r.text).toContain('- --secure-port=6443');
  });

  test('merge: lists are replaced; json: operations in order; files applied in name order', () => {
    const r = applyPatches('kube-apiserver', base, [
      {
        name: 'kube-apiserver1+json.json',
        content: '[{"op":"add","path":"/metadata/labels/b","value":"2"}]',
      },
      { name: 'kube-apiserver0+merge.yaml', content: 'metadata:\n  labels:\n    a: "1"\n    tier: null\n' },
    ]);
    expect(r.lines.map((l) => /type "([^"]+)"/.exec(l)?.[1])).toEqual([
      'application/merge-patch+json',
      'application/json-patch+json',
    ]);
    expect(r.text).toMatch(/labels:\n\s+component: kube-apiserver\n\s+a: "1"\n\s+b: "2"/);
    expect(r.text).not.toContain('tier: control-plane');
  });
});
