/**
 * The pool's private key: read from the configured path, refused when group or others may read it
 * or when it does not parse. The key is never logged and never put in an error: only its path is.
 */
import * as fs from 'node:fs';
import { utils } from 'ssh2';
import { SshKeyFileError } from './errors';

export function readPrivateKey(file: string, passphrase?: string): Buffer {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new SshKeyFileError(
      `private key ${file} does not exist or cannot be read. Fix: set ssh.privateKeyPath`,
      file,
    );
  }
  if (!st.isFile()) throw new SshKeyFileError(`private key ${file} is not a regular file`, file);
  if ((st.mode & 0o077) !== 0) {
    throw new SshKeyFileError(
      `private key ${file} is readable by group or others (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}); refusing to use it. Fix: chmod 600 ${file}`,
      file,
    );
  }
  const buf = fs.readFileSync(file);
  const parsed = utils.parseKey(buf, passphrase);
  if (parsed instanceof Error) {
    // ssh2's parse errors describe the format, not the content; still, keep only a generic reason.
    throw new SshKeyFileError(
      `private key ${file} cannot be parsed (${passphrase ? 'wrong passphrase or ' : 'encrypted without a passphrase, or '}unsupported format)`,
      file,
    );
  }
  return buf;
}
