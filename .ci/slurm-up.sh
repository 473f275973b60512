#!/usr/bin/env bash
# slurm-up.sh: start a single-node SLURM cluster on this machine, for CI.
#
#   bash .ci/slurm-up.sh            # as root, on Debian 12 (SLURM 22.05), no systemd needed
#   bash .ci/slurm-down.sh          # stops the daemons this script started
#
# What it does: installs slurmctld, slurmd, slurm-client and munge with apt if
# they are missing, starts munged, writes a slurm.conf for one node (this host),
# starts slurmctld and slurmd in the background, and checks that srun and sbatch
# (with a job step) work. No accounting database: squeue is the only way to ask
# for job states (see ci_profile in tests/test_slurm.py).
#
# The configuration lives in $SLURM_CI_DIR/etc/slurm.conf; /etc/slurm/slurm.conf,
# where every SLURM tool looks (jobs too: Snakemake's job-step plugin drops
# SLURM_CONF from their environment), is only a symbolic link to it, which
# slurm-down.sh removes with the last daemon. A configuration left behind would
# point every later SLURM tool at a controller that is gone, and every later
# `snakemake` call on this machine would wait ~10 s for it (the SLURM executor
# plugin runs `scontrol show config` at start-up); a dangling link fails at once.
# An /etc/slurm/slurm.conf that this script did not make is never touched.
#
# A daemon this script starts gets a pid file $SLURM_CI_DIR/run/<name>.pid; a
# daemon already running is left alone and gets none, so slurm-down.sh never
# stops what somebody else started. Running it again is harmless.
#
# Environment: SLURM_CI_DIR (state, logs, pid files; default /tmp/padpos-slurm),
# SLURM_CI_PARTITION (default "debug"), SLURM_CI_MEM_PER_CPU (MB given to a job
# that asks for no memory; default 1024).
set -euo pipefail

DIR=${SLURM_CI_DIR:-/tmp/padpos-slurm}
PARTITION=${SLURM_CI_PARTITION:-debug}
MEM_PER_CPU=${SLURM_CI_MEM_PER_CPU:-1024}
CONF=$DIR/etc/slurm.conf      # the file; LINK, where every SLURM tool looks, points to it
LINK=/etc/slurm/slurm.conf
HEADER="# Written by padpos .ci/slurm-up.sh"
PACKAGES=(slurmctld slurmd slurm-client munge)

say() { echo "[slurm-up] $*"; }
die() { echo "[slurm-up] ERROR: $*" >&2; exit 1; }

# retry SECONDS CMD...: run CMD once a second until it succeeds; the last try shows its output
retry() {
  local seconds=$1; shift
  for _ in $(seq "$seconds"); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  "$@"
}

# running NAME: true if run/NAME.pid names a live process called NAME
running() {
  local pidfile="$DIR/run/$1.pid"
  [ -s "$pidfile" ] && [ "$(cat "/proc/$(cat "$pidfile")/comm" 2>/dev/null)" = "$1" ]
}

# start NAME CMD...: start CMD in the background (it must not fork) and record its pid
start() {
  local name=$1; shift
  say "starting $name"
  nohup "$@" > "$DIR/log/$name.out" 2>&1 < /dev/null &
  echo $! > "$DIR/run/$name.pid"
}

install_packages() {
  dpkg -s "${PACKAGES[@]}" >/dev/null 2>&1 && return 0
  command -v apt-get >/dev/null || die "SLURM packages missing and no apt-get to install them"
  say "installing ${PACKAGES[*]} (apt)"
  # Without systemd, the packages' postinst would try to start the daemons through
  # their SysV scripts; a policy-rc.d that answers 101 forbids that. Keep an existing one.
  local own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    own_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}"
  if [ "$own_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
}

start_munge() {
  if [ ! -s /etc/munge/munge.key ]; then
    say "creating the munge key"
    mungekey --create --keyfile=/etc/munge/munge.key --force
  fi
  chown munge:munge /etc/munge/munge.key
  chmod 0400 /etc/munge/munge.key
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    say "munged is already running"
    return 0
  fi
  # setpriv execs munged in the foreground (-F), so the recorded pid is munged's own
  start munged setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged -F
  retry 15 sh -c 'munge -n | unmunge' || die "munged did not start; see $DIR/log/munged.out"
}

write_slurm_conf() {
  local host node mem
  host=$(hostname -s)
  getent hosts "$host" >/dev/null || echo "127.0.0.1 $host" >> /etc/hosts
  # slurmd -C prints this node's line: "NodeName=<host> CPUs=.. ... RealMemory=N"
  node=$(slurmd -C | head -1)
  mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<< "$node")
  node=$(sed 's/ *RealMemory=[0-9]*//' <<< "$node")
  mkdir -p "$(dirname "$CONF")"
  cat > "$CONF.tmp" <<EOF
$HEADER: one node, no accounting, no cgroups.
ClusterName=padpos-ci
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$DIR/state/slurmctld
SlurmdSpoolDir=$DIR/state/slurmd
# the daemons' own pid files; run/*.pid are this script's records
SlurmctldPidFile=$DIR/state/slurmctld.pid
SlurmdPidFile=$DIR/state/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
# cgroup plugins need systemd/dbus, which CI containers lack
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
# finished jobs stay visible to squeue for an hour: Snakemake's squeue status check and
# test_slurm's state check after the whole study need them (10 min was too short on a slow run)
MinJobAge=3600
# without a default, a job gets the whole node's memory and jobs run one at a time
DefMemPerCPU=$MEM_PER_CPU
$node RealMemory=$((mem * 90 / 100)) State=UNKNOWN
PartitionName=$PARTITION Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  mv "$CONF.tmp" "$CONF"
  link_conf
}

# link_conf: make LINK a symbolic link to CONF; refuse to replace a configuration that
# is not ours (a real SLURM installation), but replace the plain file that an older
# version of this script wrote there (it has our header)
link_conf() {
  mkdir -p "$(dirname "$LINK")"
  if [ -e "$LINK" ] && [ ! -L "$LINK" ] && ! head -1 "$LINK" | grep -q "^$HEADER"; then
    die "$LINK exists and was not written by this script: this machine has its own SLURM"
  fi
  ln -sfn "$CONF" "$LINK.tmp" && mv -T "$LINK.tmp" "$LINK"
}

node_ready() {
  sinfo -h -n "$(hostname -s)" -o %T | grep -Eq '^(idle|mixed|allocated)'
}

start_slurm() {
  if running slurmctld; then
    say "slurmctld is already running; re-reading $CONF"
    scontrol reconfigure || true
  else
    start slurmctld /usr/sbin/slurmctld -D -i
  fi
  retry 30 sh -c 'scontrol ping | grep -q UP' || die "slurmctld did not come up; see $DIR/log/slurmctld.log"
  if running slurmd; then
    say "slurmd is already running"
  else
    start slurmd /usr/sbin/slurmd -D
  fi
  if ! retry 30 node_ready; then
    # a node that was down in an earlier run stays down until resumed
    scontrol update NodeName="$(hostname -s)" State=RESUME || true
    retry 15 node_ready || die "node not ready; see $DIR/log/slurmd.log"
  fi
}

check_jobs() {
  say "checking srun and sbatch"
  sinfo
  [ "$(srun -t 1 hostname)" = "$(hostname)" ] || die "srun hostname failed"
  local out="$DIR/check/sbatch.out"
  rm -f "$out"
  sbatch --wait -t 1 -o "$out" --wrap 'srun -t 1 echo step-ok' >/dev/null || die "sbatch --wait failed"
  grep -q step-ok "$out" || die "sbatch job step failed: $(cat "$out" 2>/dev/null)"
}

[ "$(id -u)" = 0 ] || die "must run as root (it installs packages and starts daemons)"
mkdir -p "$DIR/run" "$DIR/log" "$DIR/state/slurmctld" "$DIR/state/slurmd" "$DIR/check" "$DIR/etc"
install_packages
start_munge
write_slurm_conf
start_slurm
check_jobs
say "SLURM is up: partition '$PARTITION', logs in $DIR/log"
