#!/usr/bin/env bash
# A three-node RabbitMQ cluster on loopback for the cluster tests, next to (and apart from) the
# main broker on 5672.
#
#   .ci/cluster.sh start         start lvt1..lvt3@localhost and cluster them (idempotent)
#   .ci/cluster.sh stop          stop those three nodes and remove their data (idempotent)
#   .ci/cluster.sh status        exit 0 if all three run as one cluster
#   .ci/cluster.sh ctl N ARGS..  rabbitmqctl -n lvtN@localhost ARGS.. (as the nodes' user)
#   .ci/cluster.sh urls N        the comma-separated AMQP URLs, node N first
#
# Node N (1..3) is lvtN@localhost, AMQP on 127.0.0.1:$((LEVERET_CLUSTER_PORT + N - 1)) (5681..5683
# by default), Erlang distribution on 127.0.0.1:$((20000 + AMQP port)) (25681..25683). No plugins.
# Everything a node writes (database, logs, pid file, config) is under $LEVERET_CLUSTER_DIR.
#
# The nodes share the main node's Erlang cookie, so `rabbitmqctl -n lvtN@localhost ...` works as
# it does for the main node. The Debian package runs the server and its CLI tools as the
# `rabbitmq` user when invoked by root (so the cookie is ~rabbitmq/.erlang.cookie); this script
# does the same. Run as another user, it runs the nodes as that user, with that user's cookie.
set -euo pipefail

BASE_PORT="${LEVERET_CLUSTER_PORT:-5681}"
DIR="${LEVERET_CLUSTER_DIR:-${TMPDIR:-/tmp}/leveret-cluster}"
RMQ_BIN="${RABBITMQ_BIN:-/usr/lib/rabbitmq/bin}"
NODES=(1 2 3)
START_TIMEOUT="${LEVERET_CLUSTER_START_TIMEOUT:-120}"

log() { printf '[cluster] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

node_name() { echo "lvt$1@localhost"; }
amqp_port() { echo $((BASE_PORT + $1 - 1)); }
dist_port() { echo $((20000 + BASE_PORT + $1 - 1)); }

# Run a command as the user the nodes run as: the `rabbitmq` user when we are root and it exists.
as_node_user() {
  if [[ $(id -u) == 0 ]] && id rabbitmq >/dev/null 2>&1; then
    local home
    home="$(getent passwd rabbitmq | cut -d: -f6)"
    runuser -u rabbitmq -- env HOME="$home" "$@"
  else
    "$@"
  fi
}

node_env() {  # the environment of node $1, for `env`
  local n=$1
  echo "RABBITMQ_NODENAME=$(node_name "$n")"
  echo "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1"
  echo "RABBITMQ_NODE_PORT=$(amqp_port "$n")"
  echo "RABBITMQ_DIST_PORT=$(dist_port "$n")"
  echo "RABBITMQ_CONF_ENV_FILE=$DIR/rabbitmq-env.conf"
  echo "RABBITMQ_CONFIG_FILE=$DIR/lvt$n.conf"
  echo "RABBITMQ_ADVANCED_CONFIG_FILE=$DIR/advanced.config"
  echo "RABBITMQ_ENABLED_PLUGINS_FILE=$DIR/enabled_plugins"
  echo "RABBITMQ_MNESIA_BASE=$DIR/mnesia"
  echo "RABBITMQ_LOG_BASE=$DIR/log"
  echo "RABBITMQ_PID_FILE=$DIR/lvt$n.pid"
  echo "ERL_EPMD_ADDRESS=127.0.0.1"
  echo "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}"
}

ctl() {  # ctl N ARGS...: rabbitmqctl against node N
  local n=$1
  shift
  local -a envs
  mapfile -t envs < <(node_env "$n")
  # Bounded: a CLI call never hangs the caller (CTL_TIMEOUT seconds, default 180).
  as_node_user timeout "${CTL_TIMEOUT:-180}" env "${envs[@]}" "$RMQ_BIN/rabbitmqctl" \
    -n "$(node_name "$n")" "$@"
}

urls() {  # urls N: AMQP URLs of all nodes, node N first
  local first=${1:-1} n out
  out="amqp://guest:guest@127.0.0.1:$(amqp_port "$first")/%2F"
  for n in "${NODES[@]}"; do
    [[ $n == "$first" ]] || out+=",amqp://guest:guest@127.0.0.1:$(amqp_port "$n")/%2F"
  done
  echo "$out"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The pids of the Erlang VMs of our nodes: those whose environment names our database directory.
# Only those: the main node and anyone else's nodes are never touched.
our_pids() {
  local proc
  for proc in /proc/[0-9]*; do
    [[ $(readlink "$proc/exe" 2>/dev/null) == */beam.smp ]] || continue
    if tr '\0' '\n' <"$proc/environ" 2>/dev/null | grep -qxF "RABBITMQ_MNESIA_BASE=$DIR/mnesia"
    then
      echo "${proc#/proc/}"
    fi
  done
}

running_nodes() {  # the nodes lvt1 reports as running, one per line (empty if it is down)
  ctl 1 eval 'rabbit_nodes:all_running().' 2>/dev/null | tr -d "[]' " | tr ',' '\n' | sort
}

status() {
  local n ok=0 want
  for n in "${NODES[@]}"; do
    if ctl "$n" status >/dev/null 2>&1 && port_open "$(amqp_port "$n")"; then
      log "$(node_name "$n"): running, AMQP on 127.0.0.1:$(amqp_port "$n")"
    else
      log "$(node_name "$n"): down"
      ok=1
    fi
  done
  want="$(printf '%s\n' lvt1@localhost lvt2@localhost lvt3@localhost)"
  if [[ $(running_nodes) == "$want" ]]; then
    log "cluster: lvt1, lvt2 and lvt3 running as one cluster"
  else
    log "cluster: not all three nodes are running in one cluster"
    ok=1
  fi
  return "$ok"
}

write_config() {
  mkdir -p "$DIR/mnesia" "$DIR/log"
  echo '[].' >"$DIR/enabled_plugins"
  echo '[].' >"$DIR/advanced.config"
  : >"$DIR/rabbitmq-env.conf"  # not the main node's /etc/rabbitmq/rabbitmq-env.conf
  local n
  for n in "${NODES[@]}"; do
    cat >"$DIR/lvt$n.conf" <<EOF
listeners.tcp.local = 127.0.0.1:$(amqp_port "$n")
cluster_name = leveret-test
# A small machine runs four nodes: keep free-disk and memory alarms out of the way of tests.
disk_free_limit.absolute = 50MB
vm_memory_high_watermark.relative = 0.4
EOF
  done
  if [[ $(id -u) == 0 ]] && id rabbitmq >/dev/null 2>&1; then
    chown -R rabbitmq:rabbitmq "$DIR"
  fi
}

start_node() {
  local n=$1
  local -a envs
  mapfile -t envs < <(node_env "$n")
  port_open "$(amqp_port "$n")" && die "port $(amqp_port "$n") is already in use"
  port_open "$(dist_port "$n")" && die "port $(dist_port "$n") is already in use"
  # Detached: the Erlang VM daemonises and writes RABBITMQ_PID_FILE itself.
  as_node_user env "${envs[@]}" "$RMQ_BIN/rabbitmq-server" -detached \
    >>"$DIR/log/lvt$n.startup.log" 2>&1
}

await_node() {  # wait (bounded) until node $1 runs RabbitMQ, starting from a pid file
  local n=$1
  if ! ctl "$n" wait "$DIR/lvt$n.pid" --timeout "$START_TIMEOUT" >/dev/null 2>&1 \
    || ! ctl "$n" await_startup --timeout "$START_TIMEOUT" >/dev/null; then
    log "$(node_name "$n") did not start; its log:"
    tail -n 40 "$DIR/log/lvt$n.startup.log" "$DIR/log/$(node_name "$n").log" >&2 || true
    return 1
  fi
}

start() {
  local t0=$SECONDS n
  if [[ -n $(our_pids) ]] && status >/dev/null 2>&1; then
    log "already running"
    return 0
  fi
  # Anything half-started by an earlier run goes first, so that start is repeatable.
  stop_nodes
  rm -rf "$DIR"
  write_config
  for n in "${NODES[@]}"; do start_node "$n"; done
  for n in "${NODES[@]}"; do await_node "$n"; done
  log "three nodes up after $((SECONDS - t0)) s; joining lvt2 and lvt3 to lvt1"
  for n in 2 3; do
    # The CLI's output (and its harmless errors about tables of a stopped app) goes to a log.
    {
      ctl "$n" stop_app && ctl "$n" join_cluster "$(node_name 1)" && ctl "$n" start_app
    } >>"$DIR/log/lvt$n.join.log" 2>&1 || { cat "$DIR/log/lvt$n.join.log" >&2; die "join failed"; }
    await_node "$n"
  done
  status || die "the nodes did not form one cluster"
  log "started in $((SECONDS - t0)) s; URLs: $(urls 1)"
}

stop_nodes() {
  local n pid pids deadline
  [[ -n $(our_pids) ]] || return 0
  # Graceful first, all three at once, bounded: `stop PIDFILE` waits for the node's VM to exit.
  for n in "${NODES[@]}"; do
    if [[ -s $DIR/lvt$n.pid ]]; then
      CTL_TIMEOUT=60 ctl "$n" stop "$DIR/lvt$n.pid" >/dev/null 2>&1 &
    fi
  done
  wait || true
  pids="$(our_pids)"
  if [[ -n $pids ]]; then
    log "terminating leftover node processes: $(echo "$pids" | tr '\n' ' ')"
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null || true
    deadline=$((SECONDS + 20))
    while [[ -n $(our_pids) ]] && ((SECONDS < deadline)); do sleep 0.5; done
    for pid in $(our_pids); do kill -KILL "$pid" 2>/dev/null || true; done
  fi
}

stop() {
  stop_nodes
  rm -rf "$DIR"
  log "stopped"
}

main() {
  [[ -x $RMQ_BIN/rabbitmq-server ]] || die "RabbitMQ is not installed ($RMQ_BIN/rabbitmq-server)"
  case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    ctl) shift; [[ $# -ge 1 ]] || die "usage: $0 ctl N ARGS..."; ctl "$@" ;;
    urls) urls "${2:-1}" ;;
    *) echo "usage: $0 start|stop|status|ctl N ARGS..|urls [N]" >&2; exit 2 ;;
  esac
}

main "$@"
