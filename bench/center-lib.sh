# Shared by the export benchmarks (sourced, not run): a tapwatch-center on loopback with
# SQLite, its PKI, and its CPU time. The caller sets $center (the binary) and $work (a
# temporary directory it removes), and calls stop_center before it exits.

center_pid=""
center_port=""

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# make_pki SENSOR_ID: a CA, the center's certificate and one sensor's, under $work/pki.
make_pki() {
    "$center" ca init --dir "$work/pki" --server-name localhost --server-name 127.0.0.1 >/dev/null
    "$center" ca issue-sensor --dir "$work/pki" "$1" >/dev/null
}

# start_center DATABASE: serves on a free port ($center_port), configuration in
# $work/center.toml, log in $work/center.log; returns once the port accepts connections.
start_center() {
    local api
    center_port=$(free_port); api=$(free_port)
    cat >"$work/center.toml" <<TOML
[server]
listen = "127.0.0.1:$center_port"
ca_cert = "pki/ca.pem"
server_cert = "pki/server.pem"
server_key = "pki/server.key"
[storage]
path = "$1"
[api]
listen = "127.0.0.1:$api"
TOML
    "$center" serve --config "$work/center.toml" 2>>"$work/center.log" &
    center_pid=$!
    for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$center_port") 2>/dev/null && break; sleep 0.05; done
}

# sensor_config FILE SPOOL_DIR EXTRA: a sensor configuration exporting as `bench-sensor` (the
# make_pki sensor) to the running center, with EXTRA lines added to its [export] section.
sensor_config() {
    cat >"$1" <<TOML
[export]
enabled = true
sensor_id = "bench-sensor"
center_url = "https://127.0.0.1:$center_port"
ca_cert = "pki/ca.pem"
client_cert = "pki/sensors/bench-sensor.pem"
client_key = "pki/sensors/bench-sensor.key"
spool_dir = "$2"
$3
TOML
}

# stop_center: stops the running center, if any.
stop_center() {
    if [[ -n "$center_pid" ]]; then
        kill "$center_pid" 2>/dev/null || true
        wait "$center_pid" 2>/dev/null || true
        center_pid=""
    fi
}

# alerts_stored: alerts the running center holds for its first sensor.
alerts_stored() {
    "$center" sensors --json --config "$work/center.toml" |
        python3 -c 'import json,sys; s=json.load(sys.stdin)["sensors"]; print(s[0]["alerts_stored"] if s else 0)'
}

# cpu_secs PID: user + system CPU seconds of a process so far.
cpu_secs() {
    awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"
}
