/** known_hosts matching rules (pure), checked against ssh-keygen where it has an opinion. */
import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  checkKnownHost,
  entryMatches,
  fingerprintOf,
  hostToken,
  keyTypeOf,
  knownHostsLine,
  knownKeyTypes,
  normalizeFingerprint,
  parseKnownHosts,
} from '../../src/ssh/known-hosts';

let dir: string;
let pubA: string[];
let pubB: string[];
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kupgrade-kh-'));
  for (const n of ['a', 'b']) {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, n)], {
      stdio: 'ignore',
    });
  }
  pubA = fs.readFileSync(path.join(dir, 'a.pub'), 'utf8').trim().split(/\s+/);
  pubB = fs.readFileSync(path.join(dir, 'b.pub'), 'utf8').trim().split(/\s+/);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const blob = (pub: string[]) => Buffer.from(pub[1] ?? '', 'base64');

function hashed(token: string): string {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(token).digest('base64')}`;
}

test('fingerprint and key type agree with ssh-keygen -lf', () => {
  const out = execFileSync('ssh-keygen', ['-lf', path.join(dir, 'a.pub')], { encoding: 'utf8' });
  expect(out).toContain(fingerprintOf(blob(pubA)));
  expect(keyTypeOf(blob(pubA))).toBe('ssh-ed25519');
  expect(keyTypeOf(Buffer.alloc(2))).toBe('unknown');
  expect(normalizeFingerprint('abc=')).toBe('SHA256:abc');
});

test('host tokens: bare on port 22, bracketed otherwise, lower-cased', () => {
  expect(hostToken('Node1.Example', 22)).toBe('node1.example');
  expect(hostToken('192.0.2.1', 2222)).toBe('[192.0.2.1]:2222');
  expect(hostToken('2001:db8::1', 2222)).toBe('[2001:db8::1]:2222');
});

test('parse: comments, markers, malformed lines, comma lists', () => {
  const entries = parseKnownHosts(
    [
      '# comment',
      '',
      `cp-1,192.0.2.11 ${pubA[0]} ${pubA[1]} comment here`,
      `@revoked * ${pubB[0]} ${pubB[1]}`,
      `@cert-authority *.example.com ${pubB[0]} ${pubB[1]}`,
      '@unknown-marker x ssh-ed25519 AAAA',
      'broken-line-without-key',
      'host ssh-ed25519 not*base64',
    ].join('\n'),
  );
  expect(entries.map((e) => [e.marker ?? '-', e.patterns.join(','), e.line])).toEqual([
    ['-', 'cp-1,192.0.2.11', 3],
    ['revoked', '*', 4],
    ['cert-authority', '*.example.com', 5],
  ]);
});

test.each([
  ['192.0.2.11', 22, '192.0.2.11', true],
  ['192.0.2.11', 2222, '192.0.2.11', false],
  ['[192.0.2.11]:2222', 2222, '192.0.2.11', true],
  ['[192.0.2.11]:2222', 22, '192.0.2.11', false],
  ['192.0.2.*', 22, '192.0.2.99', true],
  ['192.0.2.?', 22, '192.0.2.10', false],
  ['*.example.com,!bad.example.com', 22, 'good.example.com', true],
  ['*.example.com,!bad.example.com', 22, 'bad.example.com', false],
  ['CP-1', 22, 'cp-1', true],
])('pattern %s matches %s:%d? → %s', (patterns, port, host, want) => {
  const [e] = parseKnownHosts(`${patterns} ${pubA[0]} ${pubA[1]}`);
  expect(e && entryMatches(e, host, port)).toBe(want);
});

test('hashed entries match the host token (and only it)', () => {
  const entries = parseKnownHosts(`${hashed('[127.0.0.1]:2200')} ${pubA[0]} ${pubA[1]}`);
  expect(checkKnownHost(entries, '127.0.0.1', 2200, blob(pubA))).toEqual({ status: 'match' });
  expect(checkKnownHost(entries, '127.0.0.1', 22, blob(pubA))).toEqual({ status: 'unknown' });
  expect(checkKnownHost(entries, '127.0.0.2', 2200, blob(pubA))).toEqual({ status: 'unknown' });
});

test('verdicts: match, unknown, changed (with the expected fingerprint), revoked', () => {
  const entries = parseKnownHosts(`cp-1 ${pubA[0]} ${pubA[1]}\n@revoked * ${pubB[0]} ${pubB[1]}\n`);
  expect(checkKnownHost(entries, 'cp-1', 22, blob(pubA))).toEqual({ status: 'match' });
  expect(checkKnownHost(entries, 'cp-2', 22, blob(pubA))).toEqual({ status: 'unknown' });
  expect(checkKnownHost(entries, 'cp-2', 22, blob(pubB))).toMatchObject({ status: 'revoked', lines: [2] });
  const changed = parseKnownHosts(`cp-1 ${pubA[0]} ${pubA[1]}\n`);
  expect(checkKnownHost(changed, 'cp-1', 22, blob(pubB))).toEqual({
    status: 'changed',
    expected: [fingerprintOf(blob(pubA))],
    lines: [1],
  });
});

test('cert-authority lines neither admit nor refuse', () => {
  const entries = parseKnownHosts(`@cert-authority * ${pubA[0]} ${pubA[1]}\n`);
  expect(checkKnownHost(entries, 'cp-1', 22, blob(pubA))).toEqual({ status: 'unknown' });
});

test('the line written for accept-new is one ssh-keygen -F finds', () => {
  const file = path.join(dir, 'kh');
  fs.writeFileSync(file, `${knownHostsLine('127.0.0.1', 2201, blob(pubA))}\n`);
  expect(execFileSync('ssh-keygen', ['-F', '[127.0.0.1]:2201', '-f', file], { encoding: 'utf8' })).toContain(
    pubA[1],
  );
  expect(knownKeyTypes(parseKnownHosts(fs.readFileSync(file, 'utf8')), '127.0.0.1', 2201)).toEqual([
    'ssh-ed25519',
  ]);
});
