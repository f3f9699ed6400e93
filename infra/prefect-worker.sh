#!/usr/bin/env bash
# A Prefect worker that runs flow runs of deployments in a work pool as local processes.
#
#   export PREFECT_API_URL=http://127.0.0.1:4200/api   # the server (infra/prefect-server.sh)
#   infra/prefect-worker.sh [POOL] [STATE_DIR]        # defaults: vreid, .infra/prefect-worker
#
# Start it from the folder the flows should work in (the vreid checkout: params.yaml,
# data/, models/). The pool is created (type `process`) if it does not exist. Deploy to it
# with `prefect deploy` (see infra/README.md); `vreid schedule` serves its own runner
# and needs no worker. Runs in the foreground (exec).
set -euo pipefail

pool=${1:-vreid}
state_dir=${2:-${PREFECT_WORKER_STATE_DIR:-.infra/prefect-worker}}
prefect=${PREFECT_BIN:-prefect}
: "${PREFECT_API_URL:=http://127.0.0.1:4200/api}"
export PREFECT_API_URL

mkdir -p "$state_dir"
PREFECT_HOME=$(cd "$state_dir" && pwd)
export PREFECT_HOME
export PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1 MLFLOW_DISABLE_TELEMETRY=true \
  DVC_NO_ANALYTICS=1 RAY_USAGE_STATS_ENABLED=0 GX_ANALYTICS_ENABLED=false

echo "prefect worker for pool '$pool' against $PREFECT_API_URL (state in $PREFECT_HOME)" >&2
exec "$prefect" worker start --pool "$pool" --type process
