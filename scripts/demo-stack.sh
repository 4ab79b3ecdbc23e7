#!/usr/bin/env bash
# `make demo`: the docker-compose stack without Docker, from the Debian packages
#   apt-get install prometheus prometheus-pushgateway prometheus-node-exporter prometheus-alertmanager
# plus the reference exporter (`python -m demo`), all on 127.0.0.1 with temp data dirs.
# Ctrl-C stops everything, removes the temp dir and exits 130 (SIGTERM: 143); a component that
# dies at start is reported at once with its own error (its log), exit 1.
#
# Ports (env): PROMETHEUS_PORT 19090, ALERTMANAGER_PORT 19093, PUSHGATEWAY_PORT 19091,
# NODE_EXPORTER_PORT 19100, DEMO_PORT 18000, WEBHOOK_PORT 19095 (the local webhook sink every
# Alertmanager receiver notifies: notifications are printed here, never sent out) (not the packages' defaults, so the Debian
# services the packages start do not clash). DEMO_SPEED (10), DEMO_ARGS (extra demo flags),
# SCRAPE_INTERVAL (Prometheus scrape/evaluation interval, default 15 demo-seconds: 15s / DEMO_SPEED,
# at least 1s). The rules are compiled time-scaled to DEMO_SPEED into the temp dir (every `for` and
# window divided by it: one rule-minute is one demo-minute, so each incident's alert fires and
# resolves while it runs); the committed prometheus/rules/*.yml stay real-time.
# PYTHON (.venv/bin/python), and PROMETHEUS_BIN, PROMTOOL_BIN, ALERTMANAGER_BIN,
# PUSHGATEWAY_BIN, NODE_EXPORTER_BIN for binaries elsewhere.
set -euo pipefail

cd "$(dirname "$0")/.."
REPO="$PWD"

PROMETHEUS_PORT="${PROMETHEUS_PORT:-19090}"
ALERTMANAGER_PORT="${ALERTMANAGER_PORT:-19093}"
PUSHGATEWAY_PORT="${PUSHGATEWAY_PORT:-19091}"
NODE_EXPORTER_PORT="${NODE_EXPORTER_PORT:-19100}"
DEMO_PORT="${DEMO_PORT:-18000}"
WEBHOOK_PORT="${WEBHOOK_PORT:-19095}"
DEMO_SPEED="${DEMO_SPEED:-10}"
DEMO_ARGS="${DEMO_ARGS:-}"
SCRAPE_INTERVAL="${SCRAPE_INTERVAL:-}"
PYTHON="${PYTHON:-$REPO/.venv/bin/python}"
PROMETHEUS_BIN="${PROMETHEUS_BIN:-prometheus}"
PROMTOOL_BIN="${PROMTOOL_BIN:-promtool}"
ALERTMANAGER_BIN="${ALERTMANAGER_BIN:-prometheus-alertmanager}"
PUSHGATEWAY_BIN="${PUSHGATEWAY_BIN:-prometheus-pushgateway}"
NODE_EXPORTER_BIN="${NODE_EXPORTER_BIN:-prometheus-node-exporter}"

die() { echo "error: $*" >&2; exit 2; }

missing=()
for bin in "$PROMETHEUS_BIN" "$PROMTOOL_BIN" "$ALERTMANAGER_BIN" "$PUSHGATEWAY_BIN" "$NODE_EXPORTER_BIN"; do
  command -v "$bin" >/dev/null 2>&1 || missing+=("$bin")
done
if [ ${#missing[@]} -gt 0 ]; then
  die "not found: ${missing[*]} (apt-get install prometheus prometheus-pushgateway prometheus-node-exporter prometheus-alertmanager)"
fi
[ -x "$PYTHON" ] || die "$PYTHON not found: run 'make venv' first (or set PYTHON)"
command -v curl >/dev/null 2>&1 || die "curl not found (apt-get install curl)"

port_free() {  # true when nothing listens on 127.0.0.1:$1
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
for var in PROMETHEUS_PORT ALERTMANAGER_PORT PUSHGATEWAY_PORT NODE_EXPORTER_PORT DEMO_PORT WEBHOOK_PORT; do
  port="${!var}"
  [[ "$port" =~ ^[0-9]+$ ]] || die "$var=$port is not a port number"
  port_free "$port" || die "port $port is in use: set $var to a free port"
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/ml-demo-stack.XXXXXX")"
PIDS=()
declare -A PID_OF=()
STOP=""  # set by Ctrl-C / SIGTERM: the exit code to leave with
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "stopping the demo stack..."
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 100); do  # up to 10 s for a clean shutdown, then SIGKILL
    alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
# Ctrl-C reaches the whole process group: the components die too, at the same moment. Record
# it and leave from the loops below, so their deaths are never reported as a failure.
trap 'STOP=130' INT
trap 'STOP=143' TERM
stop_requested() { [ -n "$STOP" ]; }

"$PYTHON" scripts/render_demo_config.py "$WORK" \
  --prometheus-port "$PROMETHEUS_PORT" --alertmanager-port "$ALERTMANAGER_PORT" \
  --pushgateway-port "$PUSHGATEWAY_PORT" --node-exporter-port "$NODE_EXPORTER_PORT" \
  --demo-port "$DEMO_PORT" --webhook-port "$WEBHOOK_PORT" --speed "$DEMO_SPEED" \
  ${SCRAPE_INTERVAL:+--scrape-interval "$SCRAPE_INTERVAL"}
"$PROMTOOL_BIN" check config "$WORK/prometheus.yml" >"$WORK/promtool.log" 2>&1 \
  || { cat "$WORK/promtool.log" >&2; die "promtool rejected the rendered prometheus.yml"; }
mkdir -p "$WORK/logs" "$WORK/prometheus-data" "$WORK/alertmanager-data"

start() {  # start NAME CMD...: run in the background, log to $WORK/logs/NAME.log
  local name="$1"; shift
  "$@" >"$WORK/logs/$name.log" 2>&1 &
  PIDS+=("$!")
  PID_OF[$name]=$!
}

died() {  # died NAME WHEN: report that component's own error (its log) and exit 1
  local name="$1" when="$2"
  sleep 0.3  # a Ctrl-C that killed it reaches this shell too: that is a stop, not a failure
  stop_requested && exit "$STOP"
  echo "error: $name exited $when; its log ($WORK/logs/$name.log):" >&2
  tail -n 20 "$WORK/logs/$name.log" >&2
  exit 1
}

start webhook-sink "$PYTHON" scripts/webhook_sink.py --port "$WEBHOOK_PORT"
start node-exporter "$NODE_EXPORTER_BIN" --web.listen-address="127.0.0.1:$NODE_EXPORTER_PORT"
start pushgateway "$PUSHGATEWAY_BIN" --web.listen-address="127.0.0.1:$PUSHGATEWAY_PORT"
start alertmanager "$ALERTMANAGER_BIN" --config.file="$WORK/alertmanager.yml" \
  --storage.path="$WORK/alertmanager-data" \
  --web.listen-address="127.0.0.1:$ALERTMANAGER_PORT" --cluster.listen-address=
start prometheus "$PROMETHEUS_BIN" --config.file="$WORK/prometheus.yml" \
  --storage.tsdb.path="$WORK/prometheus-data" \
  --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" --web.enable-lifecycle
# shellcheck disable=SC2086  # DEMO_ARGS is a list of flags
start demo "$PYTHON" -m demo --port "$DEMO_PORT" --speed "$DEMO_SPEED" \
  --pushgateway "http://127.0.0.1:$PUSHGATEWAY_PORT" $DEMO_ARGS

wait_up() {  # wait_up NAME URL: until URL answers 200, or fail showing the log
  local name="$1" url="$2"
  for _ in $(seq 1 240); do
    stop_requested && exit "$STOP"
    kill -0 "${PID_OF[$name]}" 2>/dev/null || died "$name" "at start"
    if curl -fsS -m 2 -o /dev/null "$url" 2>/dev/null; then return 0; fi
    sleep 0.25
  done
  echo "error: $name did not come up at $url; its log:" >&2
  tail -n 20 "$WORK/logs/$name.log" >&2
  exit 1
}
wait_up node-exporter "http://127.0.0.1:$NODE_EXPORTER_PORT/metrics"
wait_up pushgateway "http://127.0.0.1:$PUSHGATEWAY_PORT/-/ready"
wait_up alertmanager "http://127.0.0.1:$ALERTMANAGER_PORT/-/ready"
wait_up prometheus "http://127.0.0.1:$PROMETHEUS_PORT/-/ready"
wait_up demo "http://127.0.0.1:$DEMO_PORT/metrics"

cat <<EOF

ML monitoring demo stack is up (logs and data in $WORK):
  Prometheus    http://127.0.0.1:$PROMETHEUS_PORT   (alerts: /alerts, rules: /rules)
  Alertmanager  http://127.0.0.1:$ALERTMANAGER_PORT   (every receiver notifies the local sink below)
  Pushgateway   http://127.0.0.1:$PUSHGATEWAY_PORT
  node_exporter http://127.0.0.1:$NODE_EXPORTER_PORT/metrics
  demo          http://127.0.0.1:$DEMO_PORT/metrics   (speed x$DEMO_SPEED)

Point Grafana at Prometheus http://127.0.0.1:$PROMETHEUS_PORT, e.g.
  docker run --rm --network host -e PROMETHEUS_URL=http://127.0.0.1:$PROMETHEUS_PORT \\
    -e GF_SECURITY_ADMIN_PASSWORD=change-me -v "$REPO/provisioning:/etc/grafana/provisioning:ro" \\
    grafana/grafana:11.4.0
  or push to a running Grafana (token in the environment, not on the command line):
    PROMETHEUS_URL=http://127.0.0.1:$PROMETHEUS_PORT GRAFANA_URL=http://GRAFANA:3000 \\
    GRAFANA_TOKEN=<service account token> .venv/bin/grafana-sync push
Ctrl-C stops everything. Alert notifications (from the local webhook sink, never sent out):
EOF
tail -n +2 -f "$WORK/logs/webhook-sink.log" &
PIDS+=("$!")

# Exit (and clean up) as soon as any component dies, or on Ctrl-C / SIGTERM.
while ! stop_requested; do
  for name in "${!PID_OF[@]}"; do
    kill -0 "${PID_OF[$name]}" 2>/dev/null || died "$name" "while running"
  done
  sleep 0.5
done
exit "$STOP"
