/**
 * Real X.509 certificates for the lab's nodes, so that `openssl x509 -noout -subject -in
 * /var/lib/kubelet/pki/kubelet-client-current.pem` answers on a lab node as on a kubeadm node:
 * the kubelet's client certificate has the subject `O = system:nodes, CN = system:node:<name>`,
 * is issued by the cluster CA (`CN = kubernetes`), and the PEM file holds the certificate followed
 * by its private key (the kubelet's certificate manager writes both into one
 * `kubelet-client-<date>.pem` and points the `kubelet-client-current.pem` symlink at it).
 *
 * A minimal DER writer (no dependency): ECDSA P-256 keys (what the kubelet generates for its
 * CSR), signed ecdsa-with-SHA256. One CA key and one client key per `up`, one signature per node.
 */
import * as crypto from 'node:crypto';

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
}

const seq = (...p: Buffer[]) => tlv(0x30, ...p);
const set = (...p: Buffer[]) => tlv(0x31, ...p);

function oid(dotted: string): Buffer {
  const n = dotted.split('.').map(Number);
  const out: number[] = [40 * n[0]! + n[1]!];
  for (const v of n.slice(2)) {
    const b: number[] = [v & 0x7f];
    for (let x = v >>> 7; x > 0; x >>>= 7) b.unshift(0x80 | (x & 0x7f));
    out.push(...b);
  }
  return tlv(0x06, Buffer.from(out));
}

function int(bytes: Buffer): Buffer {
  const b = bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
  return tlv(0x02, b);
}

function utcTime(d: Date): Buffer {
  const p = (x: number) => String(x).padStart(2, '0');
  const s = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return tlv(0x17, Buffer.from(s, 'ascii'));
}

const OID = {
  o: '2.5.4.10',
  cn: '2.5.4.3',
  ecdsaSha256: '1.2.840.10045.4.3.2',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  basicConstraints: '2.5.29.19',
  clientAuth: '1.3.6.1.5.5.7.3.2',
};

/** A Name of RDNs in order, e.g. [['o','system:nodes'],['cn','system:node:w-1']] (UTF8String). */
function name(rdns: [keyof typeof OID, string][]): Buffer {
  return seq(...rdns.map(([k, v]) => set(seq(oid(OID[k]), tlv(0x0c, Buffer.from(v, 'utf8'))))));
}

function ext(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [tlv(0x01, Buffer.from([0xff]))] : []), tlv(0x04, value));
}

function pem(what: string, der: Buffer): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN ${what}-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END ${what}-----\n`;
}

export interface LabPki {
  /** kubelet-client-<date>.pem content for a node: certificate, then the EC private key. */
  kubeletClientPem(node: string, notBefore: Date): string;
}

export function labPki(): LabPki {
  const ca = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const client = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = client.publicKey.export({ type: 'spki', format: 'der' });
  const keyPem = client.privateKey.export({ type: 'sec1', format: 'pem' }).toString();
  const sigAlg = seq(oid(OID.ecdsaSha256));
  const issuer = name([['cn', 'kubernetes']]);
  const extensions = tlv(
    0xa3,
    seq(
      ext(OID.keyUsage, true, tlv(0x03, Buffer.from([0x07, 0x80]))), // digitalSignature
      ext(OID.extKeyUsage, false, seq(oid(OID.clientAuth))),
      ext(OID.basicConstraints, true, seq()),
    ),
  );
  return {
    kubeletClientPem(node: string, notBefore: Date): string {
      const notAfter = new Date(notBefore.getTime() + 365 * 86400_000);
      const serial = crypto.createHash('sha256').update(`kubelet-client/${node}`).digest().subarray(0, 16);
      const tbs = seq(
        tlv(0xa0, int(Buffer.from([2]))),
        int(serial),
        sigAlg,
        issuer,
        seq(utcTime(notBefore), utcTime(notAfter)),
        name([
          ['o', 'system:nodes'],
          ['cn', `system:node:${node}`],
        ]),
        spki,
        extensions,
      );
      const sig = crypto.sign('sha256', tbs, ca.privateKey);
      const cert = seq(tbs, sigAlg, tlv(0x03, Buffer.concat([Buffer.from([0]), sig])));
      return pem('CERTIFICATE', cert) + keyPem;
    },
  };
}

/** The kubelet's rotated-certificate file name: kubelet-client-2026-10-19-08-00-00.pem */
export function kubeletClientFileName(d: Date): string {
  const p = (x: number) => String(x).padStart(2, '0');
  return `kubelet-client-${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}-${p(d.getUTCHours())}-${p(d.getUTCMinutes())}-${p(d.getUTCSeconds())}.pem`;
}
