#!/usr/bin/env bash
# slurm-down.sh: stop the SLURM daemons that .ci/slurm-up.sh started, by pid.
#
#   bash .ci/slurm-down.sh                 # stop slurmd, slurmctld, munged (those with a pid file)
#   bash .ci/slurm-down.sh slurmd munged   # stop only these
#   bash .ci/slurm-down.sh --purge         # also delete $SLURM_CI_DIR (state, logs)
#
# Only processes recorded in $SLURM_CI_DIR/run/<name>.pid whose name still
# matches are signalled; a daemon slurm-up.sh found already running has no pid
# file and is left alone. Once none of the daemons it started is left, the
# configuration that slurm-up.sh wrote goes too (the link /etc/slurm/slurm.conf and
# its target), so that no SLURM tool finds a cluster that is gone: a stale
# configuration makes every later `snakemake` call on this machine wait ~10 s.
set -uo pipefail

DIR=${SLURM_CI_DIR:-/tmp/padpos-slurm}
CONF=$DIR/etc/slurm.conf
LINK=/etc/slurm/slurm.conf
HEADER="# Written by padpos .ci/slurm-up.sh"

say() { echo "[slurm-down] $*"; }

# stop NAME: TERM the recorded process, KILL it if still alive after 10 s
stop() {
  local name=$1 pidfile="$DIR/run/$1.pid" pid
  if [ ! -s "$pidfile" ]; then say "$name: not started by slurm-up.sh, left alone"; return 0; fi
  pid=$(cat "$pidfile")
  if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != "$name" ]; then
    say "$name: pid $pid is gone"
  else
    say "stopping $name (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then say "$name: still alive, SIGKILL"; kill -KILL "$pid"; fi
  fi
  rm -f "$pidfile"
}

purge=0
names=()
for arg in "$@"; do
  case $arg in
    --purge) purge=1 ;;
    slurmd | slurmctld | munged) names+=("$arg") ;;
    *) echo "usage: slurm-down.sh [--purge] [slurmd] [slurmctld] [munged]" >&2; exit 2 ;;
  esac
done
[ ${#names[@]} -gt 0 ] || names=(slurmd slurmctld munged)

# Cancel jobs left behind before their slurmd goes (only if we are stopping the controller).
if [[ " ${names[*]} " == *" slurmctld "* ]] && [ -s "$DIR/run/slurmctld.pid" ] && command -v scancel >/dev/null; then
  scancel --user="$(id -un)" >/dev/null 2>&1 && sleep 1
fi
# order matters: compute node, then controller, then the authentication they both use
for name in slurmd slurmctld munged; do
  [[ " ${names[*]} " == *" $name "* ]] && stop "$name"
done
# the configuration goes with the last daemon: only what slurm-up.sh made (a link to
# CONF, or the plain file with our header that an older version wrote)
if ! ls "$DIR"/run/*.pid >/dev/null 2>&1; then
  if [ -L "$LINK" ] && [ "$(readlink "$LINK")" = "$CONF" ]; then
    rm -f "$LINK" && say "removed the link $LINK"
  elif [ -f "$LINK" ] && [ ! -L "$LINK" ] && head -1 "$LINK" | grep -q "^$HEADER"; then
    rm -f "$LINK" && say "removed $LINK (written by an older slurm-up.sh)"
  fi
  rm -f "$CONF"
fi
if [ "$purge" = 1 ]; then rm -rf "$DIR" && say "removed $DIR"; fi
exit 0
