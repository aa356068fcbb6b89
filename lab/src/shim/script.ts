/**
 * DIR/bin/<tool>: the node-side shim, a bash script. It runs inside the node's SSH session (its
 * own mount namespace, where /etc is the node's overlay) and sends its command line to the
 * controller's exec port (exec-port.ts) with its own root, /proc/$$/root: the controller reads the
 * files the tool would read and performs the file effects in that root while the shim waits, so
 * the shim itself needs nothing but bash (/dev/tcp), `head` and `cat`. A Node.js shim cost ~0.1 s
 * of start-up per command; this one costs a few milliseconds.
 *
 * Environment: KUPGRADE_LAB_DIR, KUPGRADE_LAB_NODE (set by the node shell), optional
 * KUPGRADE_LAB_SESSION_PID (the sshd session to SIGKILL for the "drop" fault), and
 * KUPGRADE_LAB_ROOT: the node's root when there is no mount namespace (tests run the shim directly
 * with KUPGRADE_LAB_ROOT=DIR/nodes/NAME).
 */
export function shimScript(tool: string): string {
  if (!/^[a-z][a-z0-9-]*$/.test(tool)) throw new Error(`bad tool name ${tool}`);
  return `#!/bin/bash
# kupgrade-lab shim: ${tool} acts on the lab cluster (generated from lab/src/shim/script.ts)
export LC_ALL=C
dir=\${KUPGRADE_LAB_DIR-} node=\${KUPGRADE_LAB_NODE-}
if [ -z "$dir" ] || [ -z "$node" ]; then
  echo 'kupgrade-lab shim: KUPGRADE_LAB_DIR and KUPGRADE_LAB_NODE must be set' >&2
  exit 127
fi
if ! IFS=' ' read -r chost cport 2>/dev/null <"$dir/controller.addr"; then
  echo "kupgrade-lab shim: no controller recorded in $dir/controller.addr (is the lab up?)" >&2
  exit 1
fi
# kubeadm upgrade apply prompts unless -y/-f/--dry-run: read the answer if stdin is not a TTY
state=none answer=
if [ ${JSON.stringify(tool)} = kubeadm ] && [ "\${1-}" = upgrade ] && [ "\${2-}" = apply ]; then
  prompt=1
  for a in "$@"; do
    if [[ $a =~ ^(-y|--yes|-f|--force|--dry-run)(=true)?$ || $a =~ ^-[a-z]*[yf][a-z]*$ ]]; then prompt=0; fi
  done
  if [ "$prompt" = 1 ] && ! [ -t 0 ]; then
    IFS= read -r -t 0.5 answer
    rc=$?
    if [ "$rc" -le 1 ] || [ -n "$answer" ]; then state=value; fi
  fi
fi
${
  tool === 'gpg'
    ? `# gpg --dearmor with no input file reads stdin (curl ... | gpg --dearmor -o KEYRING)
skip=0 dearmor=0 file=0
for a in "$@"; do
  if [ "$skip" = 1 ]; then skip=0; continue; fi
  case $a in -o|--output) skip=1 ;; --dearmor|--dearmour) dearmor=1 ;; -*) ;; *) file=1 ;; esac
done
if [ "$dearmor" = 1 ] && [ "$file" = 0 ] && ! [ -t 0 ]; then
  answer=$(cat; printf x)
  answer=\${answer%x}
  state=value
fi
`
    : ''
}if ! { exec 3<>"/dev/tcp/$chost/$cport"; } 2>/dev/null; then
  echo "kupgrade-lab shim: controller at $chost:$cport unreachable: connection refused" >&2
  exit 1
fi
printf '%s\\0' KLAB1 "$node" ${JSON.stringify(tool)} "\${KUPGRADE_LAB_ROOT:-/proc/$$/root}" "$PWD" \\
  "\${KUBECONFIG-}" "\${KUBECONFIG+1}" "$state" "$answer" "$$" "$#" "$@" >&3
if ! IFS=' ' read -r code drop olen elen <&3; then
  echo "kupgrade-lab shim: the controller at $chost:$cport closed the connection" >&2
  exit 1
fi
if [ "$drop" = 1 ]; then
  # the "drop" fault: the SSH session dies mid-command
  spid=\${KUPGRADE_LAB_SESSION_PID:-0}
  read -r -a me 2>/dev/null <"/proc/$$/stat"
  if [ -n "\${KUPGRADE_LAB_SID-}" ] && [ "\${me[5]-}" != "$KUPGRADE_LAB_SID" ]; then
    # detached from the session (setsid: another session id than the node shell's): the command
    # lives on and completes; its session may be gone already (pid reused): kill only an sshd
    scomm=
    IFS= read -r scomm 2>/dev/null <"/proc/$spid/comm"
    [ "$spid" -gt 1 ] && [[ $scomm == sshd* ]] && kill -9 "$spid" 2>/dev/null
    # a drop "before" ran nothing (exit 255, no output): the command runs now after all
    if [ "$code" = 255 ] && [ "$olen" = 0 ] && [ "$elen" = 0 ]; then exec 3>&-; exec "$0" "$@"; fi
  else
    [ "$spid" -gt 1 ] && kill -9 "$spid" 2>/dev/null
    kill -9 $$
  fi
fi
# bash reads a socket one byte per read(2): fine for the usual few KB, head/cat beyond that
if [ "$olen" -gt 65536 ]; then
  head -c "$olen" <&3
elif [ "$olen" -gt 0 ]; then
  IFS= read -r -N "$olen" out <&3
  printf '%s' "$out"
fi
if [ "$elen" -gt 65536 ]; then
  cat <&3 >&2
elif [ "$elen" -gt 0 ]; then
  IFS= read -r -N "$elen" err <&3
  printf '%s' "$err" >&2
fi
exit "$code"
`;
}
