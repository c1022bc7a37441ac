# ---------------------------------------------------------------- hostile qcow2
# Damaged and hostile qcow2 images: tests/qcow2/test_qcow2_hostile makes valid
# images with qemu-img and qemu-io at run time (no server), breaks one header
# field, extension or table entry at a time, and checks that opening fails
# with the right errno and a message naming the problem, or, for damage met
# only when reading, that the read of that range fails and the rest reads.
# Needs qemu-img and qemu-io (qemu-utils).
if HAVE_CRITERION
qcow2_hostile_criterion_tests = tests/qcow2/test_qcow2_hostile
check_PROGRAMS += $(qcow2_hostile_criterion_tests)

tests_qcow2_test_qcow2_hostile_SOURCES = tests/qcow2/test_qcow2_hostile.c $(qcow2_write_support)
tests_qcow2_test_qcow2_hostile_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_qcow2_test_qcow2_hostile_LDADD = lib/libgluvirt.la $(CRITERION_LIBS) -lpthread
endif

TESTS += $(qcow2_hostile_criterion_tests)

# The qcow2 fuzzer (tests/fuzz/run-fuzzers.sh builds it with clang) and the
# generator of its seed corpus.
EXTRA_DIST += \
	tests/fuzz/fuzz_qcow2.c \
	tests/fuzz/make-qcow2-seeds.sh
