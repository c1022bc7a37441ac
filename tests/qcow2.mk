# ---------------------------------------------------------------- qcow2
# The qcow2 reader against images qemu-img makes (tests/qcow2/):
#   matrix-local.sh     about twenty qcow2 variants made by qemu-img/qemu-io
#                       7.2 (matrix-lib.sh lists them), read by gluvirt
#                       convert, map and info and compared with qemu-img's
#                       answers: bytes, map lines, info keys (compare-info.py);
#   matrix-gluster.sh   the same images copied onto the test volume gv1 and
#                       read by gluster:// URI, plus the backing file policy
#                       on a volume (fails without the test volumes when
#                       GLUVIRT_REQUIRE_GLUSTER=1, else skips; runs as root);
#   probe-and-policy.sh a qcow2 header inside a raw disk is read as raw unless
#                       the format is asked for or probed; backing file names
#                       the default policy refuses for local images;
#   check-vs-qemu.sh    gluvirt check (and -r leaks/all) against qemu-img
#                       check on clean images of every layout and on copies
#                       damaged by check-damage.py: exit codes, JSON, text,
#                       and the repaired images judged by qemu-img.
TESTS += \
	tests/qcow2/matrix-local.sh \
	tests/qcow2/probe-and-policy.sh \
	tests/qcow2/check-vs-qemu.sh \
	tests/qcow2/matrix-gluster.sh
# matrix-gluster.sh not under ASan (150 s there): the reader and the command
# meet the same qemu-made images under ASan in matrix-local.sh, and the
# gluster storage path in the gluster suites; the plain pass runs it.
asan_skipped_tests += tests/qcow2/matrix-gluster.sh
# The command under valgrind in the qcow2 scripts: probe-and-policy.sh only.
# The others run it thousands of times (minutes under valgrind); ASan+UBSan
# run them all, and valgrind runs the qcow2 Criterion suites.
valgrind_skipped_scripts += \
	tests/qcow2/matrix-local.sh \
	tests/qcow2/matrix-gluster.sh \
	tests/qcow2/check-vs-qemu.sh
EXTRA_DIST += \
	tests/qcow2/matrix-lib.sh \
	tests/qcow2/compare-info.py \
	tests/qcow2/matrix-local.sh \
	tests/qcow2/probe-and-policy.sh \
	tests/qcow2/check-vs-qemu.sh \
	tests/qcow2/check-damage.py \
	tests/qcow2/matrix-gluster.sh

# Writing qcow2 images (tests/qcow2/test_qcow2_write): images made by
# qemu-img in the common layouts (version 2 and 3, clusters of 512 bytes to
# 2 MiB, with and without a backing file) take seeded random traces of
# writes, zeroing, discards and flushes through the public API; 'qemu-img
# check' must find them clean and 'qemu-img compare' equal to the same trace
# on a raw model.  Also the refused layouts, racing writers, a growing
# refcount table and writes aimed at metadata.  Local files only; needs
# qemu-img and qemu-io (qemu-utils).
if HAVE_CRITERION
qcow2_write_criterion_tests = tests/qcow2/test_qcow2_write
check_PROGRAMS += $(qcow2_write_criterion_tests)

qcow2_write_support = tests/qcow2/qcow2_write_support.c tests/qcow2/qcow2_write_support.h \
	$(image_local_support)
tests_qcow2_test_qcow2_write_SOURCES = tests/qcow2/test_qcow2_write.c $(qcow2_write_support)
tests_qcow2_test_qcow2_write_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_qcow2_test_qcow2_write_LDADD = lib/libgluvirt.la $(CRITERION_LIBS) -lpthread
endif

TESTS += $(qcow2_write_criterion_tests)

# Request flags (tests/qcow2/test_request_flags): zeroing with and without
# GLUVIRT_REQ_MAY_TRIM against qemu-io's 'write -z [-u]' on copies (qemu-img
# map, compare, check), GLUVIRT_REQ_NO_FALLBACK's ENOTSUP leaving the file
# untouched, GLUVIRT_REQ_FUA writes checked by 'qemu-img check -U' while the
# image is open, EINVAL for flags a call does not take.  Local files only.
if HAVE_CRITERION
request_flags_criterion_tests = tests/qcow2/test_request_flags
check_PROGRAMS += $(request_flags_criterion_tests)
tests_qcow2_test_request_flags_SOURCES = tests/qcow2/test_request_flags.c $(qcow2_write_support)
tests_qcow2_test_request_flags_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_qcow2_test_request_flags_LDADD = lib/libgluvirt.la $(CRITERION_LIBS) -lpthread
endif

TESTS += $(request_flags_criterion_tests)

# More qcow2 layouts written (tests/qcow2/test_qcow2_write_layouts): refcount
# widths of 1 to 64 bits, internal snapshots, compressed clusters, lazy
# refcounts; traces judged by qemu-img as above, snapshots read back by
# qemu-img before and after, and qemu-io and the library writing one image in
# turns.  Local files only; needs qemu-img and qemu-io.
if HAVE_CRITERION
qcow2_write_layouts_criterion_tests = tests/qcow2/test_qcow2_write_layouts
check_PROGRAMS += $(qcow2_write_layouts_criterion_tests)

tests_qcow2_test_qcow2_write_layouts_SOURCES = tests/qcow2/test_qcow2_write_layouts.c \
	$(qcow2_write_support)
tests_qcow2_test_qcow2_write_layouts_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_qcow2_test_qcow2_write_layouts_LDADD = lib/libgluvirt.la $(CRITERION_LIBS) -lpthread
endif

TESTS += $(qcow2_write_layouts_criterion_tests)

# Crash safety of writes (tests/qcow2/kill9-writes.sh): kill9_writer runs a
# seeded random trace through the public API on a copy of an image qemu-img
# made and is killed with SIGKILL after a random delay; 'qemu-img check'
# must find no corruption (leaks allowed) and every step before the last
# completed flush must read back.  Six layouts, five rounds each.
if HAVE_CRITERION
check_PROGRAMS += tests/qcow2/kill9_writer
tests_qcow2_kill9_writer_SOURCES = tests/qcow2/kill9_writer.c
tests_qcow2_kill9_writer_LDADD = lib/libgluvirt.la
TESTS += tests/qcow2/kill9-writes.sh
# The write suites run under ASan+UBSan, not valgrind (two minutes there);
# valgrind keeps the hostile-image reader, the request flags, the pool and
# the command in probe-and-policy.sh.
valgrind_skipped_programs += tests/qcow2/test_qcow2_write tests/qcow2/test_qcow2_write_layouts
valgrind_skipped_scripts += tests/qcow2/kill9-writes.sh
endif
EXTRA_DIST += tests/qcow2/kill9-writes.sh
