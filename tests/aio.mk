# ---------------------------------------------------------------- callback I/O
# gluvirt_image_aio_*: tests/unit/test_image_aio_local on the local-file
# backend (temporary files, no server) and tests/gluster/test_image_aio on
# the real test volume gv2, which fails without the test volumes when
# GLUVIRT_REQUIRE_GLUSTER=1, else skips.
if HAVE_CRITERION
aio_criterion_tests = tests/unit/test_image_aio_local tests/unit/test_image_aio_local_flow \
	tests/gluster/test_image_aio tests/gluster/test_image_aio_edges \
	tests/gluster/test_image_aio_merge
check_PROGRAMS += $(aio_criterion_tests)

tests_unit_test_image_aio_local_SOURCES = tests/unit/test_image_aio_local.c tests/unit/test_image_aio_local_support.h
tests_unit_test_image_aio_local_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_unit_test_image_aio_local_LDADD = lib/libgluvirt.la $(CRITERION_LIBS) -lpthread

tests_unit_test_image_aio_local_flow_SOURCES = tests/unit/test_image_aio_local_flow.c tests/unit/test_image_aio_local_support.h
tests_unit_test_image_aio_local_flow_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_unit_test_image_aio_local_flow_LDADD = lib/libgluvirt.la $(CRITERION_LIBS) -lpthread

tests_gluster_test_image_aio_SOURCES = tests/gluster/test_image_aio.c tests/gluster/test_image_aio_support.h
tests_gluster_test_image_aio_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_gluster_test_image_aio_LDADD = lib/libgluvirt.la $(CRITERION_LIBS) -lpthread

tests_gluster_test_image_aio_edges_SOURCES = tests/gluster/test_image_aio_edges.c tests/gluster/test_image_aio_support.h
tests_gluster_test_image_aio_edges_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_gluster_test_image_aio_edges_LDADD = lib/libgluvirt.la $(CRITERION_LIBS) -lpthread

tests_gluster_test_image_aio_merge_SOURCES = tests/gluster/test_image_aio_merge.c tests/gluster/test_image_aio_support.h
# It asserts that merges happen (lib/util/stats.h): linked with the library's
# objects, internal counters and all.
tests_gluster_test_image_aio_merge_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/lib
tests_gluster_test_image_aio_merge_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_gluster_test_image_aio_merge_LDADD = lib/libgluvirt_core.la $(CRITERION_LIBS) -lpthread

TESTS += $(aio_criterion_tests)
endif
