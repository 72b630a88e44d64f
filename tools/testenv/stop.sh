#!/usr/bin/env bash
# Stops the test API server of state directory $1 (default build/testenv): SIGTERM, then SIGKILL
# if it has not exited after TESTENV_STOP_TIMEOUT seconds (default 30). No-op when none runs.
set -euo pipefail
dir="$(realpath -m "${1:-build/testenv}")"
[[ -f $dir/pid ]] || { echo "testenv: not running (no $dir/pid)"; exit 0; }
pid="$(cat "$dir/pid")"
# Only ever signal our own server: the pid may have been reused since.
if ! kill -0 "$pid" 2>/dev/null || ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "testenv serve"; then
  echo "testenv: not running (pid $pid is gone)"
  rm -f "$dir/pid" "$dir/server"
  exit 0
fi
kill -TERM "$pid"
deadline=$((SECONDS + ${TESTENV_STOP_TIMEOUT:-30}))
while kill -0 "$pid" 2>/dev/null; do
  if ((SECONDS >= deadline)); then
    echo "testenv: pid $pid ignored SIGTERM; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
    break
  fi
  sleep 0.2
done
rm -f "$dir/pid" "$dir/server"
echo "testenv: stopped (pid $pid)"
