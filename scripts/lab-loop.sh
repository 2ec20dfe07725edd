#!/bin/sh
# Runs `bin/tswarm lab up` / `lab down` N times, each with a fresh lab name, and counts failures:
# the soak test for a rare failure to form the swarm. A failed `lab up` keeps its daemons' logs
# (it prints where: /tmp/tswarm-lab-failed-NAME-TIME/); this loop also keeps each failed run's
# output there, and lists the kept directories at the end.
#   scripts/lab-loop.sh [N] [-- extra `lab up` flags]     e.g. scripts/lab-loop.sh 50 -- --workers 1
# Set LAB_LOOP_BUSY=K to keep K CPU-burning loops running meanwhile (the issue's "busy machine").
# Exits 1 if any run failed. Needs root and a build (`npm run build`).
set -u
cd "$(dirname "$0")/.."
n=${1:-50}
[ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
out=$(mktemp -d /tmp/tswarm-lab-loop-XXXXXX)
busy_pids=""
for _ in $(seq 1 "${LAB_LOOP_BUSY:-0}"); do
  sh -c 'while :; do :; done' &
  busy_pids="$busy_pids $!"
done
cleanup() { for p in $busy_pids; do kill "$p" 2>/dev/null; done; }
trap cleanup EXIT
# A signal stops the loop (after the lab up or down in flight, which tears itself down on SIGINT).
trap 'exit 130' INT TERM
fails=0
i=1
while [ "$i" -le "$n" ]; do
  name="loop$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
  start=$(date +%s)
  if bin/tswarm lab up --name "$name" >"$out/$name.up" 2>&1; then
    result=ok
  else
    result=FAILED
    fails=$((fails + 1))
    kept=$(sed -n 's/.*were kept in \(\/[^ ]*\).*/\1/p' "$out/$name.up" | head -n 1)
    [ -n "$kept" ] && cp "$out/$name.up" "$kept/lab-up-output.txt"
    echo "  $name: $(head -n 1 "$out/$name.up")"
    echo "  logs: ${kept:-(none kept)}; output: $out/$name.up"
  fi
  # A failed lab up already removed its lab; down is then a no-op error, which is fine.
  bin/tswarm lab down --name "$name" >"$out/$name.down" 2>&1 || [ "$result" = FAILED ] ||
    echo "  $name: lab down failed: $(cat "$out/$name.down")"
  echo "run $i/$n $name $result in $(($(date +%s) - start)) s (failures so far: $fails)"
  i=$((i + 1))
done
echo "$n runs, $fails failed; outputs in $out"
[ "$fails" -eq 0 ]
