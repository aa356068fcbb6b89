/**
 * Which node is this host? Read on the host itself, so that an inventory whose addresses point at
 * the wrong machines (two workers swapped, a reused IP) is refused before anything is drained or
 * installed on the wrong node.
 *
 * Sources, strongest first:
 * 1. the kubelet's client certificate, /var/lib/kubelet/pki/kubelet-client-current.pem: the API
 *    server authenticates the kubelet as its subject CN `system:node:<name>` (O `system:nodes`),
 *    so this is the Node the host's kubelet really is;
 * 2. `--hostname-override=` in the kubelet's flags (kubeadm-flags.env, /etc/default/kubelet,
 *    /etc/sysconfig/kubelet);
 * 3. the hostname (the kubelet's default node name, lower-cased); only a warning when it differs,
 *    because a cloud provider may name the node otherwise.
 */
import { raw, type ShellCommand } from '../ssh/command';
import type { CheckStatus } from '../shared/activities';

export const KUBELET_CLIENT_CERT = '/var/lib/kubelet/pki/kubelet-client-current.pem';

/** One read-only shell line printing `cert: <subject>`, `override: <name>`, `hostname: <name>`. */
export function nodeIdentityCommand(): ShellCommand {
  return raw(
    `f=${KUBELET_CLIENT_CERT}; if [ -r "$f" ] && command -v openssl >/dev/null 2>&1; then echo "cert: $(openssl x509 -noout -subject -in "$f" 2>&1 | head -n 1)"; fi; ` +
      `o=$(grep -ho -e '--hostname-override=[^" ]*' /var/lib/kubelet/kubeadm-flags.env /etc/default/kubelet /etc/sysconfig/kubelet 2>/dev/null | head -n 1); ` +
      `if [ -n "$o" ]; then echo "override: \${o#--hostname-override=}"; fi; echo "hostname: $(hostname 2>/dev/null || uname -n)"`,
  );
}

export interface NodeIdentity {
  /** the node name in the kubelet client certificate's CN (system:node:<name>) */
  cert?: string;
  /** the subject line when it is not a node certificate */
  certSubject?: string;
  override?: string;
  hostname?: string;
}

/**
 * `openssl x509 -noout -subject`: OpenSSL 1.1+/3 `subject=O = system:nodes, CN = system:node:w-1`,
 * OpenSSL 1.0 (EL7) `subject= /O=system:nodes/CN=system:node:w-1`.
 */
export function parseNodeIdentity(output: string): NodeIdentity {
  const id: NodeIdentity = {};
  for (const line of output.split('\n')) {
    const m = /^(cert|override|hostname): ?(.*)$/.exec(line.trim());
    if (!m) continue;
    const v = m[2].trim();
    if (m[1] === 'cert') {
      const cn = /CN\s*=\s*system:node:([^,/\s]+)/.exec(v);
      if (cn) id.cert = cn[1];
      else id.certSubject = v;
    } else if (m[1] === 'override' && v) id.override = v;
    else if (m[1] === 'hostname' && v) id.hostname = v;
  }
  return id;
}

/** The verdict for the inventory node `expected` reached at `address`. */
export function identityVerdict(
  expected: string,
  address: string,
  id: NodeIdentity,
): { status: CheckStatus; message: string } {
  const fix = `the inventory's address ${address} for ${expected} reaches another node: fix nodes[].address (or the node's name) in the inventory`;
  if (id.cert !== undefined) {
    if (id.cert === expected)
      return { status: 'pass', message: `kubelet client certificate CN system:node:${expected}` };
    return {
      status: 'fail',
      message: `this host's kubelet authenticates as system:node:${id.cert} (${KUBELET_CLIENT_CERT}), not ${expected}; ${fix}`,
    };
  }
  if (id.override !== undefined) {
    if (id.override.toLowerCase() === expected)
      return { status: 'pass', message: `--hostname-override=${id.override}` };
    return {
      status: 'fail',
      message: `this host's kubelet runs with --hostname-override=${id.override}, not ${expected}; ${fix}`,
    };
  }
  if (id.hostname !== undefined) {
    if (id.hostname.toLowerCase() === expected) return { status: 'pass', message: `hostname ${id.hostname}` };
    return {
      status: 'warn',
      message: `cannot read ${KUBELET_CLIENT_CERT} (openssl) or a --hostname-override; the hostname is ${id.hostname}, not ${expected}: check that ${address} is ${expected}`,
    };
  }
  return {
    status: 'warn',
    message: `cannot tell which node ${address} is (no kubelet client certificate, no hostname)`,
  };
}
