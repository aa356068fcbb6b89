/**
 * Which node is this host? Read on the host itself, so that an inventory whose addresses point at
 * the wrong machines (two workers swapped, a reused IP) is refused before anything is drained or
 * installed on the wrong node.
 *
 * Sources, strongest first:
 * 1. the kubelet's client certificate, /var/lib/kubelet/pki/kubelet-client-current.pem: the API
 *    server authenticates the kubelet as its subject CN `system:node:<name>` (O `system:nodes`),
 *    so this is the Node the host's kubelet really is (read here from the DER, no openssl needed);
 * 2. `--hostname-override=` in the kubelet's flags (kubeadm-flags.env, /etc/default/kubelet,
 *    /etc/sysconfig/kubelet);
 * 3. the hostname (the kubelet's default node name, lower-cased); only a warning when it differs,
 *    because a cloud provider may name the node otherwise.
 */
import { raw, type ShellCommand } from '../ssh/command';
import type { CheckStatus } from '../shared/activities';

const KUBELET_CLIENT_CERT = '/var/lib/kubelet/pki/kubelet-client-current.pem';

/**
 * One read-only shell line, cheap enough for every node of a big cluster (no openssl: its start-up
 * costs ~40 ms of CPU): the certificate block of the kubelet's client PEM only (`sed`; never the
 * private key that follows it in the same file), the `--hostname-override=` words of the kubelet's
 * flag files, and `hostname: <name>`.
 */
export function nodeIdentityCommand(): ShellCommand {
  return raw(
    `f=${KUBELET_CLIENT_CERT}; if [ -r "$f" ]; then echo 'cert:'; sed -n '/-BEGIN CERTIFICATE-/,/-END CERTIFICATE-/p' "$f"; fi; ` +
      `grep -ho -e '--hostname-override=[^" ]*' /var/lib/kubelet/kubeadm-flags.env /etc/default/kubelet /etc/sysconfig/kubelet 2>/dev/null; ` +
      `echo "hostname: \${HOSTNAME:-$(uname -n)}"`,
  );
}

export interface NodeIdentity {
  /** the node name in the kubelet client certificate's CN (system:node:<name>) */
  cert?: string;
  /** the certificate's CN when it is not a node certificate */
  certSubject?: string;
  override?: string;
  hostname?: string;
}

/** One DER element at `off`: tag, the content's [start, end). */
function tlvAt(b: Buffer, off: number): { tag: number; start: number; end: number } {
  const tag = b[off];
  let len = b[off + 1];
  let start = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 4) throw new Error('bad DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[start + i];
    start += n;
  }
  if (tag === undefined || start + len > b.length) throw new Error('truncated DER');
  return { tag, start, end: start + len };
}

function children(b: Buffer, el: { start: number; end: number }) {
  const out: { tag: number; start: number; end: number }[] = [];
  for (let off = el.start; off < el.end;) {
    const c = tlvAt(b, off);
    out.push(c);
    off = c.end;
  }
  return out;
}

const CN_OID = Buffer.from([0x55, 0x04, 0x03]);

/** The subject CN of a PEM certificate (X.509 DER: Certificate → tbsCertificate → subject), or null. */
export function certificateCommonName(pem: string): string | null {
  const m = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(pem);
  if (!m) return null;
  try {
    const der = Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
    const tbs = children(der, tlvAt(der, 0))[0];
    const fields = children(der, tbs);
    const i = fields[0]?.tag === 0xa0 ? 1 : 0; // [0] version
    const subject = fields[i + 4]; // serialNumber, signature, issuer, validity, subject
    if (!subject || subject.tag !== 0x30) return null;
    for (const rdn of children(der, subject)) {
      for (const atv of children(der, rdn)) {
        const [oid, value] = children(der, atv);
        if (oid?.tag === 0x06 && value && der.subarray(oid.start, oid.end).equals(CN_OID))
          return der.subarray(value.start, value.end).toString('utf8');
      }
    }
    return null;
  } catch {
    return null;
  }
}

/** Splits the output of nodeIdentityCommand. */
export function parseNodeIdentity(output: string): NodeIdentity {
  const id: NodeIdentity = {};
  const cn = output.includes('cert:') ? certificateCommonName(output) : null;
  if (cn !== null) {
    const node = /^system:node:(.+)$/.exec(cn);
    if (node) id.cert = node[1];
    else id.certSubject = cn;
  }
  for (const line of output.split('\n')) {
    const t = line.trim();
    const o = /^--hostname-override=(\S+)$/.exec(t);
    if (o && id.override === undefined) id.override = o[1];
    const h = /^hostname: (\S+)$/.exec(t);
    if (h) id.hostname = h[1];
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
      message: `cannot read ${KUBELET_CLIENT_CERT} or a --hostname-override; the hostname is ${id.hostname}, not ${expected}: check that ${address} is ${expected}`,
    };
  }
  return {
    status: 'warn',
    message: `cannot tell which node ${address} is (no kubelet client certificate, no hostname)`,
  };
}
