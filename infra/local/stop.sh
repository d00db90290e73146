#!/usr/bin/env bash
# Stops everything infra/local/start.sh started, by PID (each was started in its own process group).
set -euo pipefail
source "$(dirname "$0")/common.sh"

stop_by_pidfile "$STATE_DIR/pids/lambda" "cargo lambda watch"
stop_by_pidfile "$STATE_DIR/pids/entra" "Entra stand-in"
stop_by_pidfile "$STATE_DIR/pids/dynamodb-proxy" "DynamoDB fault proxy"
stop_by_pidfile "$STATE_DIR/pids/moto" "moto"
rm -f "$STATE_DIR/demo-client-id"
log "stopped"
