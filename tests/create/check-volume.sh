#!/bin/bash
# gluvirt check-volume on real volumes of the test cluster:
#   gvvirt    made by scripts/virt-store-setup.sh as the guide says (replica 3,
#             virt group, owner 107:107): every item passes, exit 0;
#   gv0       untuned plain distribute, world-writable root: warnings with
#             their fixes (replica, shard, strict-o-direct, owner), exit 3;
#   gvplain3  untuned replica 3 made by the setup script without the group
#             and owner: the owner fails, replica tunables warn, exit 1; with
#             a brick killed the bricks item fails and names it;
#   gvsecure  refuses unprivileged ports: fails with the allow-insecure fix;
#   an unreachable server, a second unreachable server, a missing volume.
# The JSON output is checked to say the same as the text.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../gluster/lib.sh"
. "$here/lib.sh"
require_gluster
: "${GLUVIRT:?set GLUVIRT to the gluvirt program}"
host=$GLUVIRT_TEST_HOST
setup=$here/../../scripts/virt-store-setup.sh
bricks=$GLUVIRT_CLUSTER_BASE/n1/bricks
work=$(mktemp -d)
trap 'gluster_cli volume start gvplain3 force >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
start=$(date +%s.%N)

# make_volume NAME SETUP-OPTIONS...: a replica 3 volume on node 1 (three
# bricks on one server need --force), unless an earlier run made it.
make_volume() {
    local name=$1
    shift
    gluster_cli volume info "$name" >/dev/null 2>&1 && return 0
    "$setup" --quiet --force --wait 60 \
        --gluster-opt "--glusterd-sock=$GLUVIRT_TEST_SOCKET" \
        --gluster-opt "--log-file=$GLUVIRT_CLUSTER_BASE/n1/log/cli.log" "$@" \
        "$name" "$host:$bricks/$name-b1" "$host:$bricks/$name-b2" "$host:$bricks/$name-b3" \
        >"$work/setup-$name.out" 2>&1 || { cat "$work/setup-$name.out" >&2; fail "setup of $name"; }
    grep -qx "gluster://$host/$name/" "$work/setup-$name.out" ||
        fail "the setup script did not print the URI of $name: $(cat "$work/setup-$name.out")"
}
make_volume gvvirt &
virt_pid=$!
make_volume gvplain3 --no-virt-group --owner none
wait "$virt_pid" || fail "setting up gvvirt"
echo "volumes ready after $(elapsed_since "$start") s"

# check NAME EXPECTED-EXIT URI [OPTIONS...]: run check-volume (text and JSON)
# into $work/NAME.txt and $work/NAME.json, and check the exit status.
check() {
    local name=$1 want=$2 uri=$3 rc=0
    shift 3
    "$GLUVIRT" check-volume --min-free 1M "$@" "$uri" >"$work/$name.txt" 2>&1 || rc=$?
    "$GLUVIRT" check-volume --min-free 1M --json "$@" "$uri" >"$work/$name.json" 2>&1 || true
    if [ "$rc" != "$want" ]; then
        cat "$work/$name.txt" >&2
        fail "check-volume $uri exited $rc, expected $want"
    fi
}
# expect NAME PATTERN: a line of the text output matches the extended regexp.
expect() {
    grep -qE -- "$2" "$work/$1.txt" || { cat "$work/$1.txt" >&2; fail "$1: no line matches '$2'"; }
}

check virt 0 "gluster://$host/gvvirt"
expect virt '^PASS +replica +gvvirt +replica 3 \(1 x 3 = 3 bricks\)'
expect virt '^PASS +owner +gvvirt .*107:107'
expect virt '^PASS +tunable +features.shard '
expect virt '^PASS +insecure-port '
expect virt '^summary: 2[0-9] pass, 0 warn, 0 fail'

check gv0 3 "gluster://$host/gv0/any/image/path.qcow2"
expect gv0 '^WARN +replica +gv0 +plain distribute over 1 brick'
expect gv0 '^WARN +tunable +features.shard '
expect gv0 'fix: gluster volume set gv0 features.shard on'
expect gv0 '^WARN +tunable +performance.strict-o-direct '
expect gv0 '^WARN +owner +gv0 .*mode 1777'
expect gv0 'fix: gluster volume set gv0 storage.owner-uid 107 storage.owner-gid 107'
expect gv0 ', 0 fail$'

check plain3 1 "gluster://$host/gvplain3"
expect plain3 '^PASS +replica +gvplain3 +replica 3'
expect plain3 '^FAIL +owner +gvplain3 .*cannot create images'
expect plain3 '^WARN +tunable +cluster.locking-scheme '
expect plain3 '^PASS +tunable +cluster.quorum-type '
expect plain3 '^PASS +bricks +gvplain3 +all 3 bricks answer'

pid=$(pgrep -f -- "glusterfsd.*$bricks/gvplain3-b2" | head -n 1) || fail "no brick process for gvplain3-b2"
kill -KILL "$pid"
check down 1 "gluster://$host/gvplain3"
expect down "^FAIL +bricks +gvplain3 +2 of 3 bricks answer; not answering: $host:$bricks/gvplain3-b2"
expect down "fix: 'gluster volume status gvplain3' shows the bricks"
gluster_cli volume start gvplain3 force >/dev/null

check secure 1 "gluster://$host/gvsecure"
expect secure '^FAIL +(volume|insecure-port) +gvsecure '
expect secure 'fix: gluster volume set gvsecure server.allow-insecure on'

check unreachable 1 "gluster://127.1.1.9/gv0" --timeout 1000
expect unreachable '^FAIL +server +127.1.1.9:24007 +.*cannot reach glusterd at 127.1.1.9:24007'
expect unreachable '^FAIL +volume +gv0 +volume gv0 cannot be reached'
expect unreachable 'fix: .*start glusterd'

check failover 3 "gluster://$host/gv0" -s 127.1.1.9
expect failover '^WARN +server +127.1.1.9:24007 .*cannot reach glusterd'
expect failover 'failover to this server does not work'

check missing 1 "gluster://$host/gluvirt-no-such-volume"
expect missing '^FAIL +volume +gluvirt-no-such-volume .*does not exist'

# The JSON says what the text says.
python3 - "$work" <<'EOF' || fail "the JSON reports disagree with the text reports"
import json, os, sys
work = sys.argv[1]
words = {"PASS": "pass", "WARN": "warn", "FAIL": "fail"}
for name in ("virt", "gv0", "plain3", "secure", "unreachable", "failover", "missing"):
    report = json.load(open(os.path.join(work, name + ".json")))
    lines = [l.split()[0] for l in open(os.path.join(work, name + ".txt")) if l.split() and l.split()[0] in words]
    statuses = [item["status"] for item in report["items"]]
    assert statuses == [words[w] for w in lines], (name, statuses, lines)
    for item in report["items"]:
        assert (item["fix"] is None) == (item["status"] == "pass"), (name, item)
        assert item["id"] and item["subject"] and item["detail"], (name, item)
    worst = max(statuses, key=["pass", "warn", "fail"].index)
    assert report["status"] == worst, (name, report["status"], worst)
    assert sum(report["counts"].values()) == len(statuses)
print("ok: JSON and text reports agree for 7 volumes")
EOF
echo "check-volume: done in $(elapsed_since "$start") s"
