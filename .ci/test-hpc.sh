#!/usr/bin/env bash
# make test-hpc: run seqsal's workflow on a real single-node SLURM cluster started here.
#
#   1. install Debian's slurm-wlm and munge (apt-get);
#   2. start munged (as user munge), slurmctld and slurmd (as root) on a private slurm.conf
#      (DESIGN.md section 5: linuxproc/none/cons_tres, no accounting, nproc CPUs);
#   3. run the demo workflow with `seqsal run --profile slurm` (the executor
#      plugin submits every job with sbatch) while a poller records squeue;
#   4. run the same config and seeds locally and compare motifs.tsv and seqlets.bed;
#   5. stop the daemons it started, by pid (trap on exit).
#
# Environment: VENV (default .venv, built by `make dev`), WORK (default: a new /tmp folder),
# CONFIG (default: the packaged demo config on data/demo). Needs root (or sudo) for apt-get
# and the daemons.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${VENV:-$ROOT/.venv}
VENV=$(cd "$VENV" && pwd)
SEQSAL="$VENV/bin/seqsal"
WORK=${WORK:-$(mktemp -d /tmp/seqsal-hpc.XXXXXX)}
NPROC=$(nproc)
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

began=$(date +%s)
stamp() { echo "[test-hpc $(($(date +%s) - began))s] $*"; }
PIDS=()
cleanup() {
    local status=$?
    # Stop what this script started, newest first, by pid.
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        $SUDO kill "${PIDS[i]}" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    done
    if [ -e "$WORK/etc/slurm.conf.before" ]; then
        $SUDO cp -p "$WORK/etc/slurm.conf.before" /etc/slurm/slurm.conf
    elif [ -e "$WORK/etc/slurm.conf" ]; then
        $SUDO rm -f /etc/slurm/slurm.conf
    fi
    stamp "daemons stopped; work folder $WORK; exit $status"
    exit "$status"
}
trap cleanup EXIT

# 1. Packages -----------------------------------------------------------------------------
stamp "installing slurm-wlm and munge"
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null

# 2. Cluster ------------------------------------------------------------------------------
mkdir -p "$WORK"/{etc,state,spool,log}
HOST=$(hostname -s)
MEM_MB=$(awk '/MemTotal/ {printf "%d", $2 / 1024 * 0.9}' /proc/meminfo)
cat >"$WORK/etc/slurm.conf" <<EOF
ClusterName=seqsal-ci
SlurmctldHost=$HOST
AuthType=auth/munge
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/log/slurmctld.log
SlurmdLogFile=$WORK/log/slurmd.log
NodeName=$HOST CPUs=$NPROC RealMemory=$MEM_MB State=UNKNOWN
PartitionName=ci Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
# Jobs run `srun` inside their batch script, which reads the default path (SLURM_CONF is not
# passed into the job): the config goes to /etc/slurm, and any file there is put back on exit.
$SUDO mkdir -p /etc/slurm
if [ -e /etc/slurm/slurm.conf ]; then
    $SUDO cp -p /etc/slurm/slurm.conf "$WORK/etc/slurm.conf.before"
fi
$SUDO cp "$WORK/etc/slurm.conf" /etc/slurm/slurm.conf
export SLURM_CONF=/etc/slurm/slurm.conf

stamp "starting munged, slurmctld, slurmd ($NPROC CPUs, $MEM_MB MB)"
$SUDO install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge /etc/munge
$SUDO install -d -o munge -g munge -m 0755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then
    $SUDO dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
$SUDO chown munge:munge /etc/munge/munge.key
$SUDO chmod 0400 /etc/munge/munge.key
# setpriv execs munged as user munge, so $! is munged's own pid.
$SUDO setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged --foreground \
    >"$WORK/log/munged.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do munge -n >/dev/null 2>&1 && break; sleep 0.2; done
munge -n | unmunge >/dev/null

$SUDO env SLURM_CONF="$SLURM_CONF" /usr/sbin/slurmctld -D -i -f "$SLURM_CONF" >"$WORK/log/slurmctld.out" 2>&1 &
PIDS+=($!)
$SUDO env SLURM_CONF="$SLURM_CONF" /usr/sbin/slurmd -D -f "$SLURM_CONF" >"$WORK/log/slurmd.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
    state=$(sinfo -h -N -o "%T" 2>/dev/null | head -1 || true)
    [ "$state" = "idle" ] && break
    sleep 0.3
done
sinfo -N -l
[ "$(sinfo -h -N -o '%T' | head -1)" = "idle" ] || { echo "node did not come up"; cat "$WORK"/log/*; exit 1; }
stamp "cluster up: $(sbatch --wait --wrap 'echo hello from $SLURM_JOB_ID' -o "$WORK/hello.out" >/dev/null && cat "$WORK/hello.out")"

# 3. Config: the demo (data/demo, docs/workflow.md) ------------------------------------------
CONFIG=${CONFIG:-$ROOT/workflows/config/demo.yaml}
SAMPLE=$("$VENV/bin/python" -c "import sys, yaml; print(yaml.safe_load(open(sys.argv[1])).get('sample', 'demo'))" "$CONFIG")

# 4. SLURM run, with squeue polled in the background ---------------------------------------
(while true; do squeue -h -o "%i %j %T" 2>/dev/null | sed "s/^/$(date +%s) /"; sleep 1; done) \
    >"$WORK/squeue.log" &
POLLER=$!
PIDS+=($POLLER)
stamp "workflow through SLURM"
t0=$(date +%s)
timeout 2400 "$SEQSAL" run --config "$CONFIG" --profile slurm --directory "$WORK/slurm" \
    -- --max-threads "$NPROC" --jobs 4 --slurm-keep-successful-logs \
    >"$WORK/slurm-run.log" 2>&1 || { tail -50 "$WORK/slurm-run.log"; exit 1; }
t_slurm=$(($(date +%s) - t0))
kill "$POLLER"
stamp "SLURM run: ${t_slurm}s"

# 5. The same locally ---------------------------------------------------------------------
stamp "the same workflow locally"
t0=$(date +%s)
timeout 2400 "$SEQSAL" run --config "$CONFIG" --directory "$WORK/local" --cores "$NPROC" \
    >"$WORK/local-run.log" 2>&1 || { tail -50 "$WORK/local-run.log"; exit 1; }
t_local=$(($(date +%s) - t0))
stamp "local run: ${t_local}s"

# 6. Evidence and comparison --------------------------------------------------------------
fail=0
jobids=$(grep -oE "SLURM jobid [0-9]+|SLURM job ID [0-9]+" "$WORK/slurm/.snakemake/log/"*.log \
    | grep -oE "[0-9]+$" | sort -un || true)
n_jobids=$(echo "$jobids" | grep -c . || true)
n_logs=$(find "$WORK/slurm/.snakemake/slurm_logs" -name "*.log" 2>/dev/null | wc -l)
n_seen=$(awk '{print $2}' "$WORK/squeue.log" | sort -u | grep -c . || true)
echo "SLURM job ids in the plugin's log: $n_jobids ($(echo $jobids | tr '\n' ' '))"
echo "SLURM job log files: $n_logs; distinct jobs seen by the squeue poller: $n_seen"
[ "$n_jobids" -ge 5 ] || { echo "FAIL: too few SLURM job ids in the log"; fail=1; }
[ "$n_logs" -ge 5 ] || { echo "FAIL: too few SLURM job log files"; fail=1; }
[ "$n_seen" -ge 1 ] || { echo "FAIL: squeue never showed a job"; fail=1; }
for f in motifs/motifs.tsv seqlets.bed; do
    if cmp -s "$WORK/slurm/results/$SAMPLE/$f" "$WORK/local/results/$SAMPLE/$f"; then
        echo "identical: $f ($(($(wc -l <"$WORK/local/results/$SAMPLE/$f") - 1)) rows)"
    else
        echo "FAIL: $f differs between the SLURM and the local run"
        diff <(head -5 "$WORK/slurm/results/$SAMPLE/$f") <(head -5 "$WORK/local/results/$SAMPLE/$f") || true
        fail=1
    fi
done
[ "$(wc -l <"$WORK/local/results/$SAMPLE/seqlets.bed")" -gt 1 ] || { echo "FAIL: no seqlets called"; fail=1; }
[ -s "$WORK/slurm/results/$SAMPLE/report.html" ] || { echo "FAIL: no report from the SLURM run"; fail=1; }
stamp "timings: SLURM run ${t_slurm}s, local run ${t_local}s, total $(($(date +%s) - began))s"
exit "$fail"
