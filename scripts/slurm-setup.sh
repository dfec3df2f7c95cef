#!/usr/bin/env bash
# A one-node Slurm cluster on this machine (docs/CLUSTER.md, "Trying it on one machine"): Debian's slurm-wlm
# and munge, installed as root when missing, then munged, slurmctld and slurmd on localhost with their
# state under $SLURM_SCRATCH (default /tmp/influence-lens-slurm). Idempotent: daemons already answering
# are left running. `scripts/slurm-setup.sh stop` stops the daemons it started, by their pid files.
set -euo pipefail
SCRATCH="${SLURM_SCRATCH:-/tmp/influence-lens-slurm}"

stop() {
  for pid in "$SCRATCH/slurmd.pid" "$SCRATCH/slurmctld.pid" "$SCRATCH/munged.pid"; do
    [ -f "$pid" ] && kill "$(cat "$pid")" 2>/dev/null || true
    rm -f "$pid"
  done
}
if [ "${1:-}" = stop ]; then stop; exit 0; fi

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  apt-get update -qq
  # With its recommended packages, as first installed and run on these machines (the plugins slurm.conf names).
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi
mkdir -p "$SCRATCH/spool" "$SCRATCH/state" "$SCRATCH/log"
HOST="$(hostname)"
# cred_expire is also how long a requeued job waits before it may start again (default 120 s).
cat >"$SCRATCH/slurm.conf" <<EOF
ClusterName=influence-lens
SlurmctldHost=$HOST
AuthType=auth/munge
AuthInfo=cred_expire=10
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$SCRATCH/state
SlurmdSpoolDir=$SCRATCH/spool
SlurmctldPidFile=$SCRATCH/slurmctld.pid
SlurmdPidFile=$SCRATCH/slurmd.pid
SlurmctldLogFile=$SCRATCH/log/slurmctld.log
SlurmdLogFile=$SCRATCH/log/slurmd.log
ReturnToService=2
MpiDefault=none
SchedulerType=sched/backfill
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MinJobAge=600
NodeName=$HOST CPUs=$(nproc) RealMemory=20000 State=UNKNOWN
PartitionName=main Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
if cmp -s "$SCRATCH/slurm.conf" /etc/slurm/slurm.conf && sinfo -h -o %T 2>/dev/null | grep -Eq 'idle|mixed|alloc'; then exit 0; fi
# A new configuration: the daemons started here restart with it.
for pid in "$SCRATCH/slurmd.pid" "$SCRATCH/slurmctld.pid"; do
  if [ -f "$pid" ]; then kill "$(cat "$pid")" 2>/dev/null || true; fi
done
for _ in $(seq 1 50); do
  pgrep -x slurmd >/dev/null || pgrep -x slurmctld >/dev/null || break
  sleep 0.2
done
cp "$SCRATCH/slurm.conf" /etc/slurm/slurm.conf

[ -f /etc/munge/munge.key ] || mungekey -c
mkdir -p /var/log/munge /run/munge /var/lib/munge
chown -R munge:munge /var/log/munge /run/munge /etc/munge /var/lib/munge
if ! pgrep -x munged >/dev/null; then
  su -s /bin/sh munge -c /usr/sbin/munged
  pgrep -x -u munge munged >"$SCRATCH/munged.pid" # this munged's pid, for stop
fi
pgrep -x slurmctld >/dev/null || slurmctld
pgrep -x slurmd >/dev/null || slurmd
# The node registers within seconds; wait for it (bounded) so the first sbatch is not refused.
for _ in $(seq 1 60); do
  sinfo -h -o %T 2>/dev/null | grep -Eq 'idle|mixed|alloc' && exit 0
  scontrol update NodeName="$HOST" State=RESUME >/dev/null 2>&1 || true
  sleep 1
done
echo "slurm-setup: the node did not come up; see $SCRATCH/log" >&2
exit 1
