#!/usr/bin/env bash
# The whole path on one machine: a center (tapwatch-center) on loopback with SQLite and its own
# CA, the sensor replaying the bundled capture with the bundled rules and exporting its alerts
# over mutual TLS, then the alerts as the center stored them.
#
# Environment: TAPWATCH_BIN_DIR (use binaries already built there instead of building),
# KEEP=1 (keep the temporary directory).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${TAPWATCH_BIN_DIR:-}" ]]; then
    scripts/install-deps.sh
    cargo build --release --locked --bin tapwatch --bin tapwatch-center
    TAPWATCH_BIN_DIR="${CARGO_TARGET_DIR:-target}/release"
fi
sensor="$TAPWATCH_BIN_DIR/tapwatch"
center="$TAPWATCH_BIN_DIR/tapwatch-center"

work=$(mktemp -d)
center_pid=""
cleanup() {
    if [[ -n "$center_pid" ]]; then kill "$center_pid" 2>/dev/null || true; wait "$center_pid" 2>/dev/null || true; fi
    if [[ "${KEEP:-0}" != 1 ]]; then rm -rf "$work"; else echo "kept $work"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
grpc_port=$(free_port)
api_port=$(free_port)

echo "== 1. a CA, the center's certificate and a sensor certificate ($work/pki)"
"$center" ca init --dir "$work/pki" --server-name localhost --server-name 127.0.0.1 >/dev/null
"$center" ca issue-sensor --dir "$work/pki" demo-sensor-01 >/dev/null

cat >"$work/center.toml" <<TOML
[server]
listen = "127.0.0.1:$grpc_port"
ca_cert = "pki/ca.pem"
server_cert = "pki/server.pem"
server_key = "pki/server.key"
[storage]
kind = "sqlite"
path = "center.db"
[api]
listen = "127.0.0.1:$api_port"
TOML

cat >"$work/sensor.toml" <<TOML
[export]
enabled = true
sensor_id = "demo-sensor-01"
center_url = "https://127.0.0.1:$grpc_port"
ca_cert = "pki/ca.pem"
client_cert = "pki/sensors/demo-sensor-01.pem"
client_key = "pki/sensors/demo-sensor-01.key"
spool_dir = "spool"
TOML

echo "== 2. the center on 127.0.0.1:$grpc_port (SQLite $work/center.db, API http://127.0.0.1:$api_port)"
"$center" serve --config "$work/center.toml" 2>"$work/center.log" &
center_pid=$!
for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$grpc_port") 2>/dev/null; then break; fi
    sleep 0.1
done

echo "== 3. the sensor replays samples/sample.pcap with rules/bundled/tapwatch-sample.rules"
"$sensor" replay --config "$work/sensor.toml" --progress never \
    --rules rules/bundled/tapwatch-sample.rules --eve "$work/eve.json" samples/sample.pcap

echo
echo "== 4. the alerts, from the center's side"
"$center" alerts --config "$work/center.toml" --format table
echo
"$center" sensors --config "$work/center.toml"
