#!/usr/bin/env bash
# Install and start a single-node SLURM (munge, slurmctld, slurmd) on this machine, as root,
# for tests/test_slurm.py. Debian/Ubuntu packages; no accounting database (no slurmdbd), so
# status checks use squeue. Exits non-zero when SLURM cannot be started; the tests then skip
# with the reason. Safe to run again: a SLURM that already answers is left as it is.
set -euo pipefail

log() { echo "slurm.sh: $*" >&2; }

if command -v scontrol >/dev/null 2>&1 && scontrol ping 2>/dev/null | grep -q UP \
    && sinfo -h -o %t 2>/dev/null | grep -Eq 'idle|mix|alloc'; then
    log "SLURM is already up: $(sinfo -h -o '%P %t %N' | tr '\n' ' ')"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    log "not root: cannot install or start SLURM"
    exit 1
fi
if ! command -v slurmctld >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
    if ! command -v apt-get >/dev/null 2>&1; then
        log "no apt-get: install slurm-wlm and munge by hand"
        exit 1
    fi
    for attempt in 1 2 3; do
        if apt-get update -q >/dev/null \
            && DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >/dev/null
        then
            break
        fi
        log "installing slurm-wlm and munge failed (attempt $attempt)"
        [ "$attempt" = 3 ] && exit 1
        sleep 10
    done
fi

# munge: the package makes /etc/munge/munge.key; the daemon needs its run directory
mkdir -p /run/munge
chown munge:munge /run/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    if [ ! -s /etc/munge/munge.key ]; then
        if command -v mungekey >/dev/null 2>&1; then
            mungekey --create --force
        else
            dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
        fi
        chown munge:munge /etc/munge/munge.key
        chmod 400 /etc/munge/munge.key
    fi
    /usr/sbin/munged --force
    for _ in $(seq 20); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.5; done
fi
munge -n | unmunge >/dev/null

# slurm.conf: this machine as the only node, with the CPUs and memory slurmd finds
host="$(hostname -s)"
node="$(/usr/sbin/slurmd -C | head -n 1)"
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat >/etc/slurm/slurm.conf <<EOF
ClusterName=local
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=300
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
$node State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF

scontrol ping 2>/dev/null | grep -q UP || /usr/sbin/slurmctld
for _ in $(seq 30); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 1; done
/usr/sbin/slurmd 2>/dev/null || true  # already running: it says so and exits
for _ in $(seq 60); do
    state="$(sinfo -h -o %t 2>/dev/null || true)"
    case "$state" in
        idle* | mix* | alloc*)
            log "SLURM is up: $(sinfo -h -o '%P %t %N' | tr '\n' ' ')"
            exit 0
            ;;
        down* | drain* | drng*) scontrol update NodeName="$host" State=RESUME 2>/dev/null || true ;;
    esac
    sleep 1
done
log "SLURM did not come up (sinfo: ${state:-nothing}); see /var/log/slurm/"
exit 1
