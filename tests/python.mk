# ---------------------------------------------------------------- python tests
# The Python binding under /usr/bin/python3 -m pytest (run-pytest.sh):
#   test_prototypes.py  the ctypes prototypes against include/gluvirt/*.h
#                       (parsed by docs/header_api.py): argument counts and
#                       types, results, callback and handle types, enum values
#   test_uri.py         gluvirt.Uri against 'gluvirt uri'
#   test_check_local.py check() against qemu-img check, repairs (an open for
#                       repair; a writable image being written), errors
#   test_image_local.py I/O, asyncio, errors, info()/map() against the
#                       command and qemu-img, on local images qemu-img made
#   test_gluster.py     the same on the test volume gv0, and the pool
#   test_errors.py      gluvirt.Error is also the OSError subclass of its errno
#   test_lock.py        force_share and locking="off" beside qemu-io, QEMU
#                       refusing what the binding writes, two pools on gv0
#   test_flags_log.py   fua=, may_trim=, no_fallback= against qemu-io's
#                       write -z [-u] and qemu-img check -U; set_log_handler
#                       with a volfile server down, into logging, and gfapi's
#                       log through the pipe on gv0
#   test_qcow2_asyncio.py a seeded trace of asyncio writes, zeroings, discards
#                       and flushes on a qcow2 image against qemu-io's, and
#                       pread_into_async against qemu-img
# The gluster tests fail without the test volumes when
# GLUVIRT_REQUIRE_GLUSTER=1, else skip.
TESTS += tests/python/run-pytest.sh
EXTRA_DIST += \
	tests/python/run-pytest.sh \
	tests/python/conftest.py \
	tests/python/test_prototypes.py \
	tests/python/test_uri.py \
	tests/python/test_image_local.py \
	tests/python/test_gluster.py \
	tests/python/test_errors.py \
	tests/python/test_lock.py \
	tests/python/test_check_local.py \
	tests/python/test_flags_log.py \
	tests/python/test_qcow2_asyncio.py
