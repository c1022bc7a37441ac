"""Print where 'make install' puts the gluvirt package for a prefix: the
directory that this python3 searches for packages installed under it.

    python3 site-dir.py PREFIX

Debian's python3 looks in /usr/local/lib/python3.X/dist-packages for
prefix /usr/local and in /usr/lib/python3/dist-packages for /usr; any other
prefix gets the upstream layout, PREFIX/lib/python3.X/site-packages, which
is then to be added to PYTHONPATH.
"""

import os
import sys
import sysconfig


def site_dir(prefix):
    prefix = os.path.normpath(prefix)
    schemes = sysconfig.get_scheme_names()
    if prefix == "/usr/local" and "posix_local" in schemes:
        # posix_local adds the "local" itself, to a base of /usr
        return sysconfig.get_path("purelib", "posix_local", vars={"base": "/usr"})
    if prefix == "/usr" and "deb_system" in schemes:
        return sysconfig.get_path("purelib", "deb_system", vars={"base": "/usr"})
    return sysconfig.get_path("purelib", "posix_prefix", vars={"base": prefix})


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: site-dir.py PREFIX")
    print(site_dir(sys.argv[1]))
