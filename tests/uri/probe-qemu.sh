#!/bin/bash
# probe-qemu.sh - ask the real qemu-img how it judges gluster URIs.
#
# Reads URIs on stdin, one per line, and prints one TSV row per URI:
#   uri  qemu  transport  host  port  volume  path  socket  qemu_message
# (the row format of tests/uri/qemu-7.2-vectors.tsv; '-' = empty/absent).
#
# How it works: 'qemu-img info URI' is run inside a private, empty network
# namespace (only 'lo' up, nothing listening), so no packet leaves the
# machine and every connection attempt fails fast.  QEMU's failure message
# tells us what it parsed:
#   invalid URI URI                          -> qemu=invalid
#   Unknown protocol 'X'                     -> qemu=invalid
#   any other error before connecting        -> qemu=invalid
#   Gluster connection for volume V, path P failed to connect
#   hint: failed on host H and port N        -> qemu=ok, transport tcp
#   hint: failed on socket S                 -> qemu=ok, transport unix
# Warning lines ("qemu-img: warning: ...") are put in front of the message,
# joined with " | ".  gluster+rdma is reported as transport tcp because QEMU
# 7.2 falls back to tcp (with a warning, kept in qemu_message).
# A probe that does not finish within the timeout gives qemu=error.
#
# Escapes: input lines and output fields use the same escapes, so that
# 'cut -f1' of the table can be fed back in: "\\" = backslash, "\t" = tab,
# "\n" = newline, "\r" = carriage return, "\xHH" = any other control byte,
# a byte >= 0x80 in a field that is not valid UTF-8, a leading "#" (\x23, as
# such a line is a comment), or (as "\x2d") a field whose value is exactly
# "-", since a bare "-" means empty/absent.
# A literal backslash in an input URI must therefore be written "\\".
# Input lines that are empty or start with '#' are skipped.
#
# Usage: probe-qemu.sh [-n NETNS] [-j JOBS] [-t SECONDS] [-H] [-k] < uris > rows
#   -n NETNS   network namespace to create and delete (default gluvirt-uriprobe,
#              or $GLUVIRT_URIPROBE_NETNS); it must not exist yet
#   -j JOBS    parallel probes (default 8)
#   -t SECONDS timeout of one probe (default 30)
#   -H         also print the header line
#   -k         use the namespace NETNS if it exists already (it is then
#              neither set up nor deleted by this script)
# Needs root (ip netns), qemu-img with the gluster block driver, bash, xargs.
set -euo pipefail
export LC_ALL=C     # byte-wise string handling; stable messages

QEMU_IMG=${QEMU_IMG:-qemu-img}
BS=$'\x5c'          # one backslash

# ---------------------------------------------------------------- helpers

# Field escaping for TSV output (see header comment), into REPLY: the
# helpers set a variable rather than print, as each $(...) costs a fork.
# Bytes >= 0x80 are kept as they are when the field is valid UTF-8, else
# written as \xHH.
esc() {
    local s=$1 out='' c i hi=0 hex
    case $s in
        '') REPLY=-; return ;;
        -) REPLY='\x2d'; return ;;   # a real "-", not "absent"
    esac
    # Most fields need no escape at all: skip the byte-wise loop.
    if [[ $s != *"$BS"* && $s != *[[:cntrl:]]* && $s != *[$'\x80'-$'\xff']* &&
        $s != '#'* ]]; then
        REPLY=$s
        return
    fi
    if [[ $s == *[$'\x80'-$'\xff']* ]] &&
        ! printf '%s' "$s" | iconv -f UTF-8 -t UTF-8 >/dev/null 2>&1; then
        hi=1
    fi
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        case $c in
            "$BS") out+="$BS$BS" ;;
            $'\t') out+='\t' ;;
            $'\n') out+='\n' ;;
            $'\r') out+='\r' ;;
            [[:cntrl:]]) printf -v hex '\\x%02x' "'$c"; out+=$hex ;;
            [$'\x80'-$'\xff'])
                if [ "$hi" = 1 ]; then
                    printf -v hex '\\x%02x' "'$c"
                    out+=$hex
                else
                    out+=$c
                fi
                ;;
            *) out+=$c ;;
        esac
    done
    # a leading '#' would make the line a comment
    [[ $out == '#'* ]] && out='\x23'${out:1}
    REPLY=$out
}

# Inverse of esc() for input lines, into REPLY.
unesc() {
    local s=$1 out='' c n i=0
    if [[ $s != *"$BS"* ]]; then
        REPLY=$s
        return
    fi
    while ((i < ${#s})); do
        c=${s:i:1}
        if [[ $c == "$BS" && $((i + 1)) -lt ${#s} ]]; then
            n=${s:i+1:1}
            case $n in
                "$BS") out+=$BS; i=$((i + 2)); continue ;;
                t) out+=$'\t'; i=$((i + 2)); continue ;;
                n) out+=$'\n'; i=$((i + 2)); continue ;;
                r) out+=$'\r'; i=$((i + 2)); continue ;;
                x)
                    if [[ ${s:i+2:2} =~ ^[0-9a-fA-F]{2}$ ]]; then
                        printf -v c '%b' "\\x${s:i+2:2}"
                        out+=$c
                        i=$((i + 4))
                        continue
                    fi
                    ;;
            esac
        fi
        out+=$c
        i=$((i + 1))
    done
    REPLY=$out
}

# One probe: $1 = index, $2 = escaped URI.  Adds "index<TAB>row" to ROWS.
probe_one() {
    local idx=$1 raw=$2 uri err rc=0
    local verdict=invalid transport=- host='' port='' volume='' path='' socket=''
    local msg='' warn='' line first='' rest vp hint
    unesc "$raw"
    uri=$REPLY
    # stderr only, followed by a line with the exit status.  qemu-img with
    # gfapi very rarely crashes while tearing down a failed connection; a
    # run killed by a signal without a verdict is repeated (3 tries).
    for _ in 1 2 3; do
        err=$(timeout "$TIMEOUT" \
            "$QEMU_IMG" info -- "$uri" 2>&1 >/dev/null; printf '\n%d' "$?")
        rc=${err##*$'\n'}
        err=${err%$'\n'*}
        if [ "$rc" -lt 125 ] || [ "$rc" -eq 124 ] ||
            [[ $err == *'qemu-img: Could not open'* ]]; then
            break
        fi
    done
    # qemu-img's own lines (gfapi's log lines start with '[' and are skipped).
    while IFS= read -r line; do
        case $line in
            'qemu-img: warning: '*)
                warn+="${line#qemu-img: } | " ;;
            'qemu-img: '*)
                [ -z "$first" ] && first=${line#qemu-img: } ;;
        esac
    done <<<"$err"
    if [ -z "$first" ] && [ -z "$warn" ]; then
        first="no qemu-img message (exit $rc)"
    fi
    if [[ $err == *"Gluster connection for volume "* ]]; then
        verdict=ok
        # Take the text after QEMU's own prefix, which contains the URI as
        # given; fall back to the first occurrence of the phrase.
        local prefix="qemu-img: Could not open '$uri': Gluster connection for volume "
        if [[ $err == *"$prefix"* ]]; then
            rest=${err#*"$prefix"}
        else
            rest=${err#*Gluster connection for volume }
        fi
        vp=${rest%%" failed to connect"$'\n'"hint: failed on "*}
        hint=${rest#*" failed to connect"$'\n'"hint: failed on "}
        hint=${hint%%" Please refer to gluster logs for more info"*}
        volume=${vp%%", path "*}
        path=${vp#*", path "}
        case $hint in
            'host '*)
                transport=tcp
                hint=${hint#host }
                host=${hint%" and port "*}
                port=${hint##*" and port "}
                ;;
            'socket '*)
                transport=unix
                socket=${hint#socket }
                ;;
            *) transport='?' ;;
        esac
    elif [ "$rc" -eq 124 ]; then
        verdict=error
        first="timeout after ${TIMEOUT}s"
    fi
    msg="$warn$first"
    msg=${msg%' | '}
    # Replace the URI itself by the token URI to keep the column short.
    if [ -n "$uri" ]; then
        msg=${msg//"$uri"/URI}
    fi
    local field row
    esc "$uri"
    row=$idx$'\t'$REPLY$'\t'$verdict$'\t'$transport
    for field in "$host" "$port" "$volume" "$path" "$socket" "$msg"; do
        esc "$field"
        row+=$'\t'$REPLY
    done
    ROWS+=$row$'\n'
}

# ------------------------------------------------------------ worker mode

if [ "${1-}" = --probe-one ]; then
    ulimit -c 0     # no core files from the rare crash mentioned above
    TIMEOUT=$2 OUT=$3/$4
    shift 3
    ROWS=''
    while [ $# -ge 2 ]; do
        probe_one "$1" "$2"
        shift 2
    done
    # One file per worker: rows longer than a pipe's atomic write (4 KiB)
    # from workers writing at once would interleave.
    printf '%s' "$ROWS" > "$OUT"
    exit 0
fi

# --------------------------------------------------------------- main mode

NETNS=${GLUVIRT_URIPROBE_NETNS:-gluvirt-uriprobe}
JOBS=8
TIMEOUT=30
HEADER=0
KEEP=0
while getopts 'n:j:t:Hk' opt; do
    case $opt in
        n) NETNS=$OPTARG ;;
        j) JOBS=$OPTARG ;;
        t) TIMEOUT=$OPTARG ;;
        H) HEADER=1 ;;
        k) KEEP=1 ;;
        *) sed -n '/^# Usage:/,/^# Needs/p' "$0" >&2; exit 2 ;;
    esac
done

if ! command -v "$QEMU_IMG" >/dev/null; then
    echo "probe-qemu.sh: $QEMU_IMG not found" >&2
    exit 2
fi

created=0
rows=$(mktemp -d /tmp/gluvirt-uriprobe.XXXXXX)
cleanup() {
    rm -rf "$rows"
    if [ "$created" = 1 ]; then
        ip netns delete "$NETNS" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ip netns list | awk '{print $1}' | grep -qxF -- "$NETNS"; then
    if [ "$KEEP" != 1 ]; then
        echo "probe-qemu.sh: network namespace $NETNS already exists (use -k to reuse it, or -n NAME)" >&2
        exit 2
    fi
else
    ip netns add "$NETNS"
    created=1
    ip netns exec "$NETNS" ip link set lo up
fi

# The namespace must have no route off the machine: only 'lo' may exist.
if ip netns exec "$NETNS" ip -o link show | awk -F': ' '{print $2}' | grep -qvx lo; then
    echo "probe-qemu.sh: namespace $NETNS has interfaces other than lo; refusing" >&2
    exit 2
fi

if [ "$HEADER" = 1 ]; then
    printf 'uri\tqemu\ttransport\thost\tport\tvolume\tpath\tsocket\tqemu_message\n'
fi

# Number the input lines, run the probes in parallel (workers of 8 probes
# each, started inside the namespace), restore the order.
idx=0
while IFS= read -r line || [ -n "$line" ]; do
    line=${line%$'\r'}
    case $line in '' | '#'*) continue ;; esac
    idx=$((idx + 1))
    printf '%s\0%s\0' "$idx" "$line"
done | xargs -0 -n 16 -P "$JOBS" ip netns exec "$NETNS" bash "$0" --probe-one "$TIMEOUT" "$rows"
find "$rows" -type f -exec cat {} + | sort -t $'\t' -k1,1n -s | cut -f2-
