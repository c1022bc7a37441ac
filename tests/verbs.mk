# ---------------------------------------------------------------- maintenance verbs
# compare, measure, resize, snapshot (issue 15), each judged by qemu-img on the same
# images:
#   tests/verbs/test_verbs          the library calls: verdicts and figures
#                                   against qemu-img, progress, stops at
#                                   random moments, error paths (Criterion)
#   tests/verbs/compare-qemu.sh     gluvirt compare vs qemu-img compare:
#                                   stdout and exit codes, normal and strict
#   tests/verbs/measure-qemu.sh     gluvirt measure vs qemu-img measure: new
#                                   images of many sizes and layouts, existing
#                                   images with holes, human and JSON output
#   tests/verbs/resize-qemu.sh      gluvirt resize vs qemu-img resize on twin
#                                   copies (raw and qcow2): output, exit code,
#                                   size and bytes, qemu-img check
#   tests/verbs/snapshot-qemu.sh    gluvirt snapshot vs qemu-img snapshot:
#                                   made by one, listed, applied, deleted by
#                                   the other; views and qemu-img check
#   tests/verbs/verbs-gluster.sh    the three verbs on the test volume gv2
#                                   (gluster:// URIs and json:{...}), against
#                                   qemu-img on the same files; unreachable
#                                   servers.  Skips without the test volumes,
#                                   fails then when GLUVIRT_REQUIRE_GLUSTER=1.
if HAVE_CRITERION
verbs_criterion_tests = tests/verbs/test_verbs
check_PROGRAMS += $(verbs_criterion_tests)

tests_verbs_test_verbs_SOURCES = tests/verbs/test_verbs.c
tests_verbs_test_verbs_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_verbs_test_verbs_LDADD = lib/libgluvirt.la $(CRITERION_LIBS)

TESTS += $(verbs_criterion_tests)
endif

verbs_script_tests = \
	tests/verbs/compare-qemu.sh \
	tests/verbs/measure-qemu.sh \
	tests/verbs/resize-qemu.sh \
	tests/verbs/snapshot-qemu.sh \
	tests/verbs/verbs-gluster.sh
TESTS += $(verbs_script_tests)
EXTRA_DIST += \
	$(verbs_script_tests) \
	tests/verbs/lib.sh
