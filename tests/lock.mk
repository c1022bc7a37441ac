# ---------------------------------------------------------------- locking
# Image locking (tests/lock/), with lock_holder, a program that opens
# images as asked and keeps them open:
#   lock-local.sh    QEMU against gluvirt on local files both ways: the same
#                    lock bytes as qemu-io (writer, reader, -U, backing
#                    files), EBUSY beside qemu-io, QEMU's refusals beside
#                    gluvirt, -U in the tools, a killed holder, callback I/O;
#                    needs qemu-img and qemu-io;
#   lock-gluster.sh  on the test volume: two processes, two pools in one
#                    process, readers beside a writer, a killed holder, the
#                    callback path (fails without the test volumes when
#                    GLUVIRT_REQUIRE_GLUSTER=1, else skips).
# The Python binding's force_share and locking are in
# tests/python/test_lock.py.
if HAVE_CRITERION
check_PROGRAMS += tests/lock/lock_holder
tests_lock_lock_holder_SOURCES = tests/lock/lock_holder.c
tests_lock_lock_holder_LDADD = lib/libgluvirt.la -lpthread
TESTS += \
	tests/lock/lock-local.sh \
	tests/lock/lock-gluster.sh
endif
EXTRA_DIST += \
	tests/lock/lib.sh \
	tests/lock/lock-local.sh \
	tests/lock/lock-gluster.sh
