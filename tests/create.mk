# ---------------------------------------------------------------- image creation
# Creating images and checking volumes (the Virt-Store workflow):
#   tests/create/test_create     gluvirt_image_create on local files and on the
#                                real test volume gv2, read back through the
#                                library, and its error paths (Criterion)
#   tests/create/create-qemu.sh  gluvirt create's raw and qcow2 images, on gv2
#                                and locally, judged by qemu-img check and
#                                qemu-img info (through a FUSE mount of gv2)
#   tests/create/check-volume.sh gluvirt check-volume on a volume tuned by
#                                scripts/virt-store-setup.sh (all pass) and on
#                                untuned, refusing and unreachable ones
#   tests/create/setup-3-nodes.sh scripts/virt-store-setup.sh on a private
#                                3-node cluster, then the hypervisor side:
#                                check-volume, create, qemu-img reads the image
# The gluster ones fail without the test volumes when
# GLUVIRT_REQUIRE_GLUSTER=1, else skip.
if HAVE_CRITERION
create_criterion_tests = tests/create/test_create
check_PROGRAMS += $(create_criterion_tests)

tests_create_test_create_SOURCES = tests/create/test_create.c
tests_create_test_create_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_create_test_create_LDADD = lib/libgluvirt.la $(CRITERION_LIBS)

TESTS += $(create_criterion_tests)
endif

create_script_tests = \
	tests/create/create-qemu.sh \
	tests/create/check-volume.sh \
	tests/create/setup-3-nodes.sh
TESTS += $(create_script_tests)
EXTRA_DIST += \
	$(create_script_tests) \
	tests/create/lib.sh \
	scripts/virt-store-setup.sh \
	docs/virt-store.md
