# ---------------------------------------------------------------- reliability
# Faults and load on a real three-node pool, which
# tests/reliability/reliability.sh starts itself in its own network namespace
# (gluvirt3, tests/cluster/three-node.sh) and removes at the end: bricks
# killed while reading and writing through both APIs, every brick killed or
# hung, a glusterd down or restarted, then 8 threads x 4 images x depth 32 of
# verified load for 60 s.  The checkers 'faults' and 'load' use the public
# API (and gfapi only to create their images).  Needs root and glusterd;
# fails without them when GLUVIRT_REQUIRE_GLUSTER=1, else skips.
#
# tests/sanitizers.sh (not run by 'make check') builds the tree with
# ASan+UBSan elsewhere and runs the suite there, then valgrind on the pool and
# qcow2 suites with the suppressions in tests/valgrind.supp.
if HAVE_CRITERION
check_PROGRAMS += tests/reliability/faults tests/reliability/load

reliability_sources = \
	tests/reliability/support.c tests/reliability/support.h \
	tests/reliability/latency.c tests/reliability/latency.h \
	tests/reliability/worker.c tests/reliability/worker.h

tests_reliability_faults_SOURCES = tests/reliability/faults.c $(reliability_sources)
tests_reliability_faults_CFLAGS = $(AM_CFLAGS) $(GFAPI_CFLAGS)
tests_reliability_faults_LDADD = lib/libgluvirt.la $(GFAPI_LIBS) -lpthread

tests_reliability_load_SOURCES = tests/reliability/load.c $(reliability_sources)
tests_reliability_load_CFLAGS = $(AM_CFLAGS) $(GFAPI_CFLAGS)
tests_reliability_load_LDADD = lib/libgluvirt.la $(GFAPI_LIBS) -lpthread
endif

TESTS += tests/reliability/reliability.sh
EXTRA_DIST += \
	tests/reliability/reliability.sh \
	tests/cluster/three-node.sh \
	tests/sanitizers.sh \
	tests/valgrind.supp
