# ---------------------------------------------------------------- image
# The synchronous image API: tests/unit/test_image_local and its errors,
# test_image_local_errors, on the local-file backend (temporary files, no
# server, tests/unit/image_local_support.c); tests/gluster/test_image on the real
# test volume gv0; and image-qemu.sh, which compares what gluvirt convert
# and gluvirt info give with what qemu-img gives for images qemu made (on
# gv1).  The gluster ones fail without the test volumes when
# GLUVIRT_REQUIRE_GLUSTER=1, else skip.
if HAVE_CRITERION
image_criterion_tests = tests/unit/test_image_local tests/unit/test_image_local_errors \
	tests/gluster/test_image
check_PROGRAMS += $(image_criterion_tests)

image_local_support = tests/unit/image_local_support.c tests/unit/image_local_support.h

tests_unit_test_image_local_SOURCES = tests/unit/test_image_local.c $(image_local_support)
tests_unit_test_image_local_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_unit_test_image_local_LDADD = lib/libgluvirt.la $(CRITERION_LIBS)

tests_unit_test_image_local_errors_SOURCES = tests/unit/test_image_local_errors.c \
	$(image_local_support)
tests_unit_test_image_local_errors_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_unit_test_image_local_errors_LDADD = lib/libgluvirt.la $(CRITERION_LIBS)

tests_gluster_test_image_SOURCES = tests/gluster/test_image.c
tests_gluster_test_image_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_gluster_test_image_LDADD = lib/libgluvirt.la $(CRITERION_LIBS) -lpthread
endif

TESTS += $(image_criterion_tests) tests/gluster/image-qemu.sh
EXTRA_DIST += tests/gluster/image-qemu.sh

# An image whose volume is stopped under it (volume-gone.sh drives the
# checker program, stopping and restarting its own volume gvgone).
if HAVE_CRITERION
check_PROGRAMS += tests/gluster/volume_gone
tests_gluster_volume_gone_SOURCES = tests/gluster/volume_gone.c
tests_gluster_volume_gone_LDADD = lib/libgluvirt.la
endif
TESTS += tests/gluster/volume-gone.sh
EXTRA_DIST += tests/gluster/volume-gone.sh

# gluvirt bench prints what qemu-img bench prints for the same options.
TESTS += tests/unit/bench-output.sh
EXTRA_DIST += tests/unit/bench-output.sh
