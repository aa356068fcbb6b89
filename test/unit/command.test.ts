import { execFileSync } from 'node:child_process';
import { and, cmd, isShellCommand, quote, raw, sh, wrapShell } from '../../src/ssh/command';

/** Runs a command line in a real POSIX shell and returns the argv that printf saw, one per element. */
function argvSeenBy(line: string): string[] {
  const out = execFileSync('sh', ['-c', `printf '%s\\0' ${line}`], { encoding: 'utf8' });
  return out.split('\0').slice(0, -1);
}

const HOSTILE = [
  '; rm -rf /',
  '$(id)',
  '`id`',
  'a\nb',
  "it's",
  '"double"',
  '-rf',
  '--help',
  '',
  ' ',
  '*',
  '~root',
  'a\\b',
  '$HOME',
  '!!',
  '#comment',
  '|| true',
  '&& reboot',
  '> /etc/passwd',
  "'",
  "''",
  "'\\''",
  '\t\r',
  '{a,b}',
  '[x]',
  'ü 中文',
];

describe('quote', () => {
  test('safe words stay bare, everything else is single-quoted', () => {
    expect(quote('kubeadm')).toBe('kubeadm');
    expect(quote('--timeout=300s')).toBe('--timeout=300s');
    expect(quote('/etc/kubernetes/admin.conf')).toBe('/etc/kubernetes/admin.conf');
    expect(quote('')).toBe("''");
    expect(quote('a b')).toBe("'a b'");
    expect(quote("it's")).toBe("'it'\\''s'");
  });

  test('NUL is refused', () => {
    expect(() => quote('a\0b')).toThrow(/NUL/);
  });

  test.each(HOSTILE)('%j arrives as one literal argument', (v) => {
    expect(argvSeenBy(quote(v))).toEqual([v]);
  });
});

describe('cmd and sh', () => {
  test('cmd keeps each argv element whole, whatever it holds', () => {
    const line = cmd(...HOSTILE);
    expect(argvSeenBy(line)).toEqual(HOSTILE);
  });

  test('random strings round-trip (property-style, seeded)', () => {
    let seed = 42;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const alphabet = ` \t\n'"\`$;&|<>()[]{}*?!#~\\-=%^,.:/@abcXYZ019ü`;
    for (let i = 0; i < 200; i++) {
      const args = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () =>
        Array.from(
          { length: Math.floor(rnd() * 12) },
          () => alphabet[Math.floor(rnd() * alphabet.length)],
        ).join(''),
      );
      expect(argvSeenBy(cmd(...args))).toEqual(args);
    }
  });

  test('sh quotes values and inserts ShellCommands as is', () => {
    const node = 'w-1; reboot';
    const c = sh`${cmd('kubectl', 'drain', node)} 2>&1 | tail -n ${50}`;
    expect(c).toBe("kubectl drain 'w-1; reboot' 2>&1 | tail -n 50");
    expect(isShellCommand(c)).toBe(true);
    expect(sh`echo ${'$(id)'}`).toBe("echo '$(id)'");
  });

  test('sh refuses non-finite numbers', () => {
    expect(() => sh`sleep ${NaN}`).toThrow(/non-finite/);
  });

  test('a plain string is never taken for a ShellCommand', () => {
    expect(isShellCommand('rm -rf / # never built')).toBe(false);
    expect(sh`echo ${'rm -rf / # never built'}`).toBe("echo 'rm -rf / # never built'");
  });

  test('and() joins commands; wrapShell runs a line as one sh -c argument', () => {
    const line = and(cmd('true'), cmd('printf', '%s', 'ok'));
    expect(line).toBe('true && printf %s ok');
    const wrapped = wrapShell(line, ['sudo', '-n', '--']);
    expect(wrapped).toBe("sudo -n -- sh -c 'true && printf %s ok'");
    expect(() => and('echo hi' as never)).toThrow(TypeError);
  });

  test('raw() is for trusted shell text and still refuses NUL', () => {
    expect(raw('a | b')).toBe('a | b');
    expect(() => raw('a\0')).toThrow(/NUL/);
  });

  test('cmd() with no argument is an error', () => {
    expect(() => cmd()).toThrow(/empty/);
  });
});
