#!/usr/bin/env bash
# A Ray head on one host, bound to loopback by default, for `vreid tune --address`.
#
#   infra/ray-head.sh start    # prints the address once the head answers
#   infra/ray-head.sh status
#   infra/ray-head.sh stop     # stops only the head this script started (by its process group)
#
# Settings (environment):
#   RAY_HEAD_HOST    address to bind (default 127.0.0.1; a LAN address lets workers join)
#   RAY_HEAD_PORT    GCS port workers and drivers connect to (default 6379)
#   RAY_CLIENT_PORT  also serve Ray Client on this port, for ray://host:port drivers
#                    (needs the ray[client] extra; default: off, drivers use host:port)
#   RAY_HEAD_CPUS    CPUs the head offers to tasks (default: all)
#   RAY_HEAD_DIR     pid file and log (default .infra/ray-head)
#   RAY_TEMP_DIR     Ray's session folder (default /tmp/ray; keep it short: socket paths)
#   RAY_BIN          the `ray` executable (default: ray on PATH)
#   RAY_START_TIMEOUT  seconds to wait for the head to answer (default 90)
#   RAY_STOP_GRACE   seconds Ray may drain on SIGTERM before it is killed (default 15)
# Workers on other hosts join with: ray start --address=<host>:<port> (same token, below).
#
# Loopback: on Linux Ray replaces 127.0.0.1 with the host's routable address and listens on
# every interface; RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 (set here for a loopback host) keeps
# the node, and the GCS port, on 127.0.0.1. Drivers on this host need the same variable
# (`vreid tune --address 127.0.0.1:PORT` sets it itself).
# Auth: token mode (RAY_AUTH_MODE=token); the token is ~/.ray/auth_token (created if absent),
# which drivers and joining workers need too.
set -euo pipefail

HOST=${RAY_HEAD_HOST:-127.0.0.1}
PORT=${RAY_HEAD_PORT:-6379}
DIR=${RAY_HEAD_DIR:-.infra/ray-head}
TEMP=${RAY_TEMP_DIR:-/tmp/ray}
RAY=${RAY_BIN:-ray}
TIMEOUT=${RAY_START_TIMEOUT:-90}
PIDFILE="$DIR/ray-head.pid"
GRACE=${RAY_STOP_GRACE:-15}
export RAY_USAGE_STATS_ENABLED=0 DO_NOT_TRACK=1 MLFLOW_DISABLE_TELEMETRY=true
export RAY_AUTH_MODE=${RAY_AUTH_MODE:-token}
case "$HOST" in
  127.*|localhost|::1) export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 ;;
esac

running() { [[ -f $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

answers() { "$RAY" status --address "$HOST:$PORT" >/dev/null 2>&1; }

start() {
  if running; then echo "ray head already running (pid $(cat "$PIDFILE"))"; return 0; fi
  mkdir -p "$DIR" "$TEMP"
  if [[ $RAY_AUTH_MODE == token && -z ${RAY_AUTH_TOKEN:-} && -z ${RAY_AUTH_TOKEN_PATH:-} ]]; then
    "$RAY" get-auth-token --generate >/dev/null
  fi
  local extra=()
  [[ -n ${RAY_HEAD_CPUS:-} ]] && extra+=(--num-cpus "$RAY_HEAD_CPUS")
  [[ -n ${RAY_CLIENT_PORT:-} ]] && extra+=(--ray-client-server-port "$RAY_CLIENT_PORT")
  # --block keeps `ray start` in the foreground as the parent of the head's processes;
  # setsid gives them one process group, which `stop` ends (never `ray stop`, which would
  # stop every Ray instance of this user on the host).
  setsid "$RAY" start --head --block --node-ip-address="$HOST" --port="$PORT" \
    --include-dashboard=false --disable-usage-stats --temp-dir="$TEMP" ${extra[@]+"${extra[@]}"} \
    >"$DIR/ray-head.log" 2>&1 &
  echo $! >"$PIDFILE"
  local waited=0
  until answers; do
    if ! running; then
      echo "ray head exited; see $DIR/ray-head.log:" >&2; tail -20 "$DIR/ray-head.log" >&2
      rm -f "$PIDFILE"; return 1
    fi
    if (( waited >= TIMEOUT )); then
      echo "ray head did not answer on $HOST:$PORT within ${TIMEOUT}s" >&2; stop; return 1
    fi
    sleep 1; waited=$((waited + 1))
  done
  echo "ray head at $HOST:$PORT, pid $(cat "$PIDFILE")"
}

stop() {
  [[ -f $PIDFILE ]] || { echo "no ray head started from $DIR"; return 0; }
  local pid; pid=$(cat "$PIDFILE")
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 1 $((GRACE * 2))); do
    kill -0 -- "-$pid" 2>/dev/null || break
    sleep 0.5
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  for _ in $(seq 1 20); do  # killed processes leave once reaped
    kill -0 -- "-$pid" 2>/dev/null || break
    sleep 0.5
  done
  rm -f "$PIDFILE"
  echo "ray head stopped (process group $pid)"
}

status() {
  if running && answers; then echo "running at $HOST:$PORT (pid $(cat "$PIDFILE"))"
  else echo "not running"; return 1; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
