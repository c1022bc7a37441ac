# ---------------------------------------------------------------- staged install
# tests/install/test-install.sh: 'make install DESTDIR=...' into a temporary
# tree, then everything a user of the installed library meets, from that
# tree only: pkg-config (shared and --static), the examples built out of
# tree, a man page for every exported symbol, the nbdkit plugin in nbdkit's
# plugin directory, the Python package (its gluster part needs the test
# volumes: skipped without them, failing when GLUVIRT_REQUIRE_GLUSTER=1).
TESTS += tests/install/test-install.sh
EXTRA_DIST += tests/install/test-install.sh
