/**
 * kube-system/kubelet-config (data key `kubelet`, a KubeletConfiguration) as kubeadm uploads it;
 * with `up --swap-allowed` the cluster-wide configuration carries failSwapOn: false, and so does
 * what `kubeadm upgrade node` writes to the node's /var/lib/kubelet/config.yaml.
 */
import { downInProcess, upInProcess } from '../helpers/lab';
import { run } from './helpers';

jest.setTimeout(60_000);

test('the ConfigMap without and with --swap-allowed', async () => {
  const plain = await upInProcess({
    controlPlanes: 1,
    workers: 1,
    version: '1.29.6',
    packages: 'yum',
    speed: 1000,
  });
  const swap = await upInProcess({
    controlPlanes: 1,
    workers: 1,
    version: '1.29.6',
    packages: 'yum',
    speed: 1000,
    swapAllowed: ['w-1'],
  });
  try {
    const get = (dir: string) =>
      run(dir, 'cp-1', 'kubectl', ['-n', 'kube-system', 'get', 'configmap', 'kubelet-config', '-o', 'json']);
    const a = JSON.parse((await get(plain.dir)).stdout) as {
      data: { kubelet: string };
      metadata: { name: string };
    };
    expect(a.metadata.name).toBe('kubelet-config');
    expect(a.data.kubelet).toMatch(/^apiVersion: kubelet\.config\.k8s\.io\/v1beta1\n/);
    expect(a.data.kubelet).toContain('kind: KubeletConfiguration\n');
    expect(a.data.kubelet).not.toContain('failSwapOn');
    const b = JSON.parse((await get(swap.dir)).stdout) as { data: { kubelet: string } };
    expect(b.data.kubelet).toContain('failSwapOn: false\n');
    expect(b.data.kubelet).toContain('memorySwap:\n  swapBehavior: LimitedSwap\n');
    const table = await run(plain.dir, 'cp-1', 'kubectl', [
      '-n',
      'kube-system',
      'get',
      'cm',
      'kubelet-config',
    ]);
    expect(table.stdout).toMatch(/^NAME\s+DATA\s+AGE\nkubelet-config\s+1\s+40d\n$/);
  } finally {
    await downInProcess(plain);
    await downInProcess(swap);
  }
});
