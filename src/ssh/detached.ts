/**
 * Transactions run detached on the node. Every SSH command runs under the kill-on-EOF wrapper
 * (pool.ts), so a timeout, an abort, a worker death or a dropped connection kills it: harmless for
 * a read, but a `kubeadm upgrade apply` killed mid manifest swap or a dpkg/rpm killed mid install
 * leaves the node half changed. `detachedStep(id, command)` builds ONE command line that
 *
 * 1. under `RUN_DIR/.start.lock` (flock), finds the step `id` in RUN_DIR/<id>/:
 *    - running (its `alive` lock is held, or its systemd unit is active): attach to it;
 *    - finished and not yet collected, for the same command (`sum`): take its result;
 *    - a run that ended without an exit code (the node restarted under it): say so, run again;
 *    - none: start it — `systemd-run --unit kupgrade-<id> --collect` where systemd is PID 1,
 *      else `setsid` with no tie to the SSH session — and hold the start lock until the step
 *      holds its `alive` lock, so no second caller can take it for dead and start it twice;
 * 2. the step takes `RUN_DIR/.node.lock` (flock) for its whole run: two steps never run on a node
 *    at once, whoever started them;
 * 3. waits for the step's end (the caller that started it with `setsid` as its parent, `wait`;
 *    any other with `flock alive`; no polling), prints its stdout and stderr, exits with its code
 *    and marks the run `collected`. The next call with that id moves a collected run to
 *    RUN_DIR/.last/<id> and runs the step again (so a later retry of a failed step runs it again,
 *    and the operator can read the last run in RUN_DIR/<id> or RUN_DIR/.last/<id>). Moving it at
 *    the next call rather than at collection spares every transaction an `mv` (and a `mkdir`).
 *
 * Only the waiting part belongs to the SSH session: killing it (abort, timeout, dropped
 * connection, worker death) leaves the step running, and the next call with the same id attaches
 * to it. Exit 125 with a `kupgrade:` line is the wrapper's own trouble (no flock, no run dir).
 */
import { cmd, type ShellCommand } from './command';

/** Where the steps' pid, output and exit-code files live on the node (root-owned, 0700). */
export const RUN_DIR = '/var/lib/kupgrade/run';

/** The exit code of the wrapper's own failures (never the step's). */
export const DETACH_ERROR_EXIT = 125;

/** Step ids become file and systemd unit names: letters, digits, `.`, `_` and `-` only. */
export function stepId(...parts: string[]): string {
  const id = parts
    .join('-')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[.-]+/, '');
  if (!id) throw new Error('stepId: empty');
  return id.slice(0, 200);
}

/**
 * The step itself, run by `setsid`/`systemd-run`: $1 the step dir, $2 the command, $3 `held` when
 * the alive lock came inherited on fd 7 (setsid), else it takes it (systemd-run starts it afresh).
 */
const STEP = [
  'exec 8>&-',
  '[ "$3" = held ] || { exec 7>>"$1/alive" && flock 7; } || exit 125',
  'printf "%s\\n" "$$" >"$1/pid"',
  'exec 9>>"${1%/*}/.node.lock" && flock 9 || exit 125',
  'sh -c "$2" >"$1/out" 2>"$1/err" </dev/null 7>&- 9>&-',
  'printf "%s\\n" "$?" >"$1/rc"',
].join('\n');

/**
 * The attach-or-start-then-wait script: $1 run dir, $2 id, $3 the command's cksum, $4 the command,
 * $5 STEP. It runs once per transaction on a node that may be busy: it uses the shell's builtins
 * where a process would do the same (read for cat, a redirected group for `flock FILE true`), and
 * starts a process only for what needs one (flock, mkdir, setsid, cat of the output).
 */
const ATTACH = `
R=$1 id=$2 sum=$3 c=$4 STEP=$5 d=$1/$2 child=
die() { printf 'kupgrade: %s\\n' "$1" >&2; exit 125; }
umask 077
command -v flock >/dev/null 2>&1 || die "flock (util-linux) is missing on this node: cannot run $id detached"
[ -d "$R" ] || mkdir -p "$R" || die "cannot create $R"
exec 8>>"$R/.start.lock" && flock -w 300 8 || die "$R/.start.lock is held by another kupgrade"
sd=0
[ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1 && sd=1
running() {
  [ "$sd" = 1 ] && systemctl is-active --quiet "kupgrade-$id.service" && return 0
  [ -f "$d/pid" ] && ! { flock -n 6; } 6>>"$d/alive"
}
# the step's exit code, once its rc file holds one (a step killed while writing it has none)
ended() {
  rc=
  [ -f "$1/rc" ] && read -r rc <"$1/rc"
  case $rc in '' | *[!0-9]*) return 1 ;; esac
}
same() {
  s=
  [ -f "$1/sum" ] && read -r s <"$1/sum"
  [ "$s" = "$sum" ]
}
if ended "$d"; then
  if ! same "$d"; then
    rm -rf "$d"
  elif [ -f "$d/collected" ]; then
    # a run someone already took the result of: keep it as the last run, run the step again
    [ -d "$R/.last" ] || mkdir -p "$R/.last"
    [ ! -e "$R/.last/$id" ] || rm -rf "$R/.last/$id"
    mv -f "$d" "$R/.last/$id" || die "cannot move $d to $R/.last"
  fi
elif running; then
  printf 'kupgrade: attaching to %s, running since an earlier attempt\\n' "$id" >&2
elif [ -d "$d" ]; then
  printf 'kupgrade: the earlier run of %s ended without an exit code (node restarted?); running it again\\n' "$id" >&2
  rm -rf "$d"
fi
if [ ! -d "$d" ]; then
  mkdir -p "$d" && printf '%s\\n' "$sum" >"$d/sum" && printf '%s\\n' "$c" >"$d/cmd" || die "cannot write $d"
  if [ "$sd" = 1 ]; then
    systemd-run --quiet --collect --unit "kupgrade-$id" -- sh -c "$STEP" kupgrade-step "$d" "$c" take ||
      die "systemd-run could not start kupgrade-$id"
    i=0
    until [ -f "$d/pid" ]; do
      i=$((i + 1))
      [ "$i" -lt 3000 ] || die "the step $id did not start"
      sleep 0.02
    done
  else
    exec 7>>"$d/alive" && flock 7 || die "cannot lock $d/alive"
    setsid sh -c "$STEP" kupgrade-step "$d" "$c" held </dev/null >/dev/null 2>&1 &
    child=$!
    # the step holds the alive lock from here on (inherited); its pid, written before the start
    # lock goes, tells the next caller that it runs (the step writes its own pid again)
    printf '%s\\n' "$child" >"$d/pid" || die "cannot write $d/pid"
    exec 7>&-
  fi
fi
exec 8>&-
# the step is our child (setsid execs it in place): wait for it without starting a flock
if [ -n "$child" ]; then wait "$child"; else { flock 6; } 2>/dev/null 6>>"$d/alive"; fi
exec 8>>"$R/.start.lock" && flock -w 300 8 || die "$R/.start.lock is held by another kupgrade"
src=$d
ended "$d" || src=$R/.last/$id
ended "$src" && same "$src" || die "the step $id ended without an exit code"
[ -s "$src/out" ] && cat "$src/out"
[ -s "$src/err" ] && cat "$src/err" >&2
[ "$src" != "$d" ] || : >"$d/collected"
exit "$rc"`;

/**
 * POSIX `cksum` of a string ("CRC LENGTH", as `printf %s "$c" | cksum` prints it): the sum a step's
 * directory records, computed here rather than by a pipe and a process on the node.
 */
export function cksum(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  let crc = 0;
  const feed = (b: number): void => {
    crc ^= b << 24;
    for (let k = 0; k < 8; k++) crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1;
    crc >>>= 0;
  };
  for (const b of bytes) feed(b);
  for (let n = bytes.length; n > 0; n = Math.floor(n / 256)) feed(n & 0xff);
  return `${~crc >>> 0} ${bytes.length}`;
}

/**
 * One command line that runs `command` as the detached step `id` (or attaches to it), waits for
 * its end and exits with its code, printing its stdout and stderr.
 */
export function detachedStep(id: string, command: ShellCommand, runDir: string = RUN_DIR): ShellCommand {
  if (id !== stepId(id)) throw new Error(`detachedStep: bad step id ${JSON.stringify(id)}`);
  return cmd('sh', '-c', ATTACH, 'kupgrade-attach', runDir, id, cksum(command), command, STEP);
}

const PREFIX = `${cmd('sh', '-c', ATTACH, 'kupgrade-attach')} `;
const SUFFIX = ` ${cmd('x', STEP).slice(2)}`;

/** The step id and command inside a detachedStep() line (tests and logs), or null. */
export function unwrapDetached(line: string): { runDir: string; id: string; command: string } | null {
  if (!line.startsWith(PREFIX) || !line.endsWith(SUFFIX)) return null;
  const m = /^(\S+) (\S+) '\d+ \d+' ([\s\S]*)$/.exec(line.slice(PREFIX.length, line.length - SUFFIX.length));
  if (!m) return null;
  const q = m[3]!;
  const command = q.startsWith("'") && q.endsWith("'") ? q.slice(1, -1).replace(/'\\''/g, "'") : q;
  return { runDir: m[1]!, id: m[2]!, command };
}
