#!/bin/bash
# gluster-cluster.sh - throw-away GlusterFS test cluster for the libgluvirt tests.
#
# Runs 1..N glusterd instances (node i bound to 127.1.1.i) inside a private
# network namespace, with every piece of state (volfile, working, run and log
# directories, CLI sockets, bricks) under one base directory.  Nothing in
# /etc/glusterfs or /var/lib/glusterd is used, so a system glusterd may run
# at the same time.  Run as root (netns and mount namespaces).
#
# See usage() below, or run: gluster-cluster.sh help
set -euo pipefail

PROG=${0##*/}
NS=${GLUVIRT_NETNS:-gluvirt}
BASE=${GLUVIRT_CLUSTER_BASE:-/tmp/gluvirt-cluster}
BASE=${BASE%/}
# Set GLUVIRT_FAST=0 to start glusterd without the gsyncd stub.
FAST=${GLUVIRT_FAST:-1}
# Upper bounds (seconds) for the waits below.
START_TIMEOUT=${GLUVIRT_START_TIMEOUT:-30}
PEER_TIMEOUT=${GLUVIRT_PEER_TIMEOUT:-30}
BRICK_TIMEOUT=${GLUVIRT_BRICK_TIMEOUT:-30}
STOP_TIMEOUT=${GLUVIRT_STOP_TIMEOUT:-15}

ADDR_PREFIX=127.1.1.
MARKER=.gluvirt-cluster
SOCK_DIR=/var/run/gluster
# Paths outside BASE that glusterd creates on its first start (hard-coded in
# glusterd).  'up' records which of them did not exist yet; 'down' removes
# those again (files first, then directories if empty).
MACHINE_PATHS=(
    /var/lib/glusterd/geo-replication/gsyncd_template.conf
    /var/lib/glusterd/geo-replication
    /var/lib/glusterd/ss_brick
    /run/gluster/snaps
)
MAX_NODES=16

usage() {
    cat <<EOF
Usage: $PROG COMMAND [ARGS...]

Private throw-away GlusterFS cluster in network namespace '$NS'
(GLUVIRT_NETNS), state under '$BASE' (GLUVIRT_CLUSTER_BASE).
Node i's glusterd listens on ${ADDR_PREFIX}i:24007 inside the namespace and has
the CLI socket BASE/n<i>/glusterd.socket.  Progress goes to stderr.

Commands:
  up [-n NODES] [-f]   start NODES glusterds (default 1, max $MAX_NODES), peer-probe
                       them and wait until all are connected; prints the env
                       lines (see 'env').  If a cluster (or the netns or base
                       dir) already exists, 'up' fails; with -f it runs 'down'
                       first.
  volume NAME [replica N|distribute N]
                       create (force) and start volume NAME; bricks go
                       round-robin over the nodes (default: distribute 1, one
                       brick on node 1).  Sets server.allow-insecure on and
                       network.ping-timeout 5, makes every brick root mode 1777
                       and waits until all bricks are online.
  down                 SIGKILL every gluster process of this cluster, remove
                       its /var/run/gluster sockets, the base dir,
                       /etc/netns/NS and the netns.  Exits 0 if nothing is up.
  exec CMD [ARGS...]   run CMD inside the netns, with the env lines exported.
  gluster ARGS...      run the gluster CLI (script mode) against node 1.
  env                  print shell-sourceable lines (export NAME='value'):
                       GLUVIRT_NETNS GLUVIRT_TEST_HOST GLUVIRT_TEST_HOSTS
                       GLUVIRT_TEST_SOCKET GLUVIRT_TEST_SOCKETS
                       GLUVIRT_CLUSTER_BASE GLUVIRT_TEST_VOLUMES
                       (also kept in BASE/env).
  status               list nodes, peers, volumes and brick status.
  kill-glusterd I      SIGTERM node I's glusterd and wait until it is gone
                       (its bricks keep running).
  start-glusterd I     start node I's glusterd again and wait until it answers.
  help                 this text.

Environment: GLUVIRT_NETNS, GLUVIRT_CLUSTER_BASE, GLUVIRT_FAST (0: no gsyncd
stub, slower start), GLUVIRT_START_TIMEOUT, GLUVIRT_PEER_TIMEOUT,
GLUVIRT_BRICK_TIMEOUT, GLUVIRT_STOP_TIMEOUT (seconds).
Clients must run inside the netns, e.g.
  $PROG exec qemu-img info gluster://${ADDR_PREFIX}1/VOL/IMG
EOF
}

msg() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { msg "error: $*"; exit 1; }

now() { date +%s.%N; }
# elapsed START -> seconds since START with 2 decimals
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

node_dir() { printf '%s/n%s' "$BASE" "$1"; }
node_addr() { printf '%s%s' "$ADDR_PREFIX" "$1"; }
node_sock() { printf '%s/n%s/glusterd.socket' "$BASE" "$1"; }

nsexec() { ip netns exec "$NS" "$@"; }

# cli_node I ARGS... : gluster CLI talking to node I's glusterd
cli_node() {
    local i=$1
    shift
    nsexec gluster --mode=script --glusterd-sock="$(node_sock "$i")" \
        --log-file="$(node_dir "$i")/log/cli.log" "$@"
}

node_count() {
    [ -r "$BASE/nodes" ] || die "no cluster under $BASE (run '$PROG up' first)"
    cat "$BASE/nodes"
}

check_root() {
    [ "$(id -u)" = 0 ] || die "must run as root (network and mount namespaces)"
}

check_node_arg() {
    local i=$1 n
    n=$(node_count)
    case $i in
        '' | *[!0-9]*) die "node number expected, got '$i'" ;;
    esac
    if [ "$i" -lt 1 ] || [ "$i" -gt "$n" ]; then
        die "node $i out of range 1..$n"
    fi
}

# Print the last lines of a log file to stderr (used on every failure).
show_log() {
    local f=$1 lines=${2:-30}
    if [ -r "$f" ]; then
        msg "---- last $lines lines of $f ----"
        tail -n "$lines" "$f" >&2
        msg "---- end of $f ----"
    else
        msg "(no log file $f)"
    fi
}

fail_hint() {
    msg "state left in $BASE for inspection; clean up with: $PROG down"
}

# Pid of node I's glusterd if it is running, else nothing (status 1).
glusterd_pid() {
    local f pid
    f="$(node_dir "$1")/glusterd.pid"
    [ -r "$f" ] || return 1
    pid=$(cat "$f" 2>/dev/null) || return 1
    case $pid in '' | *[!0-9]*) return 1 ;; esac
    proc_alive "$pid" || return 1
    grep -qF -- "$BASE/" "/proc/$pid/cmdline" 2>/dev/null || return 1
    printf '%s\n' "$pid"
}

# True when PID exists and is not a zombie.
proc_alive() {
    local st
    st=$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\) .*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ]
}

# ---------------------------------------------------------------------------
# glusterd start

gsyncd_path() {
    local p
    for p in /usr/lib/*/glusterfs/gsyncd /usr/libexec/glusterfs/gsyncd \
        /usr/lib/glusterfs/gsyncd; do
        if [ -x "$p" ]; then
            printf '%s\n' "$p"
            return 0
        fi
    done
    return 1
}

write_volfile() {
    local i=$1 d
    d=$(node_dir "$i")
    # keepalive-time/-interval are required: without them glusterd's
    # outgoing peer connections fail ("connect returned -2") and
    # 'peer probe' hangs until the CLI timeout.
    cat >"$d/glusterd.vol" <<EOF
volume management
    type mgmt/glusterd
    option working-directory $d/work
    option run-directory $d/run
    option logging-directory $d/log
    option glusterd-sockfile $d/glusterd.socket
    option transport-type socket
    option transport.address-family inet
    option transport.socket.bind-address $(node_addr "$i")
    option transport.socket.listen-port 24007
    option transport.socket.keepalive-time 10
    option transport.socket.keepalive-interval 2
    option transport.socket.read-fail-log off
    option rpc-auth-allow-insecure on
    option ping-timeout 0
    option event-threads 1
    option base-port 49152
    option max-port 60999
end-volume
EOF
}

# Decide once per run whether the gsyncd stub can be used.  glusterd runs
# 'gsyncd --version' and ~15 'gsyncd --config-set-rx' (python) at start,
# which costs >1 s; a stub bind-mounted over gsyncd in a private mount
# namespace makes the start ~10x faster.  Geo-replication is then unusable.
FAST_OK=
fast_start_possible() {
    if [ -z "$FAST_OK" ]; then
        FAST_OK=no
        if [ "$FAST" = 1 ] && command -v unshare >/dev/null 2>&1 &&
            GSYNCD=$(gsyncd_path) &&
            unshare -m --propagation private true 2>/dev/null; then
            FAST_OK=yes
        fi
    fi
    [ "$FAST_OK" = yes ]
}

write_stub() {
    cat >"$BASE/gsyncd-stub" <<'EOF'
#!/bin/sh
# Stand-in for gsyncd in the gluvirt test cluster (no geo-replication).
echo "gsyncd.py 0 (gluvirt test-cluster stub)"
exit 0
EOF
    chmod 755 "$BASE/gsyncd-stub"
}

# Launch node I's glusterd.  glusterd daemonizes once initialised, so this
# returns when the daemon is up (or failed).  Bounded by START_TIMEOUT.
launch_glusterd() {
    local i=$1 d
    d=$(node_dir "$i")
    rm -f "$d/glusterd.pid"
    local cmd=(glusterd -f "$d/glusterd.vol" -p "$d/glusterd.pid"
        -l "$d/log/glusterd.log" --log-level INFO)
    if fast_start_possible; then
        [ -x "$BASE/gsyncd-stub" ] || write_stub
        # If the bind mount fails the same glusterd starts normally.
        # shellcheck disable=SC2016 # expanded by the inner sh
        timeout "$START_TIMEOUT" ip netns exec "$NS" \
            unshare -m --propagation private sh -c '
                mount --bind "$1" "$2" 2>/dev/null ||
                    echo "gluster-cluster: gsyncd stub bind mount failed, normal start" >&2
                shift 2
                exec "$@"' sh "$BASE/gsyncd-stub" "$GSYNCD" "${cmd[@]}"
    else
        timeout "$START_TIMEOUT" ip netns exec "$NS" "${cmd[@]}"
    fi
}

# Wait until node I's glusterd answers CLI requests; on failure show its log.
wait_glusterd() {
    local i=$1 t0 d
    d=$(node_dir "$i")
    t0=$SECONDS
    while :; do
        if glusterd_pid "$i" >/dev/null &&
            cli_node "$i" --timeout=5 pool list >/dev/null 2>&1; then
            return 0
        fi
        if [ $((SECONDS - t0)) -ge "$START_TIMEOUT" ]; then
            msg "node $i: glusterd does not answer within ${START_TIMEOUT}s"
            break
        fi
        if [ -r "$d/glusterd.pid" ] && ! glusterd_pid "$i" >/dev/null; then
            msg "node $i: glusterd died"
            break
        fi
        sleep 0.1
    done
    show_log "$d/log/glusterd.log"
    return 1
}

# start_node I [background]: launch + wait, with error output.
start_node() {
    local i=$1 rc=0
    launch_glusterd "$i" || rc=$?
    if [ "$rc" -ne 0 ]; then
        msg "node $i: glusterd start failed (exit $rc)"
        show_log "$(node_dir "$i")/log/glusterd.log"
        return 1
    fi
    wait_glusterd "$i"
}

# ---------------------------------------------------------------------------
# env file

write_env() {
    local n i hosts='' socks='' vols=''
    n=$(node_count)
    for ((i = 1; i <= n; i++)); do
        hosts+="${hosts:+ }$(node_addr "$i")"
        socks+="${socks:+ }$(node_sock "$i")"
    done
    if [ -r "$BASE/volumes" ]; then
        vols=$(tr '\n' ' ' <"$BASE/volumes")
        vols=${vols% }
    fi
    cat >"$BASE/env.tmp" <<EOF
export GLUVIRT_NETNS='$NS'
export GLUVIRT_TEST_HOST='$(node_addr 1)'
export GLUVIRT_TEST_HOSTS='$hosts'
export GLUVIRT_TEST_SOCKET='$(node_sock 1)'
export GLUVIRT_TEST_SOCKETS='$socks'
export GLUVIRT_CLUSTER_BASE='$BASE'
export GLUVIRT_TEST_VOLUMES='$vols'
EOF
    mv -f "$BASE/env.tmp" "$BASE/env"
}

# Record the -S sockets (in /var/run/gluster) of running brick/shd processes
# so that 'down' can remove them even if the processes are gone by then.
record_sockets() {
    local pid
    for pid in $(cluster_pids); do
        proc_sockets "$pid"
    done >>"$BASE/sockets"
    sort -u -o "$BASE/sockets" "$BASE/sockets"
}

# Print the -S argument of PID (if it is under SOCK_DIR).
proc_sockets() {
    local arg prev=''
    while IFS= read -r -d '' arg; do
        if [ "$prev" = -S ]; then
            case $arg in "$SOCK_DIR"/*.socket | /run/gluster/*.socket)
                printf '%s\n' "$arg" ;;
            esac
        fi
        prev=$arg
    done 2>/dev/null <"/proc/$1/cmdline" || true
}

# Pids of gluster processes (glusterd, bricks, shd, CLI) belonging to BASE:
# argv[0] is a gluster program and some argument contains "BASE/".
cluster_pids() {
    local pid arg0 pat
    pat=$(printf '%s/' "$BASE" | sed 's/[][\\.^$*+?(){}|]/\\&/g')
    for pid in $(pgrep -f -- "$pat" || true); do
        [ "$pid" = "$$" ] && continue
        arg0=$(tr '\0' '\n' 2>/dev/null <"/proc/$pid/cmdline" | head -n 1) || continue
        case ${arg0##*/} in
            glusterd | glusterfsd | glusterfs | gluster | glfsheal) ;;
            *) continue ;;
        esac
        proc_alive "$pid" && printf '%s\n' "$pid"
    done
    return 0
}

netns_exists() { [ -e "/run/netns/$NS" ]; }

# ---------------------------------------------------------------------------
# commands

cmd_up() {
    local n=1 force=0 opt
    OPTIND=1
    while getopts ':n:f' opt; do
        case $opt in
            n) n=$OPTARG ;;
            f) force=1 ;;
            *) die "usage: $PROG up [-n NODES] [-f]" ;;
        esac
    done
    shift $((OPTIND - 1))
    [ $# -eq 0 ] || die "usage: $PROG up [-n NODES] [-f]"
    case $n in '' | *[!0-9]*) die "bad node count '$n'" ;; esac
    if [ "$n" -lt 1 ] || [ "$n" -gt "$MAX_NODES" ]; then
        die "node count must be 1..$MAX_NODES"
    fi
    check_root
    case $BASE in /?*) ;; *) die "GLUVIRT_CLUSTER_BASE must be an absolute path" ;; esac
    # sun_path holds 108 bytes; keep room for "/nNN/glusterd.socket".
    [ "${#BASE}" -le 80 ] || die "base dir path too long for unix sockets: $BASE"

    if [ "$force" = 1 ]; then
        cmd_down
        [ ! -e "$BASE" ] || die "$BASE still exists (not made by $PROG?); remove it or set GLUVIRT_CLUSTER_BASE"
    elif [ -e "$BASE" ] || netns_exists ||
        [ -n "$(cluster_pids)" ]; then
        die "a cluster seems to be up already (netns '$NS' or $BASE exists); run '$PROG down' first or use 'up -f'"
    fi

    local t0 i
    t0=$(now)
    mkdir -p "$BASE"
    : >"$BASE/$MARKER"
    echo "$n" >"$BASE/nodes"
    : >"$BASE/volumes"
    : >"$BASE/sockets"
    local p
    for p in "${MACHINE_PATHS[@]}"; do
        [ -e "$p" ] || echo "$p"
    done >"$BASE/created"

    # /etc/netns/NS/hosts is bind-mounted over /etc/hosts by 'ip netns exec'.
    mkdir -p "/etc/netns/$NS"
    {
        echo "127.0.0.1 localhost"
        echo "::1 localhost ip6-localhost ip6-loopback"
        for ((i = 1; i <= n; i++)); do
            echo "$(node_addr "$i") gluvirt-node$i"
        done
    } >"/etc/netns/$NS/hosts"

    ip netns add "$NS"
    ip netns exec "$NS" ip link set lo up

    if fast_start_possible; then
        write_stub
    else
        msg "gsyncd stub disabled or not usable, normal glusterd start (slower)"
    fi
    for ((i = 1; i <= n; i++)); do
        mkdir -p "$(node_dir "$i")"/{work,run,log,bricks}
        write_volfile "$i"
    done

    # Start all glusterds in parallel, then collect the results.
    local pids=() failed=0
    for ((i = 1; i <= n; i++)); do
        start_node "$i" &
        pids+=($!)
    done
    for ((i = 1; i <= n; i++)); do
        wait "${pids[i - 1]}" || failed=1
    done
    if [ "$failed" = 1 ]; then
        fail_hint
        die "glusterd start failed"
    fi
    msg "up: $n glusterd(s) answering after $(elapsed "$t0") s"

    if [ "$n" -gt 1 ]; then
        for ((i = 2; i <= n; i++)); do
            if ! cli_node 1 --timeout=20 peer probe "$(node_addr "$i")" >/dev/null; then
                show_log "$(node_dir 1)/log/glusterd.log"
                fail_hint
                die "peer probe $(node_addr "$i") failed"
            fi
        done
        wait_peers "$n" || {
            fail_hint
            die "peers not connected within ${PEER_TIMEOUT}s"
        }
        msg "up: all $n nodes connected after $(elapsed "$t0") s"
    fi
    write_env
    cat "$BASE/env"
}

# Every running node must see all other running nodes as
# "Peer in Cluster (Connected)" (nodes whose glusterd is stopped are skipped).
wait_peers() {
    local n=$1 t0 i ok cnt running=()
    for ((i = 1; i <= n; i++)); do
        glusterd_pid "$i" >/dev/null && running+=("$i")
    done
    t0=$SECONDS
    while :; do
        ok=1
        for i in "${running[@]}"; do
            cnt=$(cli_node "$i" --timeout=5 peer status 2>/dev/null |
                grep -c 'Peer in Cluster (Connected)' || true)
            if [ "$cnt" -lt $((${#running[@]} - 1)) ]; then
                ok=0
                break
            fi
        done
        [ "$ok" = 1 ] && return 0
        if [ $((SECONDS - t0)) -ge "$PEER_TIMEOUT" ]; then
            for i in "${running[@]}"; do
                msg "node $i peer status:"
                cli_node "$i" --timeout=5 peer status >&2 || true
                show_log "$(node_dir "$i")/log/glusterd.log" 15
            done
            return 1
        fi
        sleep 0.1
    done
}

cmd_volume() {
    [ $# -ge 1 ] || die "usage: $PROG volume NAME [replica N|distribute N]"
    local name=$1 kind=distribute count=1
    shift
    case $name in
        '' | *[!A-Za-z0-9_-]*) die "bad volume name '$name'" ;;
    esac
    if [ $# -gt 0 ]; then
        [ $# -eq 2 ] || die "usage: $PROG volume NAME [replica N|distribute N]"
        kind=$1
        count=$2
        case $kind in replica | distribute) ;; *) die "expected 'replica' or 'distribute', got '$kind'" ;; esac
        case $count in '' | *[!0-9]*) die "bad brick count '$count'" ;; esac
        [ "$count" -ge 1 ] || die "brick count must be >= 1"
        [ "$kind" = replica ] && [ "$count" -eq 1 ] && kind=distribute
    fi
    check_root
    local n t0 k node b bricks=() paths=()
    n=$(node_count)
    glusterd_pid 1 >/dev/null || die "node 1's glusterd is not running"
    t0=$(now)

    for ((k = 1; k <= count; k++)); do
        node=$(((k - 1) % n + 1))
        b="$(node_dir "$node")/bricks/$name-b$k"
        bricks+=("$(node_addr "$node"):$b")
        paths+=("$b")
    done
    local create=(volume create "$name")
    [ "$kind" = replica ] && create+=(replica "$count")
    create+=("${bricks[@]}" force)
    cli_node 1 --timeout=30 "${create[@]}" >/dev/null ||
        die "volume create $name failed"

    # Let any client uid create files in the volume root.
    for b in "${paths[@]}"; do
        chmod 1777 "$b"
    done
    cli_node 1 --timeout=30 volume set "$name" \
        server.allow-insecure on network.ping-timeout 5 >/dev/null ||
        die "volume set $name failed"
    cli_node 1 --timeout=60 volume start "$name" >/dev/null || {
        show_brick_logs "$name"
        fail_hint
        die "volume start $name failed"
    }
    wait_bricks "$name" "$count" || {
        show_brick_logs "$name"
        fail_hint
        die "bricks of $name not online within ${BRICK_TIMEOUT}s"
    }
    for b in "${paths[@]}"; do
        [ "$(stat -c %a "$b")" = 1777 ] || die "brick root $b lost mode 1777"
    done
    echo "$name" >>"$BASE/volumes"
    record_sockets
    write_env
    msg "volume $name ($kind $count) started, bricks online after $(elapsed "$t0") s"
}

wait_bricks() {
    local name=$1 want=$2 t0 got
    t0=$SECONDS
    while :; do
        got=$(cli_node 1 --timeout=10 volume status "$name" detail 2>/dev/null |
            grep -cE '^Online[[:space:]]*:[[:space:]]*Y' || true)
        [ "$got" -ge "$want" ] && return 0
        if [ $((SECONDS - t0)) -ge "$BRICK_TIMEOUT" ]; then
            cli_node 1 --timeout=10 volume status "$name" >&2 || true
            return 1
        fi
        sleep 0.1
    done
}

show_brick_logs() {
    local f
    for f in "$BASE"/n*/log/bricks/*"$1"-b*.log; do
        [ -e "$f" ] && show_log "$f" 15
    done
    show_log "$(node_dir 1)/log/glusterd.log" 15
}

cmd_down() {
    check_root
    local t0 pids pid socks=() s
    t0=$(now)
    case $BASE in /?*) ;; *) die "GLUVIRT_CLUSTER_BASE must be an absolute path" ;; esac

    pids=$(cluster_pids)
    if [ -r "$BASE/sockets" ]; then
        while IFS= read -r s; do socks+=("$s"); done <"$BASE/sockets"
    fi
    for pid in $pids; do
        while IFS= read -r s; do socks+=("$s"); done < <(proc_sockets "$pid")
    done
    if [ -n "$pids" ]; then
        # shellcheck disable=SC2086 # word splitting of the pid list wanted
        kill -KILL $pids 2>/dev/null || true
        local t1=$SECONDS left
        while :; do
            left=''
            for pid in $pids; do
                proc_alive "$pid" && left+=" $pid"
            done
            [ -z "$left" ] && break
            if [ $((SECONDS - t1)) -ge "$STOP_TIMEOUT" ]; then
                die "processes still alive after SIGKILL:$left"
            fi
            sleep 0.05
        done
    fi
    local uniq=()
    if [ "${#socks[@]}" -gt 0 ]; then
        mapfile -t uniq < <(printf '%s\n' "${socks[@]}" | sort -u)
    fi
    socks=("${uniq[@]}")
    for s in "${socks[@]}"; do
        case $s in "$SOCK_DIR"/*.socket | /run/gluster/*.socket) rm -f -- "$s" ;; esac
    done

    local p
    if [ -r "$BASE/created" ]; then
        while IFS= read -r p; do
            for s in "${MACHINE_PATHS[@]}"; do
                [ "$p" = "$s" ] || continue
                if [ -d "$p" ]; then
                    rmdir -- "$p" 2>/dev/null || true
                else
                    rm -f -- "$p"
                fi
            done
        done <"$BASE/created"
    fi

    if [ -e "$BASE" ]; then
        if [ -e "$BASE/$MARKER" ]; then
            rm -rf -- "$BASE"
        else
            msg "warning: $BASE has no $MARKER marker, not removing it"
        fi
    fi
    if [ -d "/etc/netns/$NS" ]; then
        rm -f -- "/etc/netns/$NS/hosts"
        rmdir -- "/etc/netns/$NS" 2>/dev/null ||
            msg "warning: /etc/netns/$NS not empty, left in place"
        rmdir -- /etc/netns 2>/dev/null || true
    fi
    if netns_exists; then
        local others
        others=$(ip netns pids "$NS" 2>/dev/null | tr '\n' ' ')
        [ -z "$others" ] || msg "warning: processes still in netns $NS: $others"
        ip netns delete "$NS"
    fi
    msg "down: done in $(elapsed "$t0") s (killed $(echo "$pids" | wc -w) processes, ${#socks[@]} sockets)"
}

cmd_exec() {
    [ $# -ge 1 ] || die "usage: $PROG exec CMD [ARGS...]"
    [ -r "$BASE/env" ] || die "no cluster under $BASE (run '$PROG up' first)"
    # shellcheck source=/dev/null
    . "$BASE/env"
    exec ip netns exec "$NS" "$@"
}

cmd_gluster() {
    node_count >/dev/null
    exec ip netns exec "$NS" gluster --mode=script \
        --glusterd-sock="$(node_sock 1)" --log-file="$(node_dir 1)/log/cli.log" "$@"
}

cmd_env() {
    [ -r "$BASE/env" ] || die "no cluster under $BASE (run '$PROG up' first)"
    cat "$BASE/env"
}

cmd_status() {
    local n i pid first=''
    n=$(node_count)
    echo "cluster: netns $NS, base $BASE, $n node(s)"
    for ((i = 1; i <= n; i++)); do
        if pid=$(glusterd_pid "$i"); then
            echo "node $i: $(node_addr "$i") gluvirt-node$i glusterd pid $pid, socket $(node_sock "$i")"
            [ -n "$first" ] || first=$i
        else
            echo "node $i: $(node_addr "$i") gluvirt-node$i glusterd NOT RUNNING"
        fi
    done
    [ -n "$first" ] || return 1
    echo "volumes started by this script: $(tr '\n' ' ' <"$BASE/volumes")"
    echo "--- pool list (via node $first)"
    cli_node "$first" --timeout=10 pool list || true
    echo "--- volume status"
    cli_node "$first" --timeout=10 volume status all || true
}

cmd_kill_glusterd() {
    [ $# -eq 1 ] || die "usage: $PROG kill-glusterd I"
    check_node_arg "$1"
    local pid t0
    pid=$(glusterd_pid "$1") || die "node $1's glusterd is not running"
    t0=$(now)
    kill -TERM "$pid"
    local t1=$SECONDS
    while proc_alive "$pid"; do
        if [ $((SECONDS - t1)) -ge "$STOP_TIMEOUT" ]; then
            msg "node $1: glusterd ignores SIGTERM, sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        sleep 0.05
    done
    msg "node $1: glusterd (pid $pid) stopped in $(elapsed "$t0") s"
}

cmd_start_glusterd() {
    [ $# -eq 1 ] || die "usage: $PROG start-glusterd I"
    check_node_arg "$1"
    check_root
    ! glusterd_pid "$1" >/dev/null || die "node $1's glusterd is already running"
    local t0
    t0=$(now)
    fast_start_possible || true
    start_node "$1" || die "node $1: glusterd start failed"
    local n
    n=$(node_count)
    if [ "$n" -gt 1 ]; then
        wait_peers "$n" || die "node $1: peers not connected within ${PEER_TIMEOUT}s"
    fi
    record_sockets
    msg "node $1: glusterd started in $(elapsed "$t0") s"
}

main() {
    [ $# -ge 1 ] || {
        usage >&2
        exit 2
    }
    local sub=$1
    shift
    case $sub in
        up) cmd_up "$@" ;;
        volume) cmd_volume "$@" ;;
        down)
            [ $# -eq 0 ] || die "usage: $PROG down"
            cmd_down
            ;;
        exec) cmd_exec "$@" ;;
        gluster) cmd_gluster "$@" ;;
        env) cmd_env ;;
        status) cmd_status ;;
        kill-glusterd) cmd_kill_glusterd "$@" ;;
        start-glusterd) cmd_start_glusterd "$@" ;;
        help | -h | --help) usage ;;
        *)
            usage >&2
            exit 2
            ;;
    esac
}

main "$@"
