/**
 * curl and gpg, as far as a repository key goes: `curl -fsSL <repo>/Release.key | gpg --dearmor -o
 * <keyring>` (the install-kubeadm / change-package-repository docs on kubernetes.io)
 * and `gpg --show-keys --with-colons <file>` to read a key's fingerprint. The lab has no network:
 * curl serves only the keys of the modelled repositories (model/packages.ts keyAtUrl), a 404 for
 * any other path on those hosts, and "Could not resolve host" elsewhere.
 */
import { armoredKey, dearmor, keyIdOf, keyAtUrl, keyringFingerprints } from '../model/packages';
import { TIME } from '../model/time-model';
import type { ExecResult, ToolCall } from './types';
import { fail, ok } from './types';

const KEY_HOSTS =
  /^(pkgs\.k8s\.io|prod-cdn\.packages\.k8s\.io|mirrors\.[a-z0-9.-]+|packages\.cloud\.google\.com|apt\.kubernetes\.io|yum\.kubernetes\.io|dl\.k8s\.io)$/;

export async function curl(c: ToolCall): Promise<ExecResult> {
  let failHttp = false;
  let silent = false;
  let showErr = false;
  let output: string | null = null;
  const urls: string[] = [];
  for (let i = 0; i < c.argv.length; i++) {
    const a = c.argv[i]!;
    if (a === '-o' || a === '--output') output = c.argv[++i] ?? null;
    else if (['--retry', '--max-time', '-m', '--connect-timeout', '--retry-delay'].includes(a)) i++;
    else if (a === '--fail') failHttp = true;
    else if (a === '--silent') silent = true;
    else if (a === '--show-error') showErr = true;
    else if (a === '--location' || a === '--proto' || a.startsWith('--proto=')) continue;
    else if (/^-[fsSLo]+$/.test(a)) {
      failHttp ||= a.includes('f');
      silent ||= a.includes('s');
      showErr ||= a.includes('S');
      if (a.endsWith('o')) output = c.argv[++i] ?? null;
    } else if (a.startsWith('-'))
      return fail(
        2,
        `curl: option ${a}: is unknown\ncurl: try 'curl --help' or 'curl --manual' for more information\n`,
      );
    else urls.push(a);
  }
  if (!urls.length)
    return fail(
      2,
      "curl: no URL specified!\ncurl: try 'curl --help' or 'curl --manual' for more information\n",
    );
  await c.cl.sleep(TIME.trivialMs);
  const err = (code: number, text: string) =>
    fail(code, silent && !showErr ? '' : `curl: (${code}) ${text}\n`);
  const url = urls[0]!;
  const m = /^(https?):\/\/([^/:]+)(?::\d+)?(\/.*)?$/.exec(url);
  if (!m) return err(3, `URL using bad/illegal format or missing URL`);
  if (!KEY_HOSTS.test(m[2]!)) return err(6, `Could not resolve host: ${m[2]}`);
  const body = keyAtUrl(url);
  if (body === null) {
    if (failHttp) return err(22, 'The requested URL returned error: 404');
    return ok('<html><body><h1>404 Not Found</h1></body></html>\n');
  }
  if (output)
    return { stdout: '', stderr: '', exit: 0, effects: [{ op: 'write', path: output, content: body }] };
  return ok(body);
}

function colons(fpr: string): string {
  return (
    `pub:-:2048:1:${keyIdOf(fpr)}:1691542316:1817686316::-:::scSC::::::23::0:\n` +
    `fpr:::::::::${fpr}:\n` +
    `uid:-::::1691542316::${fpr.slice(0, 40)}::isv\\x3akubernetes OBS Project <isv\\x3akubernetes@build.opensuse.org>::::::::::0:\n`
  );
}

function human(fpr: string): string {
  return `pub   rsa2048 2023-08-08 [SC] [expires: 2027-08-07]\n      ${fpr}\nuid                      isv:kubernetes OBS Project <isv:kubernetes@build.opensuse.org>\n\n`;
}

/** gpg --dearmor [-o FILE] [FILE], gpg --show-keys [--with-colons] [FILE] (stdin when no FILE). */
export async function gpg(c: ToolCall): Promise<ExecResult> {
  let mode: 'dearmor' | 'show' | null = null;
  let withColons = false;
  let yes = false;
  let output: string | null = null;
  const inputs: string[] = [];
  for (let i = 0; i < c.argv.length; i++) {
    const a = c.argv[i]!;
    if (a === '--dearmor' || a === '--dearmour') mode = 'dearmor';
    else if (a === '--show-keys') mode = 'show';
    else if (a === '--with-colons') withColons = true;
    else if (a === '--yes') yes = true;
    else if (a === '-o' || a === '--output') output = c.argv[++i] ?? null;
    else if (['--batch', '--no-tty', '-q', '--quiet', '--with-fingerprint', '--fingerprint'].includes(a))
      continue;
    else if (a.startsWith('-')) return fail(2, `gpg: invalid option "${a}"\n`);
    else inputs.push(a);
  }
  if (!mode) return fail(2, 'kupgrade-lab: gpg simulates only --dearmor and --show-keys\n');
  await c.cl.sleep(TIME.trivialMs);
  const input = inputs.length ? c.ctx.files[inputs[0]!] : (c.ctx.stdin ?? null);
  if (inputs.length && input === null)
    return fail(2, `gpg: can't open '${inputs[0]}': No such file or directory\n`);
  if (mode === 'dearmor') {
    const ring = input ? dearmor(input) : null;
    if (!ring) return fail(2, 'gpg: no valid OpenPGP data found.\n');
    if (!output) return ok(ring);
    if (c.ctx.files[output] != null && !yes)
      // RECON: gpg asks "File '...' exists. Overwrite? (y/N)" and has no TTY to ask on
      return fail(2, `gpg: cannot open '/dev/tty': No such device or address\n`);
    return {
      stdout: '',
      stderr: '',
      exit: 0,
      effects: [{ op: 'write', path: output, content: ring, mode: 0o644 }],
    };
  }
  const fprs = keyringFingerprints(input);
  if (!fprs.length) return fail(2, 'gpg: no valid OpenPGP data found.\n');
  return ok(fprs.map((f) => (withColons ? colons(f) : human(f))).join(''));
}

/** The armored key for a fingerprint (tests build keys for inventories with it). */
export { armoredKey };
