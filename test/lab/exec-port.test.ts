/**
 * The controller's exec port: request framing (pure) and the guard that keeps the controller's file
 * work inside a node (never the host's own files).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseFields } from '../../lab/src/shim/exec-port';
import { checkRoot, nodeFiles } from '../../lab/src/shim/node-files';

const z = (...fields: string[]) => Buffer.from(fields.map((f) => `${f}\0`).join(''));
const head = ['KLAB1', 'cp-1', 'kubeadm', '/proc/1/root', '/root', '', '', 'none', '', '123'];

describe('parseFields', () => {
  test.each<[string, Buffer, string[] | null]>([
    ['an empty buffer is incomplete', Buffer.alloc(0), null],
    ['a field without its NUL is incomplete', Buffer.from('KLAB1\0cp-1'), null],
    ['an exec request waits for argc', z(...head), null],
    ['an exec request waits for every argument', z(...head, '2', 'version'), null],
    [
      'an exec request with its arguments',
      z(...head, '2', 'version', '-o short'),
      [...head, '2', 'version', '-o short'],
    ],
    ['an exec request without arguments', z(...head, '0'), [...head, '0']],
    [
      'arguments keep newlines, quotes and empty strings',
      z(...head, '2', "a\n'b'", ''),
      [...head, '2', "a\n'b'", ''],
    ],
    ['an event', z('KEVT1', 'w-1', 'kubectl get nodes', '0'), ['KEVT1', 'w-1', 'kubectl get nodes', '0']],
    ['an event waits for its exit code', z('KEVT1', 'w-1', 'true'), null],
    [
      'an event with the node shell’s milliseconds',
      z('KEVT2', 'w-1', 'true', '0', '12'),
      ['KEVT2', 'w-1', 'true', '0', '12'],
    ],
    ['an event waits for its milliseconds', z('KEVT2', 'w-1', 'true', '0'), null],
    ['UTF-8 survives', z('KEVT1', 'w-1', 'echo 升级', '0'), ['KEVT1', 'w-1', 'echo 升级', '0']],
  ])('%s', (_name, buf, want) => {
    expect(parseFields(buf)).toEqual(want);
  });

  test('a bad argc or an unknown request is refused', () => {
    expect(() => parseFields(z(...head, '-1'))).toThrow(/bad argc/);
    expect(() => parseFields(z(...head, 'x'))).toThrow(/bad argc/);
    expect(() => parseFields(z('GET / HTTP/1.1'))).toThrow(/unknown request/);
  });
});

describe('checkRoot', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kupgrade-exec-port-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a node folder of this lab is a root', () => {
    expect(checkRoot(path.join(dir, 'nodes', 'cp-1'), dir)).toBeNull();
  });

  test('the host, another folder, or an escape from the nodes folder is refused', () => {
    expect(checkRoot('/', dir)).toMatch(/neither/);
    expect(checkRoot('/etc', dir)).toMatch(/neither/);
    expect(checkRoot(path.join(dir, 'nodes', '..', '..'), dir)).toMatch(/neither/);
    expect(checkRoot('relative/nodes/cp-1', dir)).toMatch(/neither/);
  });

  test("a process in the controller's own mount namespace is refused (its root is the host's)", () => {
    expect(checkRoot(`/proc/${process.pid}/root`, dir)).toMatch(/shares the controller's mount namespace/);
    expect(checkRoot('/proc/999999999/root', dir)).toMatch(/process 999999999/);
  });

  test('node paths resolve under the root; relative ones against the cwd', () => {
    const root = path.join(dir, 'nodes', 'cp-1');
    const f = nodeFiles(root, '/root');
    expect(f.resolve('/etc/kubernetes/admin.conf')).toBe(path.join(root, 'etc/kubernetes/admin.conf'));
    expect(f.resolve('../x.yaml')).toBe('/x.yaml');
    const ns = nodeFiles('/proc/42/root', '/root');
    expect(ns.resolve('/etc/hosts')).toBe('/proc/42/root/etc/hosts');
    expect(ns.resolve('kubeadm.yaml')).toBe('/proc/42/root/root/kubeadm.yaml');
  });
});
