#!/usr/bin/env bash
# Runs a benchmark command and writes its output to a docs/perf file, headed by the command, the
# date, the commit, the machine and its load, so that every figure in the README names its source.
# usage: bench/record.sh OUTPUT_FILE "NOTE ON THE MACHINE" COMMAND [ARGS...]
set -euo pipefail
out=$1
note=$2
shift 2
mkdir -p "$(dirname "$out")"
{
  echo "command: $*"
  echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "commit:  $(git rev-parse --short HEAD 2> /dev/null || echo unknown)"
  echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(getconf _NPROCESSORS_ONLN) cores," \
    "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) before the run"
  echo "note:    $note"
  echo
} > "$out"
start=$(date +%s)
"$@" 2>&1 | tee -a "$out"
status=${PIPESTATUS[0]}
echo >> "$out"
echo "wall time: $(($(date +%s) - start)) s; load after: $(cut -d' ' -f1-3 /proc/loadavg); exit status $status" >> "$out"
exit "$status"
