# ---------------------------------------------------------------- staged install
# tests/install/test-install.sh: 'make install DESTDIR=...' into a temporary
# tree, then everything a user of the installed library meets, from that
# tree only: pkg-config (shared and --static), the examples built out of
# tree, a man page for every exported symbol, the nbdkit plugin in nbdkit's
# plugin directory, the Python package (its gluster part needs the test
# volumes: skipped without them, failing when GLUVIRT_REQUIRE_GLUSTER=1).
TESTS += tests/install/test-install.sh
# Not under ASan: it installs the build and links programs against it as a
# user would, which an instrumented build is not made for (its library needs
# the sanitizer runtimes, which no .pc file names); the plain pass runs it.
asan_skipped_tests += tests/install/test-install.sh
EXTRA_DIST += tests/install/test-install.sh
