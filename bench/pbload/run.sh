#!/bin/bash
# run.sh ROUND: one round of the README's comparison of Roster with PocketBase
# ("How to rerun"): the three reads (Roster, PocketBase, the bare Echo), then
# sign-ins 10 at once on each server, then waves of 50 on each, the order in
# each group turning from round to round. It prints one line a run:
#
#   round R | NAME | pbload's line | server cpu S.SSs | load1 BEFORE -> AFTER
#
# Run it in the folder that holds r.tok and p.tok (pbload token's lines for
# Roster and PocketBase) and roster.pid, pb.pid and bare.pid (the servers'
# process ids); failed requests go to errors.log there. The environment may
# change: PBLOAD, the load program (./pbload); ROSTER_BASE, PB_BASE and
# BARE_URL (the ports of "How to rerun"); READS (30000 GETs a read), SIGNINS
# (300 sign-ins a run) and WAVES (3 waves a run).
set -u

if [[ $# -ne 1 || ! $1 =~ ^[0-9]+$ ]]; then
  echo "usage: run.sh ROUND   (a number; the order of the runs turns with it)" >&2
  exit 2
fi
round=$1
pbload=${PBLOAD:-./pbload}
roster_base=${ROSTER_BASE:-http://127.0.0.1:8091}
pb_base=${PB_BASE:-http://127.0.0.1:8090}
bare_url=${BARE_URL:-http://127.0.0.1:8092/me}
reads=${READS:-30000} signins=${SIGNINS:-300} waves=${WAVES:-3}

IFS=$'\t' read -r roster_url roster_header < r.tok
IFS=$'\t' read -r pb_url pb_header < p.tok

# tree lists the stat files of process $1 and of all its descendants.
tree() {
  echo "/proc/$1/stat"
  for child in $(pgrep -P "$1"); do tree "$child"; done
}

# cpu is the CPU seconds so far of the server whose process id is in $1.pid:
# user and system time of its whole tree, with the children each has reaped.
# That counts Roster's password hash worker (a child at nice 10), and Roster
# itself when the pid is that of `go run`.
cpu() {
  cat $(tree "$(cat "$1.pid")") 2>/dev/null |
    awk -v hz="$(getconf CLK_TCK)" '{ s += $14 + $15 + $16 + $17 } END { print s / hz }'
}

# measure NAME SERVER ARGS... runs pbload ARGS and prints its line with the
# CPU that SERVER spent meanwhile and the load average before and after.
measure() {
  local name=$1 server=$2
  shift 2
  local cpu0 cpu1 load0 load1 out
  cpu0=$(cpu "$server")
  load0=$(cut -d' ' -f1 /proc/loadavg)
  out=$("$pbload" "$@" 2>>errors.log)
  cpu1=$(cpu "$server")
  load1=$(cut -d' ' -f1 /proc/loadavg)
  echo "round $round | $name | $out | server cpu $(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { print b - a }')s | load1 $load0 -> $load1"
}

base() {
  if [[ $1 == roster ]]; then echo "$roster_base"; else echo "$pb_base"; fi
}

# The reads, starting with Roster in rounds 1, 4, 7..., PocketBase in 2, 5...
order=(roster pb bare)
for k in 0 1 2; do
  case ${order[$(((k + round - 1) % 3))]} in
  roster) measure read-roster roster read "$roster_url" "$roster_header" "$reads" ;;
  pb) measure read-pb pb read "$pb_url" "$pb_header" "$reads" ;;
  bare) measure read-bare bare read "$bare_url" "Accept: */*" "$reads" ;;
  esac
done

# Sign-ins with Roster first in odd rounds; the waves the other way round.
if ((round % 2)); then first=roster second=pb; else first=pb second=roster; fi
for s in $first $second; do
  measure "signin10-$s" "$s" signin "$s" "$(base "$s")" 10 "$signins"
done
for s in $second $first; do
  measure "waves50-$s" "$s" waves "$s" "$(base "$s")" 50 "$waves"
done
