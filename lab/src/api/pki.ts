/**
 * Certificates of a real-API lab, made with the openssl CLI: a cluster CA (`CN = kubernetes`, as
 * kubeadm names it), the apiserver's serving certificate (SANs: the control-plane endpoint, the
 * service IP 10.96.0.1 and the kubernetes.default names), one client certificate
 * (`O = system:masters`) that the admin.conf of every control plane, the controller-manager, the
 * scheduler and the lab's node agent use, and the service-account signing key pair.
 *
 * Why one client identity for all: the lab has no kubelet TLS bootstrap and no per-component RBAC
 * to prove; what it proves runs through the API's own admission, eviction and PDB logic, which
 * treat all of these the same. EC P-256 keys: an RSA key per certificate costs ~0.1 s each.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface ApiPki {
  dir: string;
  caCrt: string;
  apiserverCrt: string;
  apiserverKey: string;
  adminCrt: string;
  adminKey: string;
  saKey: string;
  saPub: string;
}

export function apiPkiPaths(dir: string): ApiPki {
  const p = (f: string) => path.join(dir, f);
  return {
    dir,
    caCrt: p('ca.crt'),
    apiserverCrt: p('apiserver.crt'),
    apiserverKey: p('apiserver.key'),
    adminCrt: p('admin.crt'),
    adminKey: p('admin.key'),
    saKey: p('sa.key'),
    saPub: p('sa.pub'),
  };
}

function ssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function ecKey(cwd: string, file: string): void {
  ssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file], cwd);
}

function sign(cwd: string, name: string, subject: string, ext: string): void {
  ecKey(cwd, `${name}.key`);
  ssl(['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`], cwd);
  fs.writeFileSync(path.join(cwd, `${name}.ext`), ext);
  ssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '3650',
      '-sha256',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    ],
    cwd,
  );
  fs.rmSync(path.join(cwd, `${name}.csr`));
  fs.rmSync(path.join(cwd, `${name}.ext`));
}

/** Writes the lab's API certificates into `dir` (idempotent: kept when already there). */
export function ensureApiPki(dir: string, endpoint: string): ApiPki {
  const p = apiPkiPaths(dir);
  if (fs.existsSync(p.adminCrt) && fs.existsSync(p.saPub)) return p;
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  ecKey(dir, 'ca.key');
  ssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      'ca.key',
      '-subj',
      '/CN=kubernetes',
      '-days',
      '3650',
      '-sha256',
      '-out',
      'ca.crt',
    ],
    dir,
  );
  sign(
    dir,
    'apiserver',
    '/CN=kube-apiserver',
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=IP:${endpoint},IP:127.0.0.1,IP:10.96.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost`,
      '',
    ].join('\n'),
  );
  sign(
    dir,
    'admin',
    '/O=system:masters/CN=kubernetes-admin',
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=clientAuth',
      '',
    ].join('\n'),
  );
  ecKey(dir, 'sa.key');
  ssl(['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
  return p;
}

/** A kubeconfig with the certificates embedded, as kubeadm writes admin.conf. */
export function realKubeconfig(p: ApiPki, server: string, user = 'kubernetes-admin'): string {
  const b64 = (f: string) => fs.readFileSync(f).toString('base64');
  return [
    'apiVersion: v1',
    'clusters:',
    '- cluster:',
    `    certificate-authority-data: ${b64(p.caCrt)}`,
    `    server: ${server}`,
    '  name: kubernetes',
    'contexts:',
    '- context:',
    '    cluster: kubernetes',
    `    user: ${user}`,
    `  name: ${user}@kubernetes`,
    `current-context: ${user}@kubernetes`,
    'kind: Config',
    'preferences: {}',
    'users:',
    `- name: ${user}`,
    '  user:',
    `    client-certificate-data: ${b64(p.adminCrt)}`,
    `    client-key-data: ${b64(p.adminKey)}`,
    '',
  ].join('\n');
}
