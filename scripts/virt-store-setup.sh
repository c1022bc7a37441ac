#!/bin/bash
# virt-store-setup.sh - the gluster side of a Virt-Store: a volume that
# hypervisors use for VM images through libgfapi (libgluvirt, QEMU, libvirt).
#
# Run it as root on one of the gluster servers (it drives that server's
# glusterd with the gluster CLI).  It
#   1. adds the other servers to the trusted pool (gluster peer probe) and
#      waits until they are connected,
#   2. creates the volume over the bricks given, replica 3 when three are
#      given (see --replica),
#   3. applies the "virt" option group (sharding, O_DIRECT handling, no
#      client caches that VM images do not want, quorum, heal tuning),
#   4. gives the volume's root to qemu (storage.owner-uid/gid 107),
#   5. accepts clients on unprivileged ports (server.allow-insecure on), which
#      qemu uses when it does not run as root,
#   6. starts the volume and waits until every brick is online,
# then prints the URIs the hypervisors use.  'gluvirt check-volume URI' on a
# hypervisor checks the result from the client's side.
#
# The test cluster (tests/cluster/test-volumes.sh) makes its volumes with
# this script too, without the virt group and owner, in a network namespace.
set -euo pipefail

PROG=${0##*/}

usage() {
    cat <<EOF
usage: $PROG [OPTIONS] VOLUME HOST:/BRICK/PATH [HOST:/BRICK/PATH...]

Creates and starts a gluster volume for VM images, as the Virt-Store guide
does, and prints the URIs hypervisors use.  Run on one of the servers, as root.

Options:
  --replica N         copies of each image (default: 3 for three bricks, 2 for
                      two, none for one; more bricks need --replica)
  --arbiter           the last brick of each replica set holds only metadata
                      (replica 3 arbiter 1)
  --owner UID:GID     owner of the volume's root (default 107:107, qemu's on
                      Debian and Fedora); 'none' leaves it to root
  --no-virt-group     do not apply the virt option group
  --allow-insecure on|off
                      accept clients on ports above 1024 (default on)
  --set KEY=VALUE     another volume option (repeatable)
  --force             pass 'force' to volume create (bricks on the root file
                      system, or two bricks of a replica set on one server)
  --mkdir             create the brick directories (bricks on this machine)
  --brick-mode MODE   chmod the brick roots (bricks on this machine; e.g. 1777)
  --gluster-opt ARG   pass ARG to every gluster CLI call (repeatable), e.g.
                      --glusterd-sock=/run/other/glusterd.socket
  --wait SECONDS      how long to wait for peers and bricks (default 60)
  --dry-run           print the gluster commands instead of running them
  -q, --quiet         print only the URIs (one per server)
  -h, --help          this text
EOF
}

msg() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
    msg "error: $*"
    exit 1
}

replica='' arbiter=0 owner=107:107 virt=1 insecure=on force=0 mkdir=0 mode='' wait_s=60
dry=0 quiet=0
sets=() gopts=()
while [ $# -gt 0 ]; do
    case $1 in
        --replica) replica=${2:?--replica needs a number}; shift ;;
        --arbiter) arbiter=1 ;;
        --owner) owner=${2:?--owner needs UID:GID or none}; shift ;;
        --no-virt-group) virt=0 ;;
        --allow-insecure) insecure=${2:?--allow-insecure needs on or off}; shift ;;
        --set) sets+=("${2:?--set needs KEY=VALUE}"); shift ;;
        --force) force=1 ;;
        --mkdir) mkdir=1 ;;
        --brick-mode) mode=${2:?--brick-mode needs a mode}; shift ;;
        --gluster-opt) gopts+=("${2:?--gluster-opt needs an argument}"); shift ;;
        --wait) wait_s=${2:?--wait needs seconds}; shift ;;
        --dry-run) dry=1 ;;
        -q | --quiet) quiet=1 ;;
        -h | --help) usage; exit 0 ;;
        --) shift; break ;;
        -*) usage >&2; die "unknown option $1" ;;
        *) break ;;
    esac
    shift
done
[ $# -ge 2 ] || { usage >&2; exit 2; }
volume=$1
shift
bricks=("$@")

case $volume in
    '' | -* | *[!A-Za-z0-9_-]*) die "bad volume name '$volume' (letters, digits, '-' and '_')" ;;
esac
case $insecure in on | off) ;; *) die "--allow-insecure takes on or off, not '$insecure'" ;; esac
case $wait_s in '' | *[!0-9]*) die "--wait takes whole seconds" ;; esac
case $owner in
    none) ;;
    *:*) case ${owner%%:*}${owner#*:} in '' | *[!0-9]*) die "--owner takes UID:GID (numbers) or none" ;; esac ;;
    *) die "--owner takes UID:GID (numbers) or none" ;;
esac
for s in "${sets[@]}"; do
    case $s in ?*=?*) ;; *) die "--set takes KEY=VALUE, not '$s'" ;; esac
done

# Distinct hosts, in the order the bricks name them.
hosts=()
for b in "${bricks[@]}"; do
    case $b in
        ?*:/?*) ;;
        *) die "brick '$b' is not HOST:/ABSOLUTE/PATH" ;;
    esac
    h=${b%%:/*}
    seen=0
    for x in "${hosts[@]}"; do [ "$x" = "$h" ] && seen=1; done
    [ "$seen" = 1 ] || hosts+=("$h")
done

n=${#bricks[@]}
if [ -z "$replica" ]; then
    case $n in 1) replica=1 ;; 2) replica=2 ;; 3) replica=3 ;;
        *) die "$n bricks: say how many copies with --replica (3 for VM images)" ;; esac
fi
case $replica in '' | *[!0-9]*) die "--replica takes a number" ;; esac
[ "$replica" -ge 1 ] || die "--replica must be at least 1"
[ $((n % replica)) -eq 0 ] || die "$n bricks do not split into replica sets of $replica"
[ "$arbiter" = 0 ] || [ "$replica" = 3 ] || die "--arbiter needs --replica 3"

gl() {
    if [ "$dry" = 1 ]; then
        printf 'gluster'
        printf ' %q' "$@"
        printf '\n'
        return 0
    fi
    gluster --mode=script "${gopts[@]}" "$@"
}

# gl_quiet ARGS...: run, show the CLI's answer only when it fails.
gl_quiet() {
    local out
    if ! out=$(gl "$@" 2>&1); then
        printf '%s\n' "$out" >&2
        return 1
    fi
    [ "$dry" = 0 ] || printf '%s\n' "$out"
}

# wait_for DESCRIPTION COMMAND...: poll until COMMAND succeeds or --wait passes.
wait_for() {
    local what=$1 start=$SECONDS
    shift
    [ "$dry" = 0 ] || return 0
    until "$@"; do
        [ $((SECONDS - start)) -lt "$wait_s" ] || die "$what not within ${wait_s}s"
        sleep 0.2
    done
}

peers_connected() {
    local connected
    connected=$(gl pool list 2>/dev/null | grep -c 'Connected' || true)
    [ "$connected" -ge "${#hosts[@]}" ]
}

bricks_online() {
    local online
    online=$(gl volume status "$volume" detail 2>/dev/null |
        grep -cE '^Online[[:space:]]*:[[:space:]]*Y' || true)
    [ "$online" -ge "$n" ]
}

# ---- 1. the trusted pool
if [ "${#hosts[@]}" -gt 1 ]; then
    for h in "${hosts[@]}"; do
        gl_quiet peer probe "$h" || die "peer probe $h failed: is glusterd running there, and can this server reach it on port 24007?"
    done
    wait_for "all ${#hosts[@]} servers connected" peers_connected
    msg "servers in the pool: ${hosts[*]}"
fi

# ---- 2. the volume
if [ "$dry" = 0 ] && gl volume info "$volume" >/dev/null 2>&1; then
    die "volume $volume exists already ('gluster volume info $volume' shows it)"
fi
if [ "$mkdir" = 1 ] && [ "$dry" = 0 ]; then
    for b in "${bricks[@]}"; do mkdir -p -- "${b#*:}"; done
fi
create=(volume create "$volume")
if [ "$replica" -gt 1 ]; then
    if [ "$arbiter" = 1 ]; then create+=(replica 3 arbiter 1); else create+=(replica "$replica"); fi
fi
create+=("${bricks[@]}")
[ "$force" = 0 ] || create+=(force)
gl_quiet "${create[@]}" || die "volume create $volume failed (bricks on the root file system or two bricks of a set on one server need --force)"
if [ -n "$mode" ] && [ "$dry" = 0 ]; then
    for b in "${bricks[@]}"; do chmod "$mode" -- "${b#*:}"; done
fi

# ---- 3.-5. options: the virt group, the owner, unprivileged ports, extras
[ "$virt" = 0 ] || gl_quiet volume set "$volume" group virt || die "volume set $volume group virt failed"
pairs=()
if [ "$owner" != none ]; then
    pairs+=(storage.owner-uid "${owner%%:*}" storage.owner-gid "${owner#*:}")
fi
pairs+=(server.allow-insecure "$insecure")
for s in "${sets[@]}"; do pairs+=("${s%%=*}" "${s#*=}"); done
gl_quiet volume set "$volume" "${pairs[@]}" || die "volume set $volume ${pairs[*]} failed"

# ---- 6. start
gl_quiet volume start "$volume" || die "volume start $volume failed; 'gluster volume status $volume' and the brick logs say why"
wait_for "all $n bricks of $volume online" bricks_online
if [ -n "$mode" ] && [ "$dry" = 0 ]; then
    for b in "${bricks[@]}"; do
        [ "$(stat -c %a -- "${b#*:}")" = "$mode" ] || die "brick root ${b#*:} lost mode $mode"
    done
fi

kind="distribute"
[ "$replica" -gt 1 ] && kind="replica $replica"
[ "$arbiter" = 0 ] || kind="replica 3 arbiter 1"
if [ "$quiet" = 0 ]; then
    echo "volume $volume ($kind, $n bricks) is started.  Hypervisors reach it as"
    for h in "${hosts[@]}"; do
        case $h in *:*) echo "  gluster://[$h]/$volume/IMAGE" ;; *) echo "  gluster://$h/$volume/IMAGE" ;; esac
    done
    echo "(any of the servers: it only hands out the volume's layout).  On a hypervisor:"
    echo "  gluvirt check-volume gluster://${hosts[0]}/$volume"
    echo "  gluvirt create -f qcow2 --owner 107:107 gluster://${hosts[0]}/$volume/vm1.qcow2 20G"
else
    for h in "${hosts[@]}"; do
        case $h in *:*) echo "gluster://[$h]/$volume/" ;; *) echo "gluster://$h/$volume/" ;; esac
    done
fi
