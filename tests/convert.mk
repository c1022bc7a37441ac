# ---------------------------------------------------------------- convert
# gluvirt convert, judged by qemu-img convert on the same sources:
#   tests/convert/convert-qcow2.sh   -O qcow2 with -o options, -n, -S, its
#                                    errors, locally: targets equal to
#                                    qemu-img's and to the source, clean, no
#                                    larger
#   tests/convert/convert-gluster.sh -O qcow2 onto the test volume gv2, read
#                                    back by qemu-img.  Skips without the
#                                    test volumes, fails then when
#                                    GLUVIRT_REQUIRE_GLUSTER=1.
convert_script_tests = \
	tests/convert/convert-qcow2.sh \
	tests/convert/convert-gluster.sh
TESTS += $(convert_script_tests)
EXTRA_DIST += \
	$(convert_script_tests) \
	tests/convert/lib.sh
