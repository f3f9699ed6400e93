#!/usr/bin/env bash
# Prefect server (API + UI) on one host, without Docker.
#
#   infra/prefect-server.sh [STATE_DIR]        # default STATE_DIR: .infra/prefect
#   export PREFECT_API_URL=http://127.0.0.1:4200/api
#
# Binds to 127.0.0.1 unless PREFECT_SERVER_HOST says otherwise (0.0.0.0 to serve a team:
# put it behind a firewall or a reverse proxy, Prefect's API has no authentication).
# State (the SQLite database, logs) lives in STATE_DIR; set
# PREFECT_API_DATABASE_CONNECTION_URL=postgresql+asyncpg://... to use PostgreSQL instead.
# Runs in the foreground (exec): stop it with Ctrl-C or SIGTERM to this process.
set -euo pipefail

state_dir=${1:-${PREFECT_STATE_DIR:-.infra/prefect}}
host=${PREFECT_SERVER_HOST:-127.0.0.1}
port=${PREFECT_SERVER_PORT:-4200}
prefect=${PREFECT_BIN:-prefect}

mkdir -p "$state_dir"
PREFECT_HOME=$(cd "$state_dir" && pwd)
export PREFECT_HOME
export PREFECT_API_DATABASE_CONNECTION_URL=${PREFECT_API_DATABASE_CONNECTION_URL:-sqlite+aiosqlite:///$PREFECT_HOME/prefect.db}
# Telemetry off (the project's rule for every tool).
export PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1
# The UI calls the API at this address.
export PREFECT_UI_API_URL=${PREFECT_UI_API_URL:-http://$host:$port/api}

echo "prefect server on http://$host:$port (state in $PREFECT_HOME)" >&2
exec "$prefect" server start --host "$host" --port "$port"
