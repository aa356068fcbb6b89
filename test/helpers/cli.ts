/** Runs the kupgrade CLI in-process against the test's dev server and captures its output. */
import { main } from '../../src/cli/main';
import { address } from './temporal';

export async function kupgrade(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main([...argv, '--address', address()], {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    isTTY: false,
  });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}
