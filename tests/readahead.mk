# ---------------------------------------------------------------- read-ahead
# The sequential read-ahead of callback reads (lib/image/image_readahead.c):
# tests/unit/test_image_readahead on the local-file backend (temporary
# files and qemu-img, no server; the backend has no async reads, so the
# read-ahead only watches) and tests/gluster/test_image_readahead on the
# real test volume gv2, where it prefetches; that one fails without the
# test volumes when GLUVIRT_REQUIRE_GLUSTER=1, else skips.
if HAVE_CRITERION
readahead_criterion_tests = tests/unit/test_image_readahead tests/gluster/test_image_readahead
check_PROGRAMS += $(readahead_criterion_tests)

tests_unit_test_image_readahead_SOURCES = tests/unit/test_image_readahead.c tests/readahead_chain.h
tests_unit_test_image_readahead_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_unit_test_image_readahead_LDADD = lib/libgluvirt.la $(CRITERION_LIBS) -lpthread

tests_gluster_test_image_readahead_SOURCES = tests/gluster/test_image_readahead.c tests/gluster/test_image_aio_support.h \
	tests/readahead_chain.h
# It asserts that prefetches are sent and hit (lib/util/stats.h): linked with the
# library's objects, internal counters and all.
tests_gluster_test_image_readahead_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/lib
tests_gluster_test_image_readahead_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_gluster_test_image_readahead_LDADD = lib/libgluvirt_core.la $(CRITERION_LIBS) -lpthread

TESTS += $(readahead_criterion_tests)
endif
