#!/usr/bin/env bash
# PostgreSQL 15 for the MLflow tracking server, without Docker, on loopback.
#
#   infra/postgres.sh start DATA_DIR   # initdb on first use, start, create the mlflow role + db
#   infra/postgres.sh stop DATA_DIR    # fast shutdown
#   infra/postgres.sh status DATA_DIR
#   infra/postgres.sh uri              # the SQLAlchemy URI for `mlflow server`
#
# Environment (defaults):
#   PG_BIN=/usr/lib/postgresql/15/bin  PG_HOST=127.0.0.1  PG_PORT=5432
#   PG_OS_USER=postgres   (initdb/postgres refuse root: as root, they run as this user)
#   MLFLOW_DB_NAME=mlflow MLFLOW_DB_USER=mlflow MLFLOW_DB_PASSWORD=mlflow
# DATA_DIR must be writable by PG_OS_USER (and its parents traversable); the server's
# log is DATA_DIR/postgres.log and its unix socket lives in DATA_DIR.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
PG_OS_USER=${PG_OS_USER:-postgres}
MLFLOW_DB_NAME=${MLFLOW_DB_NAME:-mlflow}
MLFLOW_DB_USER=${MLFLOW_DB_USER:-mlflow}
MLFLOW_DB_PASSWORD=${MLFLOW_DB_PASSWORD:-mlflow}

die() { echo "postgres.sh: $*" >&2; exit 1; }

as_pg() {  # run a PostgreSQL binary as the database's OS user
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$PG_OS_USER" -- "$@"
    else
        "$@"
    fi
}

need_dir() {
    [ -n "${1:-}" ] || die "give the data directory: $0 ${CMD} DATA_DIR"
    DATA_DIR=$(realpath -m "$1")
}

psql_pg() {  # as the superuser, over the unix socket in DATA_DIR
    as_pg "$PG_BIN/psql" -h "$DATA_DIR" -p "$PG_PORT" -U postgres -d postgres \
        -v ON_ERROR_STOP=1 -tAq "$@"
}

uri() {
    echo "postgresql+psycopg2://${MLFLOW_DB_USER}:${MLFLOW_DB_PASSWORD}@${PG_HOST}:${PG_PORT}/${MLFLOW_DB_NAME}"
}

start() {
    [ -x "$PG_BIN/initdb" ] || die "$PG_BIN/initdb not found (install postgresql-15 or set PG_BIN)"
    mkdir -p "$DATA_DIR"
    if [ "$(id -u)" -eq 0 ]; then
        chown "$PG_OS_USER" "$DATA_DIR"
    fi
    as_pg test -w "$DATA_DIR" \
        || die "$DATA_DIR: not writable by $PG_OS_USER (are its parent folders traversable?)"
    if [ ! -f "$DATA_DIR/PG_VERSION" ]; then
        [ -z "$(ls -A "$DATA_DIR")" ] || die "$DATA_DIR: not empty and not a PostgreSQL data dir"
        chmod 700 "$DATA_DIR"
        as_pg "$PG_BIN/initdb" -D "$DATA_DIR" -U postgres -E UTF8 --locale=C.UTF-8 \
            --auth-local=peer --auth-host=scram-sha-256 >"$DATA_DIR.initdb.log" 2>&1 \
            || die "initdb failed; see $DATA_DIR.initdb.log"
    fi
    as_pg "$PG_BIN/pg_ctl" -D "$DATA_DIR" -l "$DATA_DIR/postgres.log" -w -t 60 \
        -o "-c listen_addresses=$PG_HOST -c port=$PG_PORT -c unix_socket_directories=$DATA_DIR" \
        start >/dev/null || die "could not start; see $DATA_DIR/postgres.log"
    # The role and database, created once (names are plain identifiers; the password is quoted).
    local pw=${MLFLOW_DB_PASSWORD//\'/\'\'}
    if [ "$(psql_pg -c "SELECT 1 FROM pg_roles WHERE rolname = '$MLFLOW_DB_USER'")" != 1 ]; then
        psql_pg -c "CREATE ROLE \"$MLFLOW_DB_USER\" LOGIN PASSWORD '$pw'"
    fi
    if [ "$(psql_pg -c "SELECT 1 FROM pg_database WHERE datname = '$MLFLOW_DB_NAME'")" != 1 ]; then
        psql_pg -c "CREATE DATABASE \"$MLFLOW_DB_NAME\" OWNER \"$MLFLOW_DB_USER\""
    fi
    echo "PostgreSQL on $PG_HOST:$PG_PORT (data $DATA_DIR); MLflow backend store: $(uri)"
}

stop() {
    if [ -f "$DATA_DIR/postmaster.pid" ]; then
        as_pg "$PG_BIN/pg_ctl" -D "$DATA_DIR" -m fast -w -t 60 stop >/dev/null
        echo "PostgreSQL stopped ($DATA_DIR)"
    else
        echo "PostgreSQL not running ($DATA_DIR)"
    fi
}

CMD=${1:-}
case "$CMD" in
    start) need_dir "${2:-}"; start ;;
    stop) need_dir "${2:-}"; stop ;;
    status) need_dir "${2:-}"; as_pg "$PG_BIN/pg_ctl" -D "$DATA_DIR" status ;;
    uri) uri ;;
    *) die "usage: $0 start|stop|status DATA_DIR, or $0 uri" ;;
esac
