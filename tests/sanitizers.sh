#!/bin/bash
# The test suite under AddressSanitizer + UndefinedBehaviorSanitizer, then
# valgrind memcheck on the pool suite and the qcow2 suites.
#
#   tests/sanitizers.sh            (as root, from anywhere)
#
# 1. Configures the source tree in its own build directory (GLUVIRT_ASAN_BUILD,
#    default /tmp/gluvirt-asan, made afresh) with
#    CFLAGS='-fsanitize=address,undefined -fno-omit-frame-pointer -g -O1',
#    builds it and runs 'make check' there inside the test volumes' network
#    namespace.  Any sanitizer report fails the run: ASan and UBSan stop the
#    program (halt_on_error), LeakSanitizer reports leaks at exit; its only
#    suppressions are gfapi's own leaks (written below, each with its reason),
#    and leaks whose stacks never touch this tree (the test framework's) are
#    shown but not counted.
# 2. Runs valgrind memcheck (definite and indirect leaks count as errors, and
#    every memory error) on tests/gluster/test_pool, on the Criterion
#    programs under tests/qcow2/ but those the .mk files name in
#    valgrind_skipped_programs, and on the gluvirt command as the qcow2
#    scripts (tests/qcow2/*.sh but those the .mk files name in
#    valgrind_skipped_scripts, for time) call it, with
#    tests/valgrind.supp.
#    This needs a normal (uninstrumented) build: GLUVIRT_PLAIN_BUILD names
#    one; by default the source tree itself when it is built (as
#    tests/run-all.sh leaves it), else one is made in /tmp/gluvirt-valgrind.
#
# The tests that start clusters of their own (pool-failover, the three-node
# reliability test, ...) get namespaces named after GLUVIRT_NETNS (NETNS-fo,
# NETNS-3, ...) unless their own variables say otherwise.
#
# The single-node test volumes must be up (tests/cluster/test-volumes.sh up);
# their env file is read from GLUVIRT_CLUSTER_BASE (default
# /tmp/gluvirt-cluster)/env, and GLUVIRT_NETNS, if set, must agree with it.
# Other knobs: GLUVIRT_SAN_JOBS (make -j, default 2), GLUVIRT_SAN_PARTS
# ("asan valgrind", the default, or either one; "asan-build" only builds
# the instrumented tree, which a later "asan" with GLUVIRT_SAN_PREBUILT=1
# uses instead of building again), GLUVIRT_SAN_TESTS (a TESTS
# list for the ASan run, default all), GLUVIRT_SAN_EXCLUDE (tests left out of
# it, default the .mk files' asan_skipped_tests, each with its reason),
# GLUVIRT_SAN_VALGRIND_SKIP (qcow2 script names, default the .mk files'
# valgrind_skipped_scripts),
# GLUVIRT_RELIABILITY_LEAVE_OUT (faults the
# reliability test leaves out here, default "brick-kill vmstore,all-bricks-down
# vmstore stop,glusterd-restart vmstore"),
# GLUVIRT_LOAD_SECONDS for the reliability test's load under ASan (default
# 20 here).  Logs stay in the
# build directories; the exit status is 0 only when every part passed.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
asan_build=${GLUVIRT_ASAN_BUILD:-/tmp/gluvirt-asan}
jobs=${GLUVIRT_SAN_JOBS:-2}
parts=${GLUVIRT_SAN_PARTS:-asan valgrind}
cluster_base=${GLUVIRT_CLUSTER_BASE:-/tmp/gluvirt-cluster}
started=$SECONDS

say() { printf '\n=== sanitizers: %s\n' "$*"; }
die() {
    echo "sanitizers: $*" >&2
    exit 1
}

[ "$(id -u)" = 0 ] || die "run as root (the gluster tests use network namespaces)"
[ -x "$src/configure" ] || die "$src/configure is missing: run 'autoreconf -fi' in $src"
[ -r "$cluster_base/env" ] || die "no test volumes: $cluster_base/env is missing (tests/cluster/test-volumes.sh up)"
wanted_netns=${GLUVIRT_NETNS:-}
# shellcheck disable=SC1091
. "$cluster_base/env"
if [ -n "$wanted_netns" ] && [ "$wanted_netns" != "$GLUVIRT_NETNS" ]; then
    die "GLUVIRT_NETNS=$wanted_netns, but $cluster_base/env is for '$GLUVIRT_NETNS'"
fi
export GLUVIRT_REQUIRE_GLUSTER=${GLUVIRT_REQUIRE_GLUSTER:-1}
# The tests that start clusters of their own get names derived from the test
# volumes' namespace, so that this run never tears down the clusters of a
# 'make check' running beside it with other volumes.
export GLUVIRT_FO_NETNS=${GLUVIRT_FO_NETNS:-$GLUVIRT_NETNS-fo}
export GLUVIRT_FO_BASE=${GLUVIRT_FO_BASE:-/tmp/$GLUVIRT_NETNS-fo}
export GLUVIRT_VS_NETNS=${GLUVIRT_VS_NETNS:-$GLUVIRT_NETNS-vs}
export GLUVIRT_VS_BASE=${GLUVIRT_VS_BASE:-/tmp/$GLUVIRT_NETNS-vs}
export GLUVIRT_URIPROBE_NETNS=${GLUVIRT_URIPROBE_NETNS:-$GLUVIRT_NETNS-uriprobe}
export GLUVIRT3_NETNS=${GLUVIRT3_NETNS:-$GLUVIRT_NETNS-3}
export GLUVIRT3_BASE=${GLUVIRT3_BASE:-/tmp/$GLUVIRT_NETNS-3}
results=()
failed=0
record() {
    if [ "$2" -eq 0 ]; then results+=("PASS $1"); else
        results+=("FAIL $1")
        failed=$((failed + 1))
    fi
}

# ---------------------------------------------------------------- ASan + UBSan
# Configures and builds the instrumented tree (library, tools, test
# programs) in $asan_build, from $asan_src; on success leaves build.ok there,
# naming the source it was built from.
asan_src=$src
build_asan() {
    local flags='-fsanitize=address,undefined -fno-omit-frame-pointer -g -O1'
    local t0=$SECONDS
    say "ASan+UBSan build in $asan_build"
    case $asan_build in /tmp/?* | /var/tmp/?*) rm -rf -- "$asan_build" "$asan_build.src" ;; esac
    mkdir -p "$asan_build"
    if [ -f "$src/config.status" ]; then
        # The source tree is built in place (tests/run-all.sh does that), and
        # autoconf builds elsewhere only from an unconfigured tree: build a
        # copy of the tracked files.
        asan_src=$asan_build.src
        mkdir -p "$asan_src"
        if ! (cd "$src" && git ls-files -z) | tar -C "$src" --null -T - -cf - |
            tar -C "$asan_src" -xf - || ! (cd "$asan_src" && autoreconf -fi >/dev/null 2>&1); then
            record "ASan+UBSan build (copy of the source tree)" 1
            return 1
        fi
    fi
    cd "$asan_build"
    if ! "$asan_src/configure" --quiet CFLAGS="$flags" CXXFLAGS="$flags" \
        LDFLAGS='-fsanitize=address,undefined' >configure.log 2>&1 ||
        ! make -j"$jobs" >build.log 2>&1 ||
        ! make -j"$jobs" check TESTS= >build-tests.log 2>&1; then
        tail -n 40 configure.log build.log build-tests.log 2>/dev/null >&2 || true
        record "ASan+UBSan build" 1
        return 1
    fi
    printf '%s\n' "$asan_src" >build.ok
    echo "sanitizers: built in $((SECONDS - t0)) s"
}

run_asan() {
    local status=0 t0=$SECONDS
    # A build made earlier by the asan-build part (tests/run-all.sh runs it
    # beside the plain make check) is used when GLUVIRT_SAN_PREBUILT=1.
    if [ "${GLUVIRT_SAN_PREBUILT:-0}" = 1 ] && [ -f "$asan_build/build.ok" ]; then
        asan_src=$(cat "$asan_build/build.ok")
        say "ASan+UBSan build in $asan_build (made beside the plain make check)"
        cd "$asan_build"
    else
        build_asan || return 0
    fi

    # LeakSanitizer judges every leak by its whole allocation stack
    # (fast_unwind_on_malloc=0: gluster's libraries have no frame pointers,
    # so the fast unwinder stops at their first frame and a leak reached
    # through a gfapi call would show no frame of ours; 20 frames reach past
    # the allocator's and gluster's to ours, and each frame more costs every
    # allocation time).  Two lists name
    # gfapi's own leaks, nothing wider:
    # - lsan.supp, frames that only gfapi's constructors reach.  glfs_fini
    #   never frees two blocks that glfs_new allocates: the context's process
    #   id string (glusterfs_ctx_new) and the iobuf pool header
    #   (iobuf_pool_new), with the memory accounting of the master translator
    #   (xlator_mem_acct_init); a program doing only glfs_new, glfs_init,
    #   glfs_fini leaks the same.
    # - gfapi_chains in scan-reports.py: the exact gluster frames between an
    #   allocation and our call into gfapi, for blocks that glfs_init
    #   allocates and a glfs_fini still running at exit has not freed yet
    #   (the pool finishes clients on a background thread and does not wait
    #   its ~10 s, see notes/cluster.md): the master translator, its options,
    #   its name and type.  A leak through any other gfapi path that starts
    #   in our code counts, so does every block glfs_new allocates for a
    #   client we lose (glfs_new is not listed).
    cat >lsan.supp <<'EOF'
leak:glusterfs_ctx_new
leak:iobuf_pool_new
leak:xlator_mem_acct_init
EOF
    # Every instrumented process writes its reports to a file of its own
    # (log_path), also when a test throws its stderr away.  ASan errors and
    # UBSan stop the program with a failure (abort_on_error, halt_on_error).
    # Leaks do not change exit statuses (LSan's exitcode=0): Criterion 2.4
    # itself leaks 48 bytes per runner, and every stack of a Criterion test
    # passes through libcriterion, so no suppression could tell that leak
    # from ours.  scan-reports.py (below) judges the reports instead: a leak
    # counts when a frame of its stack is in this source tree or libgluvirt,
    # unless the gluster frames above our call are one of gfapi_chains.
    rm -rf reports
    mkdir reports
    export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:print_summary=1:fast_unwind_on_malloc=0:malloc_context_size=20:log_path=$asan_build/reports/asan"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:report_error_type=1:log_path=$asan_build/reports/ubsan"
    export LSAN_OPTIONS="suppressions=$asan_build/lsan.supp:print_suppressions=0:exitcode=0"
    export GLUVIRT_LOAD_SECONDS=${GLUVIRT_LOAD_SECONDS:-20}
    # Left out here: the sharded brick kill (100 s here; the qcow2 writer it
    # drives runs under ASan in the qcow2 suites, the faults in rep3's), the hung bricks (the error path
    # of every brick down is rep3's kill) and glusterd's restarts (mostly
    # waiting for gluster; the pool's failover runs in glusterd-down).
    export GLUVIRT_RELIABILITY_LEAVE_OUT=${GLUVIRT_RELIABILITY_LEAVE_OUT-brick-kill vmstore,all-bricks-down vmstore stop,glusterd-restart vmstore}
    # tests/uri/qemu-agreement.sh: only gluvirt against the vector table.
    # Its other steps spend minutes in qemu-img, which this build does not
    # change; the plain make check ran them.
    export GLUVIRT_QEMU_AGREEMENT=table
    # tests/qcow2/check-vs-qemu.sh: 25 hostile images, other seeds than the
    # plain pass's 150 (with all 150 it was by far the longest test here:
    # 20 minutes on a busy machine); the fuzzers feed the same reader
    # hostile images without end.
    export CHECK_HOSTILE_RUNS=${CHECK_HOSTILE_RUNS:-25} CHECK_HOSTILE_FIRST=${CHECK_HOSTILE_FIRST:-150}
    # tests/verbs/measure-qemu.sh: new images of five sizes, not twelve (a
    # new image's measure is arithmetic the sizes do not steer into other
    # code; the plain pass runs all twelve against qemu-img).
    export MEASURE_QEMU_SIZES=${MEASURE_QEMU_SIZES:-0 511 65536 1G 16T}
    cat >scan-reports.py <<'EOF'
"""Judge the sanitizer reports in DIR: print them, exit 1 if any counts."""
import os
import re
import sys

directory, source = sys.argv[1], sys.argv[2].rstrip("/") + "/"
ALLOCATORS = ("malloc", "calloc", "realloc", "posix_memalign", "aligned_alloc", "strdup",
              "strndup", "__interceptor_", "__gf_", "mem_get", "gf_strdup", "gf_vasprintf",
              "gf_asprintf")
# The gluster frames (allocators left out, '?' for a frame without a
# symbol) between a block glfs_init allocates and our call of glfs_init:
# the master translator glfs_init makes, its options, name and type.
gfapi_chains = {
    ("glfs_init",),
    ("dict_new", "glfs_init"),
    ("?", "glfs_init"),
    ("xlator_set_type_virtual", "xlator_set_type", "glfs_init"),
}


def frames(block):
    """(function, file or module) of each frame of a report's stack."""
    out = []
    for line in block.splitlines():
        m = re.match(r"\s*#\d+ 0x[0-9a-f]+(?: in (\S+))?\s*(.*)", line)
        if m:
            out.append((m.group(1) or "?", m.group(2)))
    return out


def ours(frame):
    return source in frame[1] or "libgluvirt" in frame[1]


def gfapi_chain(stack):
    """The non-allocator frames above the first frame of ours."""
    chain = []
    for frame in stack:
        if ours(frame):
            break
        if not frame[0].startswith(ALLOCATORS):
            chain.append(frame[0])
    return tuple(chain)


errors, leaks, gfapi, ignored = [], [], 0, 0
for name in sorted(os.listdir(directory)):
    with open(os.path.join(directory, name), errors="replace") as f:
        text = f.read()
    for match in re.finditer(r"^==\d+==ERROR: AddressSanitizer.*?(?=^==\d+==ABORTING|\Z)",
                             text, re.M | re.S):
        errors.append((name, match.group(0)))
    for match in re.finditer(r"^.*runtime error: .*?(?=^\S*runtime error: |\Z)", text, re.M | re.S):
        errors.append((name, match.group(0)))
    for block in re.findall(r"^(?:Direct|Indirect) leak of .*?(?=\n\n|\Z)", text, re.M | re.S):
        stack = frames(block)
        if not any(ours(frame) for frame in stack):
            ignored += 1
        elif gfapi_chain(stack) in gfapi_chains:
            gfapi += 1
        else:
            leaks.append((name, block))
for name, report in errors + leaks:
    print("--- %s\n%s" % (name, "\n".join(report.splitlines()[:30])))
print("sanitizers: %d ASan/UBSan error(s), %d leak(s) reached from this tree's code, "
      "%d of them glfs_init's blocks a background glfs_fini had not freed at exit (not "
      "counted), %d leak(s) with no frame of ours (gluster's own threads, the test "
      "framework; not counted)" % (len(errors), len(leaks) + gfapi, gfapi, ignored))
sys.exit(1 if errors or leaks else 0)
EOF

    # Python (ctypes) and nbdkit (the plugin) load the instrumented library
    # into a program that is not: the ASan runtime must then be preloaded,
    # or the library misbehaves (realpath fails with EINVAL, for one).  So
    # must libtirpc: ASan intercepts its xdr functions, and when gfapi loads
    # it later the interceptors call a null pointer.  Tests run
    # /usr/bin/python3 by its full path, so a sitecustomize module on
    # PYTHONPATH starts every Python again with the preload (Python's own
    # allocations are not judged); nbdkit is found on PATH, where a wrapper
    # goes first.  Nothing else gets the preload: gluster's daemons and tools
    # run as usual.
    local libasan preload tirpc nbdkit
    libasan=$(gcc -print-file-name=libasan.so)
    tirpc=$(ldd lib/.libs/libgluvirt.so.0 | awk '$1 ~ /^libtirpc/ { print $3 }')
    preload=$libasan${tirpc:+:$tirpc}
    mkdir -p asan-hosts
    if nbdkit=$(command -v nbdkit); then
        # shellcheck disable=SC2016 # expanded by the wrapper
        printf '#!/bin/sh\nLD_PRELOAD=%s${LD_PRELOAD:+:$LD_PRELOAD}\nexport LD_PRELOAD\nexec %s "$@"\n' \
            "$preload" "$nbdkit" >asan-hosts/nbdkit
        chmod +x asan-hosts/nbdkit
    fi
    export PATH=$asan_build/asan-hosts:$PATH
    mkdir -p python-asan
    cat >python-asan/sitecustomize.py <<EOF
"""Run this Python again with the ASan runtime preloaded (tests/sanitizers.sh).

The preload and the leak-check switch are for this process only: they are
taken out of the environment again, so the programs a test starts from
Python run as they would from the shell."""
import os

marker = "GLUVIRT_ASAN_PYTHON"
if os.environ.get(marker, "").split(":")[0] == str(os.getpid()):
    saved = os.environ.pop(marker).split(":", 2)
    os.environ["LD_PRELOAD"] = saved[1]
    os.environ["ASAN_OPTIONS"] = saved[2]
    if not saved[1]:
        del os.environ["LD_PRELOAD"]
else:
    preload = os.environ.get("LD_PRELOAD", "")
    options = os.environ.get("ASAN_OPTIONS", "")
    os.environ[marker] = "%d:%s:%s" % (os.getpid(), preload, options)
    os.environ["LD_PRELOAD"] = ":".join(p for p in ("$preload", preload) if p)
    os.environ["ASAN_OPTIONS"] = options + ":detect_leaks=0"
    with open("/proc/self/cmdline", "rb") as f:
        argv = [a.decode("utf-8", "surrogateescape") for a in f.read().split(b"\\0")[:-1]]
    os.execv("/proc/self/exe", argv)
EOF
    export PYTHONPATH=$asan_build/python-asan${PYTHONPATH:+:$PYTHONPATH}

    say "make check under ASan+UBSan (netns $GLUVIRT_NETNS)"
    t0=$SECONDS
    # Left out: the tests the .mk files name in asan_skipped_tests, each
    # with its reason there (GLUVIRT_SAN_EXCLUDE overrides the list).
    local tests exclude t
    # shellcheck disable=SC2016 # make expands it
    exclude=${GLUVIRT_SAN_EXCLUDE-$(make -s -f Makefile -f - print-skip <<<'print-skip: ; @echo $(asan_skipped_tests)')}
    # shellcheck disable=SC2016 # make expands it
    tests=${GLUVIRT_SAN_TESTS:-$(make -s -f Makefile -f - print-tests <<<'print-tests: ; @echo $(TESTS)')}
    for t in $exclude; do
        case " $tests " in *" $t "*) echo "sanitizers: not run under ASan: $t" ;; esac
        tests=$(tr ' ' '\n' <<<"$tests" | grep -vxF -- "$t" | tr '\n' ' ')
    done
    ip netns exec "$GLUVIRT_NETNS" make -j"$jobs" check TESTS="$tests" >check.log 2>&1 || status=$?
    grep -E '^(# [A-Z]+:|FAIL:|ERROR:|XPASS:)' check.log || true
    python3 scan-reports.py reports "$asan_src" >&2 || status=1
    # Skips that .ci/allowed-skips does not list fail it too (-I: not through python-asan).
    /usr/bin/python3 -I "$src/tests/check-skips.py" --label "make check under ASan+UBSan" . || status=1
    echo "sanitizers: make check under ASan+UBSan took $((SECONDS - t0)) s; slowest tests:"
    "$src/tests/slowest-tests.sh" . 12
    record "make check under ASan+UBSan ($(sed -n 's/^# PASS: *//p' test-suite.log 2>/dev/null || echo '?') passed)" "$status"
}

# ---------------------------------------------------------------- valgrind
plain_build() {
    if [ -n "${GLUVIRT_PLAIN_BUILD:-}" ]; then
        printf '%s\n' "$GLUVIRT_PLAIN_BUILD"
    elif [ -f "$src/config.h" ] && [ -x "$src/tools/gluvirt" ]; then
        printf '%s\n' "$src"
    else
        printf '%s\n' /tmp/gluvirt-valgrind
    fi
}

run_valgrind() {
    local build status t0=$SECONDS programs p logs n=0 errors=0 failed_before=$failed
    # The qcow2 scripts whose command valgrind does not run: the .mk files
    # name them (valgrind_skipped_scripts, each with its reason), read below
    # once the build's Makefile exists.  GLUVIRT_SAN_VALGRIND_SKIP, a list
    # of script names, overrides them ('' runs them all).
    local skip
    command -v valgrind >/dev/null || {
        echo "sanitizers: valgrind is missing (apt-get install valgrind)" >&2
        record "valgrind" 1
        return
    }
    build=$(plain_build)
    say "valgrind memcheck, build $build"
    if [ ! -f "$build/Makefile" ]; then
        mkdir -p "$build"
        (cd "$build" && "$src/configure" --quiet >configure.log 2>&1) || {
            record "valgrind: configure $build" 1
            return
        }
    fi
    cd "$build"
    # shellcheck disable=SC2016 # make expands it
    skip=${GLUVIRT_SAN_VALGRIND_SKIP-$(make -s -f Makefile -f - print-skip <<<'print-skip: ; @echo $(valgrind_skipped_scripts)' |
        tr ' ' '\n' | xargs -r -n1 basename | tr '\n' ' ')}
    # The programs: test_pool and the qcow2 Criterion suites (test_*; the
    # other programs there are drivers the scripts run), as the
    # Makefile knows them; then the command the qcow2 scripts run.
    # shellcheck disable=SC2016 # make expands it
    # Less the ones the .mk files name in valgrind_skipped_programs.
    local skipped_programs
    # shellcheck disable=SC2016 # make expands it
    skipped_programs=$(make -s -f Makefile -f - print-skip <<<'print-skip: ; @echo $(valgrind_skipped_programs)')
    # shellcheck disable=SC2016 # make expands it
    programs="tests/gluster/test_pool $(make -s -f Makefile -f - print-programs <<<'print-programs: ; @echo $(check_PROGRAMS)' |
        tr ' ' '\n' | grep '^tests/qcow2/test_' || true)"
    for p in $skipped_programs; do
        programs=$(tr ' ' '\n' <<<"$programs" | grep -vxF -- "$p" | tr '\n' ' ')
        echo "sanitizers: not run under valgrind: $p"
    done
    # shellcheck disable=SC2086 # a list of make targets
    if ! make -j"$jobs" tools/gluvirt $programs >valgrind-build.log 2>&1; then
        tail -n 30 valgrind-build.log >&2
        record "valgrind: build" 1
        return
    fi
    logs=$(mktemp -d /tmp/gluvirt-valgrind-logs.XXXXXX)
    # Criterion runs each test in a child of the same program (traced); the
    # qcow2 suites two at a time (each valgrind is one busy core:
    # test_qcow2_hostile 82 s instead of 110 s), the pool suite, whose
    # tests time their connections, one at a time.  The tools a test starts
    # (qemu-img, shells) are not ours and are skipped.  Each process logs to
    # a file of its own.
    # shellcheck disable=SC2054 # the commas belong to one option
    local vg=(valgrind --quiet --tool=memcheck --trace-children=yes
        "--trace-children-skip=/usr/*,/bin/*,/sbin/*"
        --leak-check=full --show-leak-kinds=definite,indirect
        --errors-for-leak-kinds=definite,indirect --num-callers=30
        --suppressions="$src/tests/valgrind.supp" --error-exitcode=99
        "--log-file=$logs/vg.%p.log")
    local t1
    local criterion_jobs
    for p in $programs; do
        status=0
        case $p in tests/qcow2/*) criterion_jobs=2 ;; *) criterion_jobs=1 ;; esac
        t1=$SECONDS
        ip netns exec "$GLUVIRT_NETNS" ./libtool --mode=execute "${vg[@]}" \
            "./$p" -j"$criterion_jobs" >"$logs/$(basename "$p").out" 2>&1 || status=$?
        tail -n 1 "$logs/$(basename "$p").out"
        record "valgrind $p ($((SECONDS - t1)) s)" "$status"
        n=$((n + 1))
    done
    # The qcow2 matrix scripts, with GLUVIRT running gluvirt under valgrind.
    {
        echo '#!/bin/bash'
        printf 'exec'
        printf ' %q' "$build/libtool" --mode=execute "${vg[@]}" "$build/tools/gluvirt"
        printf ' "$@"\n'
    } >"$logs/gluvirt"
    chmod +x "$logs/gluvirt"
    for p in "$src"/tests/qcow2/*.sh; do
        case " matrix-lib.sh $skip " in *" $(basename "$p") "*) continue ;; esac
        status=0
        t1=$SECONDS
        GLUVIRT=$logs/gluvirt top_srcdir=$src top_builddir=$build \
            ip netns exec "$GLUVIRT_NETNS" bash "$p" >"$logs/$(basename "$p").out" 2>&1 ||
            status=$?
        tail -n 1 "$logs/$(basename "$p").out"
        record "valgrind gluvirt in tests/qcow2/$(basename "$p") ($((SECONDS - t1)) s)" "$status"
        n=$((n + 1))
    done
    # Every report, wherever it came from (the exit status of a child may be
    # lost on the way).
    local processes=0
    for p in "$logs"/vg.*.log; do
        [ -e "$p" ] || continue
        processes=$((processes + 1))
        [ -s "$p" ] || continue
        errors=$((errors + 1))
        echo "sanitizers: valgrind report in $p:" >&2
        head -n 60 "$p" >&2
    done
    [ "$errors" -eq 0 ] || record "valgrind: $errors process(es) with reports" 1
    echo "sanitizers: valgrind on $n suites took $((SECONDS - t0)) s, $processes processes checked"
    if [ "$failed" -eq "$failed_before" ]; then
        rm -rf "$logs"
    else
        echo "sanitizers: valgrind logs and outputs kept in $logs"
    fi
}

for part in $parts; do
    case $part in
        asan-build) if build_asan; then record "ASan+UBSan build" 0; fi ;;
        asan) run_asan ;;
        valgrind) run_valgrind ;;
        *) die "unknown part '$part' in GLUVIRT_SAN_PARTS" ;;
    esac
done
say "summary"
printf '%s\n' "${results[@]}"
echo "sanitizers: $((SECONDS - started)) s in all, $failed failed"
[ "$failed" -eq 0 ]
