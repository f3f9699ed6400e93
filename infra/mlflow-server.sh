#!/usr/bin/env bash
# The MLflow tracking server (runs, registry, artifacts) on a PostgreSQL backend store.
#
#   infra/mlflow-server.sh run          # foreground (for systemd, a terminal, docker)
#   infra/mlflow-server.sh start        # background; waits until /health answers
#   infra/mlflow-server.sh stop         # stops what `start` started
#
# Environment (defaults):
#   MLFLOW_BACKEND_STORE_URI   $(infra/postgres.sh uri), i.e.
#                              postgresql+psycopg2://mlflow:mlflow@127.0.0.1:5432/mlflow
#   MLFLOW_ARTIFACTS_DESTINATION ./mlartifacts  (the server stores artifacts here and
#                              proxies them: clients need no access to the folder)
#   MLFLOW_HOST=127.0.0.1 MLFLOW_PORT=5000  (loopback: put a proxy with auth in front
#                              before binding anything else)
#   MLFLOW_STATE_DIR=./.mlflow-server  (pid file and server.log of `start`)
#   MLFLOW=mlflow              (the CLI; e.g. .venv/bin/mlflow)
# Clients: MLFLOW_TRACKING_URI=http://$MLFLOW_HOST:$MLFLOW_PORT vreid ...
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
MLFLOW=${MLFLOW:-mlflow}
MLFLOW_HOST=${MLFLOW_HOST:-127.0.0.1}
MLFLOW_PORT=${MLFLOW_PORT:-5000}
MLFLOW_BACKEND_STORE_URI=${MLFLOW_BACKEND_STORE_URI:-$("$HERE/postgres.sh" uri)}
MLFLOW_ARTIFACTS_DESTINATION=${MLFLOW_ARTIFACTS_DESTINATION:-$PWD/mlartifacts}
MLFLOW_STATE_DIR=${MLFLOW_STATE_DIR:-$PWD/.mlflow-server}
PID_FILE=$MLFLOW_STATE_DIR/server.pid
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=1
# The server's job runner (GenAI judges, prompt optimisation) forks ~8 workers that vreid
# never uses; off unless asked for.
export MLFLOW_SERVER_ENABLE_JOB_EXECUTION=${MLFLOW_SERVER_ENABLE_JOB_EXECUTION:-false}

die() { echo "mlflow-server.sh: $*" >&2; exit 1; }

SERVER=("$MLFLOW" server --host "$MLFLOW_HOST" --port "$MLFLOW_PORT" --workers 1
        --backend-store-uri "$MLFLOW_BACKEND_STORE_URI"
        --serve-artifacts --artifacts-destination "$MLFLOW_ARTIFACTS_DESTINATION")

healthy() {
    curl -sf -o /dev/null "http://$MLFLOW_HOST:$MLFLOW_PORT/health"
}

case "${1:-}" in
    run)
        mkdir -p "$MLFLOW_ARTIFACTS_DESTINATION"
        exec "${SERVER[@]}"
        ;;
    start)
        mkdir -p "$MLFLOW_ARTIFACTS_DESTINATION" "$MLFLOW_STATE_DIR"
        if [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
            die "already running (pid $(cat "$PID_FILE"), $PID_FILE)"
        fi
        # Its own session, so `stop` ends the server and the workers it forks together.
        setsid "${SERVER[@]}" >"$MLFLOW_STATE_DIR/server.log" 2>&1 </dev/null &
        pid=$!
        # setsid makes the server a process-group leader (pgid == pid): `stop` signals
        # that group. Record it only once that is so, never the caller's group.
        for _ in $(seq 1 50); do
            [ "$(ps -o pgid= "$pid" | tr -d ' ')" = "$pid" ] && break
            sleep 0.1
        done
        [ "$(ps -o pgid= "$pid" | tr -d ' ')" = "$pid" ] \
            || die "server did not start in its own process group; see $MLFLOW_STATE_DIR/server.log"
        echo "$pid" >"$PID_FILE"
        for _ in $(seq 1 "${MLFLOW_START_TIMEOUT:-120}"); do
            if healthy; then
                echo "MLflow server on http://$MLFLOW_HOST:$MLFLOW_PORT (pid $(cat "$PID_FILE"))"
                exit 0
            fi
            kill -0 "$pid" 2>/dev/null || {
                rm -f "$PID_FILE"; die "exited at start; see $MLFLOW_STATE_DIR/server.log"; }
            sleep 1
        done
        "$0" stop >/dev/null  # leave nothing behind
        die "no /health answer in ${MLFLOW_START_TIMEOUT:-120} s; see $MLFLOW_STATE_DIR/server.log"
        ;;
    stop)
        [ -f "$PID_FILE" ] || { echo "MLflow server not running (no $PID_FILE)"; exit 0; }
        pid=$(cat "$PID_FILE")
        [ "$pid" != "$(ps -o pgid= $$ | tr -d ' ')" ] || die "$PID_FILE names this shell's group"
        kill -TERM -- "-$pid" 2>/dev/null || true  # the whole process group
        for _ in $(seq 1 20); do
            kill -0 -- "-$pid" 2>/dev/null || break
            sleep 0.5
        done
        kill -KILL -- "-$pid" 2>/dev/null || true
        rm -f "$PID_FILE"
        echo "MLflow server stopped"
        ;;
    *) die "usage: $0 run|start|stop" ;;
esac
