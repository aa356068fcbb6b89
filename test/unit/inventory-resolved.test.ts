/**
 * The worker re-validates the inventory a workflow carries (issue 13.1): a round trip through the
 * CLI's schema must give back exactly the input. Table tests: what the CLI sends passes, anything
 * the schema would refuse or never produce is refused naming the field.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the cases edit arbitrary JSON */
import { InventoryError, parseInventory, type Inventory } from '../../src/inventory';
import { revalidateInventory } from '../../src/inventory/resolved';

const opts = { baseDir: '/srv/clusters/prod', homeDir: '/home/ops' };

const FULL = `apiVersion: kupgrade/v1
kind: Cluster
metadata: {name: prod-bj}
ssh:
  user: ops
  port: 2222
  privateKeyPath: keys/id
  hostKeyFingerprints: {cp-1: "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"}
  sudo: true
  jumpHost: {address: bastion.example.com}
  connectTimeout: 1m30s
packages: {manager: yum, repository: {mode: mirror, urlTemplate: "https://mirror.example.com/k8s/v{minor}/rpm/"}}
kubeadm: {imageRepository: registry.example.com/google_containers, etcdBackup: false}
drain: {timeout: 90.5s, gracePeriod: 30s, force: true}
rollout: {maxUnavailable: "25%", gates: [preflight, cni, workers], prepareAhead: false, cni: {command: "kubectl apply -f /etc/calico.yaml"}}
nodes:
  - {name: cp-1, address: 192.0.2.11, role: control-plane}
  - {name: w-1.zone-a, address: 2001:db8::21, port: 22, role: worker}
`;
const MINIMAL = `apiVersion: kupgrade/v1
kind: Cluster
metadata: {name: lab}
packages: {manager: apt}
rollout: {cni: {}}
nodes:
  - {name: cp-1, address: 192.0.2.11, role: control-plane}
`;

function fieldsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof InventoryError) return e.issues.map((i) => i.field);
    throw e;
  }
  return [];
}

function tamper(text: string, edit: (inv: Record<string, any>) => void): unknown {
  const inv = JSON.parse(JSON.stringify(parseInventory(text, opts))) as Record<string, any>;
  edit(inv);
  return inv;
}

describe('revalidateInventory', () => {
  test.each([
    ['full', FULL],
    ['minimal', MINIMAL],
  ])('what the CLI sends (%s) passes unchanged', (_name, text) => {
    const inv = parseInventory(text, opts);
    expect(revalidateInventory(JSON.parse(JSON.stringify(inv)))).toEqual(inv);
  });

  test.each<[string, (inv: Record<string, any>) => void, string]>([
    ['an unknown top-level field', (i) => (i.extra = 1), 'extra'],
    ['an unknown ssh field', (i) => (i.ssh.identityFile = '/x'), 'ssh.identityFile'],
    ['a node name that is a flag', (i) => (i.nodes[1].name = '--all'), 'nodes[1].name'],
    ['a node name with shell syntax', (i) => (i.nodes[0].name = 'cp-1;id'), 'nodes[0].name'],
    ['a NUL in the CNI command', (i) => (i.rollout.cni.command = 'a\0b'), 'rollout.cni.command'],
    ['a bad address', (i) => (i.nodes[0].address = '-oProxyCommand=x'), 'nodes[0].address'],
    ['a relative key path', (i) => (i.ssh.privateKeyPath = 'id_ed25519'), 'ssh.privateKeyPath'],
    [
      'a non-canonical fingerprint',
      (i) => (i.ssh.hostKeyFingerprints['cp-1'] += '='),
      'ssh.hostKeyFingerprints.cp-1',
    ],
    ['a negative drain timeout', (i) => (i.drain.timeoutSeconds = -1), 'drain.timeout'],
    ['no control plane', (i) => (i.nodes[0].role = 'worker'), 'nodes'],
  ])('refuses %s, naming the field', (_what, edit, field) => {
    expect(fieldsOf(() => revalidateInventory(tamper(FULL, edit)))).toContain(field);
  });

  test('a urlTemplate the schema would not send next to mode pkgs.k8s.io is refused', () => {
    const inv = tamper(
      MINIMAL,
      (i) => (i.packages.repository.urlTemplate = 'https://evil.example.com/v{minor}/deb/'),
    );
    expect(fieldsOf(() => revalidateInventory(inv))).toEqual(['packages.repository.urlTemplate']);
  });

  test('not an object at all', () => {
    expect(fieldsOf(() => revalidateInventory('cluster.yaml'))).toEqual(['inventory']);
  });

  test('partial: a per-node view (fingerprints of other nodes, no control plane) passes', () => {
    const inv = JSON.parse(JSON.stringify(parseInventory(FULL, opts))) as Inventory;
    const part = { ...inv, nodes: [inv.nodes[1]] };
    expect(() => revalidateInventory(part)).toThrow(InventoryError);
    expect(revalidateInventory(part, { partial: true })).toEqual(part);
    const bad = { ...inv, nodes: [{ ...inv.nodes[1], name: '-x' }] };
    expect(fieldsOf(() => revalidateInventory(bad, { partial: true }))).toEqual(['nodes[0].name']);
  });
});
