// The node shell: ForceCommand of the lab's sshd, run for every SSH session of every node. It is a
// bash script written to DIR/ssh/node-shell.sh when the sshd starts, because it runs once per SSH
// command and a Node.js start-up (~0.1 s on these machines) per command made the lab, not
// kupgrade, the bottleneck of every benchmark. It
// Sourced by the login shell (bash) of the session, or run by bash (see config.ts).
// 1. finds its node from SSH_CONNECTION (server address and port) in DIR/ssh/endpoints/ADDR:PORT;
// 2. records the session in DIR/ssh/sessions/NODE/<pid>.json (so setNodeDown can kill it) and
//    refuses to run if the node is down;
// 3. runs the command in the node's mount namespace (nsenter), made once per node by the first
//    session after the sshd starts (unshare -m; `unshare -r -m` without root) with `mount -a`
//    over the node's fstab (mount-table.ts) and held by a `sleep infinity` whose pid is in
//    DIR/ssh/ns/NODE.pid, with PATH=DIR/bin:/usr/local/bin:/usr/bin:/bin and
//    KUPGRADE_LAB_{DIR,NODE,SESSION_PID};
// 4. reports {type:'ssh', node, cmd, exit, ms} to the lab controller (ms: this shell's own run,
//    from its start to the command's end, so the benchmark can tell the node shell's time apart) (its exec port, see
//    lab/src/shim/exec-port.ts), or appends it to DIR/events.ssh-fallback.jsonl when the
//    controller cannot be reached.
import { shQuote } from './config';
import { mountTableScript } from './mount-table';

export function nodeShellScript(dir: string, workDirs: string[]): string {
  return `#!/bin/bash
# kupgrade-lab node shell (generated from lab/src/sshd/node-shell-script.ts; rewritten on every start)
t0=\${EPOCHREALTIME/[.,]/}
# what a login environment may have exported to change how this shell and the command behave
# (compgen fails when there is none, the usual case: no subshell then; a process start costs ~10 ms
# on a loaded machine and the node shell runs once per command)
if builtin compgen -A function >/dev/null; then
  for f in $(builtin compgen -A function); do builtin unset -f "$f"; done
fi
export -n SHELLOPTS BASHOPTS 2>/dev/null
unset BASH_ENV ENV CDPATH GLOBIGNORE PROMPT_COMMAND LD_PRELOAD LD_LIBRARY_PATH NODE_OPTIONS NODE_PATH
# mkdir/rm/rmdir as loadable builtins (Debian's bash-builtins) when installed: a process start
# costs ~10 ms on a loaded machine, and the node shell runs once per command
for b in mkdir rm rmdir; do enable -f "/usr/lib/bash/$b" "$b" 2>/dev/null; done
DIR=${shQuote(dir)}
WORKDIRS=(${workDirs.map(shQuote).join(' ')})

die() { printf 'kupgrade-lab: %s\\n' "$1" >&2; exit "\${2:-255}"; }
# json VAR TEXT: VAR=TEXT as a JSON string (printf -v: no subshell, once per session)
json() {
  local s=$2
  s=\${s//\\\\/\\\\\\\\}; s=\${s//\\"/\\\\\\"}; s=\${s//$'\\n'/\\\\n}; s=\${s//$'\\r'/\\\\r}; s=\${s//$'\\t'/\\\\t}
  s=\${s//[$'\\001'-$'\\037']/?}
  printf -v "$1" '"%s"' "$s"
}

read -r -a conn <<<"\${SSH_CONNECTION:-}"
[ "\${#conn[@]}" -ge 4 ] || die 'SSH_CONNECTION is not set: this is the ForceCommand of the lab sshd'
IFS= read -r node 2>/dev/null <"$DIR/ssh/endpoints/\${conn[2]}:\${conn[3]}" ||
  die "no lab node listens on \${conn[2]}:\${conn[3]} (see $DIR/lab.json)"

# the sshd process serving this session: the nearest ancestor named sshd*
spid=$PPID
p=$PPID
for _ in 1 2 3 4 5; do
  [ "$p" -gt 1 ] 2>/dev/null || break
  IFS= read -r comm 2>/dev/null <"/proc/$p/comm" || break
  case $comm in sshd*) spid=$p; break ;; esac
  read -r -a st 2>/dev/null <"/proc/$p/stat" || break
  p=\${st[3]}
done
read -r -a st <"/proc/$$/stat"
pgid=\${st[4]}

sdir="$DIR/ssh/sessions/$node"
rec="$sdir/$$.json"
# the whole command, unescaped, beside the record (liveSessions in sessions.ts reads both)
recCmd="$sdir/$$.cmd"
[ -d "$sdir" ] || mkdir -p "$sdir"
interactive=0
[ -n "\${SSH_ORIGINAL_COMMAND+x}" ] || interactive=1
cmd=\${SSH_ORIGINAL_COMMAND-}
now() { TZ=UTC0 printf -v "$1" '%(%Y-%m-%dT%H:%M:%S)T.%sZ' -1 "\${EPOCHREALTIME:11:3}"; }
now started
# the record names the command by its first 200 characters and the whole command goes raw into
# PID.cmd: bash's \${s//x/y} is quadratic, and escaping the whole of a 7 KB command (kupgrade's
# wrappers quote in layers) took ~15 ms per session
json cmd_head "\${cmd:0:200}"
printf '%s' "$cmd" >"$recCmd"
record() {
  printf '{"pid":%d,"pgid":%d,"sessionPid":%d,"cmd":%s,"started":"%s"%s}' \\
    $$ "$pgid" "$spid" "$cmd_head" "$started" "$1" >"$rec"
}
record ''
# after the record is written: setNodeDown writes the marker, then kills the recorded sessions
if [ -e "$DIR/ssh/down/$node" ]; then
  rm -f "$rec" "$recCmd"
  die "node $node is down"
fi
if [ "$interactive" = 1 ] && ! [ -t 0 ]; then
  rm -f "$rec" "$recCmd"
  die "node $node: no command given (run: ssh NODE 'COMMAND', or ssh -t NODE for a shell)" 1
fi

fstab_file="$DIR/ssh/fstab/$node"
fresh_fstab=0
if ! [ -s "$fstab_file" ] || [ "$DIR/bin" -nt "$fstab_file" ]; then
  # a tool was added to or removed from DIR/bin since the sshd started
  ${shQuote(process.execPath)} ${shQuote(mountTableScript())} --dir "$DIR" --node "$node"
  fresh_fstab=1
fi
[ -s "$fstab_file" ] || { rm -f "$rec" "$recCmd"; die "node $node: no mount table $fstab_file (restart the lab: kupgrade-lab up)"; }
# The node's mount namespace lives as long as the lab's sshd: one holder process per node
# (argv0 "kupgrade-lab-ns DIR NODE", pid in DIR/ssh/ns/NODE.pid) set up once with \`mount -a\` over
# the node's fstab; every session enters it with nsenter. Mounting 8 overlays and ~12 binds per
# command and tearing them down again cost ~40 ms of kernel time per SSH command, which made the
# lab, not kupgrade, the bottleneck on 2 cores; a shared namespace is also what a real node is
# (every session sees the same /etc and /tmp).
nsd="$DIR/ssh/ns"
pidf="$nsd/$node.pid"
tag="kupgrade-lab-ns $DIR $node"
holder_ok() {
  hp=
  IFS= read -r hp 2>/dev/null <"$pidf" || return 1
  [ -n "$hp" ] || return 1
  local a0=
  IFS= read -r -d '' a0 2>/dev/null <"/proc/$hp/cmdline"
  [ "$a0" = "$tag" ]
}
enable -f /usr/lib/bash/sleep sleep 2>/dev/null
if [ "$fresh_fstab" = 1 ] && holder_ok; then
  # the tools changed: later sessions get a namespace built from the new table
  kill "$hp" 2>/dev/null
  rm -f "$pidf"
fi
if ! holder_ok; then
  [ -d "$nsd" ] || mkdir -p "$nsd"
  waited=0
  until holder_ok; do
    if mkdir "$pidf.lock" 2>/dev/null; then
      if ! holder_ok; then
        ns=(unshare -m --propagation private)
        [ "$EUID" = 0 ] || ns=(unshare -r -m --propagation private)
        rm -f "$pidf.err"
        # the overlays' work dirs: one set per namespace (an old namespace may still be in use)
        work="$DIR/nodes/$node/.work/ns$$"
        [ -d "$work/\${WORKDIRS[0]}" ] || (mkdir -p "$work" && cd "$work" && mkdir -p "\${WORKDIRS[@]}")
        IFS= read -r -d '' fstab 2>/dev/null <"$fstab_file"
        printf '%s' "\${fstab//@SLOT@/ns$$}" >"$work/fstab"
        # setsid: the holder outlives this session and is in no session's process group
        setsid -f "\${ns[@]}" -- /bin/bash --noprofile --norc -c '
          mount -a -T "$1" 2>"$3.err" || exit 255
          printf "%s\\n" "$$" >"$3.tmp" && mv -f "$3.tmp" "$3" || exit 255
          exec -a "$2" sleep infinity' kupgrade-lab-ns "$work/fstab" "$tag" "$pidf" </dev/null >/dev/null 2>&1
        for ((i = 0; i < 2000; i++)); do
          holder_ok && break
          [ -s "$pidf.err" ] && break
          sleep 0.005
        done
      fi
      rmdir "$pidf.lock" 2>/dev/null
      holder_ok || { rm -f "$rec" "$recCmd"; die "kupgrade-lab: cannot set up the mount namespace of node $node: $(cat "$pidf.err" 2>/dev/null)"; }
    else
      # another session of this node is creating it; a creator that died leaves a stale lock
      sleep 0.005
      waited=$((waited + 1))
      [ "$waited" -lt 2000 ] || { rmdir "$pidf.lock" 2>/dev/null; waited=0; }
    fi
  done
fi
enter=(nsenter "--mount=/proc/$hp/ns/mnt")
# without root: keep our uid, which the namespace maps to 0 (nsenter would setgroups, which unshare -r denied)
[ "$EUID" = 0 ] || enter=(nsenter --preserve-credentials "--user=/proc/$hp/ns/user" "--mount=/proc/$hp/ns/mnt")

# KUPGRADE_LAB_SID: the session id of this SSH session's processes; a process started with setsid
# (detached from the session) has another, and the "drop" fault does not kill it (see shim/script.ts)
export PATH="$DIR/bin:/usr/local/bin:/usr/bin:/bin" KUPGRADE_LAB_DIR="$DIR" KUPGRADE_LAB_NODE="$node" KUPGRADE_LAB_SESSION_PID="$spid" KUPGRADE_LAB_SID="\${st[5]}"
script=$cmd
[ "$interactive" = 0 ] || script="export PS1='[$node] \\\\w\\\\$ '; exec /bin/bash --noprofile --norc -i"
"\${enter[@]}" "--wdns=\${PWD:-/}" -- /bin/bash --noprofile --norc -c "$script" 0<&0 &
child=$!
for sig in TERM INT HUP QUIT USR1 USR2; do
  trap "kill -$sig $child 2>/dev/null" "$sig"
done
while :; do
  wait "$child"
  rc=$?
  kill -0 "$child" 2>/dev/null || break
done
rm -f "$rec" "$recCmd"
t1=\${EPOCHREALTIME/[.,]/}
ms=$(((t1 - t0) / 1000))

# report the command, its exit code and this shell's time (never fail the command because of it)
reported=0
if IFS=' ' read -r chost cport 2>/dev/null <"$DIR/controller.addr" && { exec 3<>"/dev/tcp/$chost/$cport"; } 2>/dev/null; then
  printf '%s\\0' KEVT2 "$node" "$cmd" "$rc" "$ms" >&3 2>/dev/null && IFS= read -r -t 10 ack <&3 && [ "$ack" = ok ] && reported=1
  exec 3>&-
fi
if [ "$reported" = 0 ]; then
  now ts
  json node_json "$node"
  json cmd_json "$cmd"
  printf '{"ts":"%s","type":"ssh","node":%s,"cmd":%s,"exit":%d,"ms":%d}\\n' "$ts" \\
    "$node_json" "$cmd_json" "$rc" "$ms" >>"$DIR/events.ssh-fallback.jsonl" 2>/dev/null
fi
exit "$rc"
`;
}
