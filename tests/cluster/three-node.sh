#!/bin/bash
# three-node.sh - the three-node trusted storage pool of the reliability
# tests, built on gluster-cluster.sh: glusterds on 127.1.1.1, .2 and .3 in
# their own network namespace, peer-probed into one pool, and two volumes
# with one brick per node:
#   rep3     replica 3, plain
#   vmstore  replica 3, 'group virt' (client and server quorum, eager lock,
#            ...) with sharding on and 4 MiB shards, so a small image spans
#            several shards
# Both get network.ping-timeout 5 (GLUVIRT3_PING_TIMEOUT), so a hung brick is
# given up within seconds rather than the default 42.
#
# The namespace and base dir are GLUVIRT3_NETNS (default gluvirt3) and
# GLUVIRT3_BASE (default /tmp/gluvirt3).  GLUVIRT_NETNS and
# GLUVIRT_CLUSTER_BASE are ignored on purpose: under 'make check' they name
# the single-node test volumes, which this script must never tear down.
#
# Commands (run as root; progress goes to stderr):
#   up                  (re)create the pool and both volumes; prints env lines
#   down                kill every process of the pool, remove its state
#   env                 the env lines (GLUVIRT3_NETNS, GLUVIRT3_BASE,
#                       GLUVIRT3_HOSTS, GLUVIRT3_VOLUMES)
#   status              nodes, peers, volumes, bricks
#   exec CMD...         run CMD inside the namespace
#   gluster ARGS...     the gluster CLI against node 1 (script mode)
#   brick-pid VOL I     pid of node I's brick of VOL (from its pidfile, checked
#                       against /proc)
#   kill-brick VOL I [SIGNAL]
#                       send SIGNAL (default KILL) to that brick by pid; for
#                       KILL, wait until it is gone.  Remembers how many
#                       clients the brick had, for start-bricks.
#   cont-brick VOL I    SIGCONT a brick stopped with kill-brick VOL I STOP
#   start-bricks VOL    'volume start VOL force', then wait until every brick
#                       is online, every brick killed before has at least
#                       the clients it had then (the clients reconnected),
#                       and a fresh client reaches all three (heal info says
#                       "Connected"), starting the volume again as needed
#   settle VOL [SECONDS]
#                       wait (default GLUVIRT3_WAIT, 60 s) until heal info
#                       from a fresh client shows every brick "Connected"
#                       with no entry left to heal, starting the volume again
#                       while a brick is unreachable and asking for a heal
#                       while entries remain: the pool has really recovered
#                       and the next fault may come
#   kill-glusterd I     SIGKILL node I's glusterd by pid (its bricks keep
#                       running) and wait until it is gone
#   start-glusterd I    start node I's glusterd again; waits for its peers
#   agree VOL [SECONDS] wait (default 60 s) until the three bricks of VOL hold
#                       identical files (self-heal done); prints what it compared
#   repair              start every glusterd and brick that is down (after a
#                       test that stopped halfway), then settle both volumes
set -euo pipefail

PROG=${0##*/}
HERE=$(cd "$(dirname "$0")" && pwd)
GC=$HERE/gluster-cluster.sh
NS=${GLUVIRT3_NETNS:-gluvirt3}
BASE=${GLUVIRT3_BASE:-/tmp/gluvirt3}
BASE=${BASE%/}
NODES=3
PING_TIMEOUT=${GLUVIRT3_PING_TIMEOUT:-5}
VOLUMES="rep3 vmstore"
WAIT=${GLUVIRT3_WAIT:-60}
GLFSHEAL=${GLUVIRT3_GLFSHEAL:-}

export GLUVIRT_NETNS=$NS GLUVIRT_CLUSTER_BASE=$BASE

msg() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
    msg "error: $*"
    exit 1
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

gcli() { "$GC" gluster "$@"; }

check_volume() {
    case " $VOLUMES " in *" $1 "*) ;; *) die "unknown volume '$1' (known: $VOLUMES)" ;; esac
}

check_node() {
    case $1 in 1 | 2 | 3) ;; *) die "node must be 1, 2 or 3, got '$1'" ;; esac
}

brick_dir() { printf '%s/n%s/bricks/%s-b%s' "$BASE" "$2" "$1" "$2"; }

# True when PID is alive (zombies are dead: daemons are reaped by init).
alive() {
    local state
    state=$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\) .*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ]
}

cmd_up() {
    local t0 v
    t0=$(now)
    "$GC" up -f -n "$NODES" >/dev/null
    # Bricks are distributed round-robin: brick k of a replica-3 volume on
    # node k, so brick_dir above names them.
    "$GC" volume rep3 replica 3
    "$GC" volume vmstore replica 3
    # The virt group first (it sets a ping-timeout of its own), then the
    # test values.  Setting options on a started volume before any client
    # connects is as good as setting them before the start.
    gcli volume set vmstore group virt >/dev/null || die "volume set vmstore group virt failed"
    gcli volume set vmstore features.shard-block-size 4MB >/dev/null ||
        die "cannot set the shard size of vmstore"
    for v in $VOLUMES; do
        gcli volume set "$v" network.ping-timeout "$PING_TIMEOUT" >/dev/null ||
            die "cannot set network.ping-timeout on $v"
    done
    write_env
    msg "up: 3 nodes, volumes $VOLUMES ready after $(elapsed "$t0") s"
    cat "$BASE/env3"
}

write_env() {
    cat >"$BASE/env3.tmp" <<EOF
export GLUVIRT3_NETNS='$NS'
export GLUVIRT3_BASE='$BASE'
export GLUVIRT3_HOSTS='127.1.1.1 127.1.1.2 127.1.1.3'
export GLUVIRT3_VOLUMES='$VOLUMES'
export GLUVIRT3_PING_TIMEOUT='$PING_TIMEOUT'
EOF
    mv -f "$BASE/env3.tmp" "$BASE/env3"
}

cmd_env() {
    [ -r "$BASE/env3" ] || die "no three-node pool under $BASE (run '$PROG up')"
    cat "$BASE/env3"
}

brick_pid() {
    local vol=$1 i=$2 f pid dir
    dir=$(brick_dir "$vol" "$i")
    for f in "$BASE/n$i/run/vols/$vol"/*.pid; do
        [ -r "$f" ] || continue
        pid=$(cat "$f" 2>/dev/null) || continue
        case $pid in '' | *[!0-9]*) continue ;; esac
        alive "$pid" || continue
        # A recycled pid must not be taken for the brick.
        tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$dir" || continue
        printf '%s\n' "$pid"
        return 0
    done
    return 1
}

cmd_brick_pid() {
    [ $# -eq 2 ] || die "usage: $PROG brick-pid VOL I"
    check_volume "$1"
    check_node "$2"
    brick_pid "$1" "$2" || die "brick $2 of $1 is not running"
}

# Clients connected to node I's brick of VOL, as glusterd reports them;
# empty when glusterd cannot tell (busy with another transaction, say).
brick_clients() {
    local vol=$1 i=$2 out
    out=$(gcli --timeout=10 volume status "$vol" "127.1.1.$i:$(brick_dir "$vol" "$i")" \
        clients 2>/dev/null) || return 0
    sed -n 's/^Clients connected *: *\([0-9]*\).*/\1/p' <<<"$out" | head -n 1
}

cmd_kill_brick() {
    if [ $# -lt 2 ] || [ $# -gt 3 ]; then die "usage: $PROG kill-brick VOL I [SIGNAL]"; fi
    local vol=$1 i=$2 sig=${3:-KILL} pid clients t0
    check_volume "$vol"
    check_node "$i"
    pid=$(brick_pid "$vol" "$i") || die "brick $i of $vol is not running"
    for _ in 1 2 3 4 5; do
        clients=$(brick_clients "$vol" "$i")
        [ -z "$clients" ] || break
        sleep 0.2
    done
    echo "${clients:-0}" >"$BASE/clients-$vol-$i"
    t0=$(now)
    kill -s "$sig" "$pid"
    if [ "$sig" = KILL ] || [ "$sig" = 9 ]; then
        while alive "$pid"; do
            [ "$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print (b - a > 10) }')" = 0 ] ||
                die "brick $i of $vol (pid $pid) survives SIGKILL"
            sleep 0.02
        done
    fi
    msg "brick $i of $vol (pid $pid, ${clients:-0} clients) got SIG$sig"
}

cmd_cont_brick() {
    [ $# -eq 2 ] || die "usage: $PROG cont-brick VOL I"
    local pid
    check_volume "$1"
    check_node "$2"
    pid=$(brick_pid "$1" "$2") || die "brick $2 of $1 is not running"
    kill -CONT "$pid"
    msg "brick $2 of $1 (pid $pid) continued"
}

# Right after a kill -9, glusterd may still think a brick online, so a
# 'volume start force' then restarts nothing; only a new client tells
# whether every brick can be reached.  glfsheal is that client (the CLI's
# 'volume heal VOL info' would ask the system glusterd, not ours: it runs
# glfsheal without the socket, so it is run here with node 1's socket as
# the last two arguments).
find_glfsheal() {
    local f
    [ -z "$GLFSHEAL" ] || return 0
    for f in /usr/lib/x86_64-linux-gnu/glusterfs/glfsheal /usr/lib64/glusterfs/glfsheal \
        /usr/libexec/glusterfs/glfsheal /usr/lib/glusterfs/glfsheal; do
        [ -x "$f" ] && GLFSHEAL=$f && return 0
    done
    die "glfsheal not found (set GLUVIRT3_GLFSHEAL)"
}

# heal_state VOL: run heal info once; sets HEAL_BRICKS, HEAL_CONNECTED,
# HEAL_CLEAN (bricks with "Number of entries: 0") and HEAL_OUT.
heal_state() {
    find_glfsheal
    HEAL_OUT=$(ip netns exec "$NS" timeout -k 5 60 "$GLFSHEAL" "$1" --nolog \
        glusterd-sock "$BASE/n1/glusterd.socket" 2>&1) || true
    HEAL_BRICKS=$(grep -c '^Brick ' <<<"$HEAL_OUT" || true)
    HEAL_CONNECTED=$(grep -c '^Status: Connected$' <<<"$HEAL_OUT" || true)
    HEAL_CLEAN=$(grep -c '^Number of entries: 0$' <<<"$HEAL_OUT" || true)
}

# wait_healthy VOL WHAT: WHAT is "connected" (every brick reachable) or
# "settled" (also nothing to heal).  Starts the volume again every few
# seconds while a brick cannot be reached, asks for an index heal every few
# seconds while entries remain; dies after WAIT seconds saying which.
wait_healthy() {
    local vol=$1 what=$2 t0 last_start=-100 last_heal=$SECONDS rounds=0
    t0=$(now)
    while :; do
        heal_state "$vol"
        rounds=$((rounds + 1))
        if [ "$HEAL_BRICKS" = 3 ] && [ "$HEAL_CONNECTED" = 3 ]; then
            [ "$what" = connected ] && break
            [ "$HEAL_CLEAN" = 3 ] && break
            if [ $((SECONDS - last_heal)) -ge 5 ]; then
                gcli --timeout=30 volume heal "$vol" >/dev/null 2>&1 || true
                last_heal=$SECONDS
            fi
        elif [ $((SECONDS - last_start)) -ge 3 ]; then
            gcli --timeout=60 volume start "$vol" force >/dev/null ||
                msg "volume start $vol force failed; trying again"
            last_start=$SECONDS
        fi
        if [ "$(awk -v a="$t0" -v b="$(now)" -v w="$WAIT" 'BEGIN { print (b - a > w) }')" = 1 ]; then
            printf '%s\n' "$HEAL_OUT" >&2
            gcli volume status "$vol" >&2 || true
            if [ "$HEAL_BRICKS" = 3 ] && [ "$HEAL_CONNECTED" = 3 ]; then
                die "$vol has not healed within $WAIT s: heal info above still lists entries on $((3 - HEAL_CLEAN)) brick(s) (is the self-heal daemon running?)"
            fi
            die "a new client of $vol reaches $HEAL_CONNECTED of 3 bricks after $WAIT s of 'volume start $vol force' (heal info and volume status above)"
        fi
        sleep 0.5
    done
    msg "$vol $what: heal info shows 3 bricks connected${HEAL_CLEAN:+, $HEAL_CLEAN with 0 entries} after $(elapsed "$t0") s ($rounds look(s))"
}

cmd_settle() {
    if [ $# -lt 1 ] || [ $# -gt 2 ]; then die "usage: $PROG settle VOL [SECONDS]"; fi
    check_volume "$1"
    [ $# -lt 2 ] || WAIT=$2
    wait_healthy "$1" settled
}

cmd_start_bricks() {
    [ $# -eq 1 ] || die "usage: $PROG start-bricks VOL"
    local vol=$1 t0 i want got ok
    check_volume "$vol"
    t0=$(now)
    local started=-100
    while :; do
        ok=1
        for i in 1 2 3; do
            if ! brick_pid "$vol" "$i" >/dev/null; then
                ok=0
                # glusterd learns of a dead brick from its disconnect, a
                # moment after the kill; a start before that is a no-op, so
                # ask again every few seconds.
                if [ $((SECONDS - started)) -ge 3 ]; then
                    gcli --timeout=60 volume start "$vol" force >/dev/null ||
                        msg "volume start $vol force failed; trying again"
                    started=$SECONDS
                fi
            fi
            if [ "$ok" = 1 ] && [ -r "$BASE/clients-$vol-$i" ]; then
                want=$(cat "$BASE/clients-$vol-$i")
                got=$(brick_clients "$vol" "$i")
                [ "${got:-0}" -ge "$want" ] || ok=0
            fi
            [ "$ok" = 1 ] || break
        done
        [ "$ok" = 1 ] && break
        [ "$(awk -v a="$t0" -v b="$(now)" -v w="$WAIT" 'BEGIN { print (b - a > w) }')" = 0 ] || {
            gcli volume status "$vol" >&2 || true
            die "bricks of $vol not back with their clients within $WAIT s"
        }
        sleep 0.2
    done
    rm -f "$BASE/clients-$vol"-*
    msg "bricks of $vol online, clients reconnected after $(elapsed "$t0") s"
    wait_healthy "$vol" connected
}

glusterd_pid() {
    local f=$BASE/n$1/glusterd.pid pid
    [ -r "$f" ] || return 1
    pid=$(cat "$f")
    case $pid in '' | *[!0-9]*) return 1 ;; esac
    alive "$pid" || return 1
    grep -qF -- "$BASE/n$1/" "/proc/$pid/cmdline" 2>/dev/null || return 1
    printf '%s\n' "$pid"
}

cmd_kill_glusterd() {
    [ $# -eq 1 ] || die "usage: $PROG kill-glusterd I"
    local pid t0
    check_node "$1"
    pid=$(glusterd_pid "$1") || die "node $1's glusterd is not running"
    t0=$(now)
    kill -KILL "$pid"
    while alive "$pid"; do sleep 0.02; done
    msg "node $1's glusterd (pid $pid) killed in $(elapsed "$t0") s"
}

cmd_start_glusterd() {
    [ $# -eq 1 ] || die "usage: $PROG start-glusterd I"
    check_node "$1"
    "$GC" start-glusterd "$1"
}

# After a test that may have stopped halfway: every glusterd and brick up.
cmd_repair() {
    local i v pid
    # Client counts recorded by a test that is over mean nothing now.
    rm -f "$BASE"/clients-*
    for i in 1 2 3; do
        glusterd_pid "$i" >/dev/null || "$GC" start-glusterd "$i" >/dev/null
    done
    for v in $VOLUMES; do
        for i in 1 2 3; do
            # A brick left stopped by 'kill-brick VOL I STOP' is continued.
            if pid=$(brick_pid "$v" "$i"); then
                kill -CONT "$pid" 2>/dev/null || true
            fi
        done
        cmd_start_bricks "$v"
        wait_healthy "$v" settled
    done
}

# Every regular file under the brick roots except gluster's own .glusterfs
# (gfid links, indices), as "path size" lines.
brick_files() {
    (cd "$1" && find . -path ./.glusterfs -prune -o -type f -printf '%p %s\n' | sort)
}

bricks_agree() {
    local vol=$1 b1 b2 b3 list f
    b1=$(brick_dir "$vol" 1)
    b2=$(brick_dir "$vol" 2)
    b3=$(brick_dir "$vol" 3)
    list=$(brick_files "$b1")
    [ "$list" = "$(brick_files "$b2")" ] && [ "$list" = "$(brick_files "$b3")" ] || return 1
    while read -r f _; do
        [ -n "$f" ] || continue
        cmp -s "$b1/$f" "$b2/$f" && cmp -s "$b1/$f" "$b3/$f" || return 1
    done <<<"$list"
    AGREED_FILES=$(grep -c . <<<"$list" || true)
    AGREED_BYTES=$(awk '{ s += $2 } END { print s + 0 }' <<<"$list")
}

cmd_agree() {
    if [ $# -lt 1 ] || [ $# -gt 2 ]; then die "usage: $PROG agree VOL [SECONDS]"; fi
    local vol=$1 limit=${2:-60} t0
    check_volume "$vol"
    t0=$SECONDS
    until bricks_agree "$vol"; do
        [ $((SECONDS - t0)) -lt "$limit" ] || die "the bricks of $vol still differ after $limit s"
        sleep 0.5
    done
    echo "bricks of $vol agree after $((SECONDS - t0)) s: $AGREED_FILES files, $AGREED_BYTES bytes on each"
}

main() {
    [ $# -ge 1 ] || die "usage: $PROG up|down|env|status|exec|gluster|brick-pid|kill-brick|cont-brick|start-bricks|kill-glusterd|start-glusterd|settle|agree|repair ..."
    [ "$(id -u)" = 0 ] || die "must run as root (network namespaces)"
    local sub=$1
    shift
    case $sub in
        up) cmd_up ;;
        down) "$GC" down ;;
        env) cmd_env ;;
        status) "$GC" status ;;
        exec) exec ip netns exec "$NS" "$@" ;;
        gluster) gcli "$@" ;;
        brick-pid) cmd_brick_pid "$@" ;;
        kill-brick) cmd_kill_brick "$@" ;;
        cont-brick) cmd_cont_brick "$@" ;;
        start-bricks) cmd_start_bricks "$@" ;;
        kill-glusterd) cmd_kill_glusterd "$@" ;;
        start-glusterd) cmd_start_glusterd "$@" ;;
        settle) cmd_settle "$@" ;;
        agree) cmd_agree "$@" ;;
        repair) cmd_repair ;;
        *) die "unknown command '$sub'" ;;
    esac
}

main "$@"
