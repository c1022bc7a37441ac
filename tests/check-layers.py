"""check-layers: lib/ is one folder per layer, and each calls only down.

    check-layers.py SRCDIR [BUILDDIR]

The layers, lowest first (lib/README.md):

    util < uri < gluster < {storage, volume} < format < image

storage and volume sit side by side: neither may use the other.  Fails
(exit 1, one line per finding) when
  - a source file of lib/ lies outside the layer folders;
  - an #include "..." in lib/ names a header of a higher or sideways layer,
    or names one without its folder ("util/internal.h", not "internal.h");
  - gfapi is called, or <glusterfs/...> included, outside gluster/,
    storage/ and volume/;
  - a layer's objects (BUILDDIR/lib/LAYER/.libs/libLAYER.a) use a symbol
    that a higher or sideways layer defines: the calls, as the linker sees
    them, not as the text reads (given BUILDDIR, as 'make check-layers'
    does);
  - a source file of the project (C, Python, shell) passes 800 lines.
"""
import os
import re
import subprocess
import sys

RANK = {"util": 0, "uri": 1, "gluster": 2, "storage": 3, "volume": 3, "format": 4, "image": 5}
GFAPI_LAYERS = ("gluster", "storage", "volume")
MAX_LINES = 800
SOURCE_DIRS = ("lib", "tools", "tests", "bench", "examples", "plugins", "bindings", "demo",
               "scripts", "abi")
SOURCE_EXTENSIONS = (".c", ".h", ".cpp", ".py", ".sh")

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
SYSTEM_GFAPI = re.compile(r"^\s*#\s*include\s+<glusterfs/")
GFAPI_CALL = re.compile(r"\bglfs_[a-z0-9_]+\s*\(")


def may_use(user, used):
    """Whether layer `user` may include or call into layer `used`."""
    return user == used or RANK[used] < RANK[user]


def lib_files(srcdir):
    """(layer or None, path relative to srcdir) of each C file under lib/."""
    for root, _, names in os.walk(os.path.join(srcdir, "lib")):
        for name in sorted(names):
            if not name.endswith((".c", ".h")):
                continue
            rel = os.path.relpath(os.path.join(root, name), srcdir)
            parts = rel.split(os.sep)
            layer = parts[1] if len(parts) == 3 and parts[1] in RANK else None
            yield layer, rel


def strip_comments(text):
    """C text without its comments (so that prose naming glfs_ is no call)."""
    return re.sub(r"/\*.*?\*/|//[^\n]*", lambda m: "\n" * m.group(0).count("\n"), text,
                  flags=re.S)


def check_sources(srcdir, findings):
    for layer, rel in lib_files(srcdir):
        if layer is None:
            findings.append(f"{rel}: outside the layer folders lib/{{{','.join(RANK)}}}/")
            continue
        with open(os.path.join(srcdir, rel), encoding="utf-8") as f:
            text = f.read()
        code = strip_comments(text)
        for number, line in enumerate(code.splitlines(), 1):
            m = INCLUDE.match(line)
            if m:
                header = m.group(1)
                if header == "config.h" or header.startswith("gluvirt/"):
                    continue
                folder = header.split("/")[0] if "/" in header else None
                if folder not in RANK:
                    findings.append(f'{rel}:{number}: #include "{header}": name the layer '
                                    f'folder (e.g. "{layer}/{header}")')
                elif not may_use(layer, folder):
                    findings.append(f'{rel}:{number}: #include "{header}": {layer} may not '
                                    f'use {folder} (it is not below it)')
                elif not os.path.exists(os.path.join(srcdir, "lib", header)):
                    findings.append(f'{rel}:{number}: #include "{header}": no such header')
            if layer not in GFAPI_LAYERS:
                if SYSTEM_GFAPI.match(line):
                    findings.append(f"{rel}:{number}: includes gfapi outside "
                                    f"{', '.join(GFAPI_LAYERS)}")
                call = GFAPI_CALL.search(line)
                if call:
                    findings.append(f"{rel}:{number}: calls {call.group(0).rstrip('( ')} "
                                    f"outside {', '.join(GFAPI_LAYERS)}")


def symbols(archive):
    """(defined, undefined) global symbols of a static archive, by nm."""
    out = subprocess.run(["nm", "-g", archive], check=True, capture_output=True,
                         text=True).stdout
    defined, undefined = {}, {}
    member = "?"
    for line in out.splitlines():
        if line.endswith(":") and not line.startswith(" "):
            member = line[:-1]
            continue
        parts = line.split()
        if len(parts) == 3 and parts[1] not in "Uw":
            defined[parts[2]] = member
        elif len(parts) == 2 and parts[0] == "U":
            undefined.setdefault(parts[1], member)
    return defined, undefined


def check_calls(builddir, findings):
    archives = {layer: os.path.join(builddir, "lib", layer, ".libs", f"lib{layer}.a")
                for layer in RANK}
    missing = [path for path in archives.values() if not os.path.exists(path)]
    if missing:
        findings.append(f"no layer library at {missing[0]}: build first ('make')")
        return
    tables = {layer: symbols(path) for layer, path in archives.items()}
    owner = {}
    for layer, (defined, _) in tables.items():
        for name, member in defined.items():
            owner[name] = (layer, member)
    for layer, (_, undefined) in tables.items():
        for name, member in sorted(undefined.items()):
            if name in owner and not may_use(layer, owner[name][0]):
                findings.append(f"lib/{layer}/{member.split('-', 1)[-1].replace('.o', '.c')} "
                                f"calls {name} of lib/{owner[name][0]}/ "
                                f"({layer} may not use {owner[name][0]})")


def check_sizes(srcdir, findings):
    for top in SOURCE_DIRS:
        for root, dirs, names in os.walk(os.path.join(srcdir, top)):
            dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__pycache__"]
            for name in names:
                if not name.endswith(SOURCE_EXTENSIONS):
                    continue
                path = os.path.join(root, name)
                with open(path, "rb") as f:
                    lines = f.read().count(b"\n")
                if lines > MAX_LINES:
                    findings.append(f"{os.path.relpath(path, srcdir)}: {lines} lines, past "
                                    f"{MAX_LINES}: split it (one concept per file)")


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__.split("\n\n")[1])
    srcdir = sys.argv[1]
    findings = []
    check_sources(srcdir, findings)
    if len(sys.argv) == 3:
        check_calls(sys.argv[2], findings)
    check_sizes(srcdir, findings)
    for finding in findings:
        print(f"check-layers: {finding}")
    if findings:
        print(f"check-layers: {len(findings)} finding(s); the layers are in lib/README.md")
        sys.exit(1)
    print("check-layers: every layer calls only down; no source file past "
          f"{MAX_LINES} lines")


if __name__ == "__main__":
    main()
