/**
 * The lab's repository keys and legacy repo files (model/packages.ts, model/manifests.ts): one key
 * per pkgs.k8s.io minor (mirrors included), Google's B53DC80D13EDEF05 for the legacy repositories,
 * what curl serves, and what `gpg --dearmor` keeps.
 */
import { aptListFile, yumRepoFile } from '../../lab/src/model/manifests';
import {
  armoredKey,
  availableVersions,
  dearmor,
  keyAtUrl,
  keyIdOf,
  keyringFingerprints,
  parseAptList,
  parseYumRepoFile,
  repoKeyFingerprint,
} from '../../lab/src/model/packages';

test.each([
  ['https://pkgs.k8s.io/core:/stable:/v1.30/deb/Release.key', 'DE15B14486CD377B9E876E1A234654DA9A29641E'],
  [
    'https://pkgs.k8s.io/core:/stable:/v1.30/rpm/repodata/repomd.xml.key',
    'DE15B14486CD377B9E876E1A234654DA9A29641E',
  ],
  [
    'https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.29/deb/Release.key',
    'DE15B14486CD377B9E876E1A234654DA9A29641D',
  ],
  ['https://packages.cloud.google.com/apt/doc/apt-key.gpg', 'A362B822F6DEDC652817EA46B53DC80D13EDEF05'],
  ['https://pkgs.k8s.io/core:/stable:/v1.99/deb/Release.key', null],
  ['https://pkgs.k8s.io/core:/stable:/v1.30/deb/InRelease', null],
])('curl %s serves the key %s', (url, fpr) => {
  const body = keyAtUrl(url);
  expect(body === null ? null : keyringFingerprints(dearmor(body))).toEqual(fpr === null ? null : [fpr]);
});

test('dearmor keeps only OpenPGP data; key ids are the last 16 digits', () => {
  expect(dearmor('not a key')).toBeNull();
  const two =
    armoredKey('DE15B14486CD377B9E876E1A234654DA9A29641E') +
    armoredKey('DE15B14486CD377B9E876E1A234654DA9A29641F');
  expect(keyringFingerprints(dearmor(two))).toHaveLength(2);
  expect(keyIdOf('A362B822F6DEDC652817EA46B53DC80D13EDEF05')).toBe('B53DC80D13EDEF05');
});

test('legacy repo files: the seed runbook el7 file and apt.kubernetes.io, 1.28.2 at most, -0 / -00', () => {
  const [yum] = parseYumRepoFile(yumRepoFile('legacy', 28));
  expect(yum.baseurl).toBe('http://mirrors.aliyun.com/kubernetes/yum/repos/kubernetes-el7-x86_64');
  expect(yum.source?.kind).toBe('legacy');
  const rpm = availableVersions(yum.source!, 'rpm');
  expect(rpm.at(-1)).toEqual({ version: '1.28.2', full: '1.28.2-0' });
  const [apt] = parseAptList(aptListFile('legacy', 28));
  expect(apt.signedBy).toBe('/etc/apt/keyrings/kubernetes-archive-keyring.gpg');
  expect(apt.repoName).toBe('https://apt.kubernetes.io kubernetes-xenial InRelease');
  expect(availableVersions(apt.source, 'deb').at(-1)?.full).toBe('1.28.2-00');
  expect(repoKeyFingerprint(apt.source)).toBe('A362B822F6DEDC652817EA46B53DC80D13EDEF05');
});
