#!/usr/bin/python3
"""Compare 'gluvirt info --json' with 'qemu-img info --output=json'.

usage: compare-info.py [--prefix LOCAL=TARGET] [--size-slack BYTES] [--gluster]
                       OURS THEIRS

Both files hold one object, or (--backing-chain) a list of them, compared
layer by layer.  In each object:
  - every key gluvirt prints, qemu-img prints too (no invented keys);
  - every key qemu-img prints, gluvirt prints too, except the few listed in
    NOT_REPORTED (libgluvirt does not expose them);
  - the values of the shared keys are equal, recursively (snapshots element
    by element).
--prefix: qemu-img read the local copy under LOCAL and gluvirt the same files
under TARGET (a gluster URI): file names are compared with LOCAL replaced by
TARGET.  --size-slack: actual-size may differ by that many bytes (a brick
allocates a block for gluster's extended attributes).  --gluster: gluvirt
read the files on a volume, qemu-img local copies: QEMU's gluster driver has
no bdrv_get_info, so for a raw image there qemu-img prints no dirty-flag,
and neither does gluvirt.
Prints a one-line summary on success; the differences on failure (exit 1).
"""
import json
import sys

# Keys qemu-img 7.2 prints that libgluvirt's API does not expose.
NOT_REPORTED = {"format-specific.data.data-file-raw"}
FILE_NAME_KEYS = {"filename", "full-backing-filename"}


def main(argv):
    prefix = None
    slack = 0
    gluster = False
    args = argv[1:]
    while args and args[0].startswith("--"):
        if args[0] == "--prefix" and len(args) > 1:
            local, _, target = args[1].partition("=")
            prefix = (local, target)
            args = args[2:]
        elif args[0] == "--gluster":
            gluster = True
            args = args[1:]
        elif args[0] == "--size-slack" and len(args) > 1:
            slack = int(args[1])
            args = args[2:]
        else:
            sys.exit(__doc__)
    if len(args) != 2:
        sys.exit(__doc__)
    with open(args[0]) as f:
        ours = json.load(f)
    with open(args[1]) as f:
        theirs = json.load(f)

    problems = []
    shared = [0]

    def expected_name(value):
        if prefix and isinstance(value, str) and value.startswith(prefix[0]):
            return prefix[1] + value[len(prefix[0]):]
        return value

    def compare(path, a, b):
        if isinstance(b, dict):
            if not isinstance(a, dict):
                problems.append(f"{path}: gluvirt {a!r}, qemu-img an object")
                return
            for key in sorted(set(a) - set(b)):
                problems.append(f"{path}{key}: gluvirt prints it ({a[key]!r}), qemu-img does not")
            for key in sorted(set(b) - set(a)):
                if f"{path}{key}".split("]", 1)[-1].lstrip(".") not in NOT_REPORTED:
                    problems.append(f"{path}{key}: qemu-img prints {b[key]!r}, gluvirt nothing")
            for key in sorted(set(a) & set(b)):
                if key in FILE_NAME_KEYS:
                    shared[0] += 1
                    if a[key] != expected_name(b[key]):
                        problems.append(f"{path}{key}: gluvirt {a[key]!r}, qemu-img "
                                        f"{b[key]!r}" + (f" (so {expected_name(b[key])!r})"
                                                         if prefix else ""))
                elif key == "actual-size" and isinstance(a[key], int):
                    shared[0] += 1
                    if abs(a[key] - b[key]) > slack:
                        problems.append(f"{path}{key}: gluvirt {a[key]}, qemu-img {b[key]}")
                else:
                    compare(f"{path}{key}.", a[key], b[key])
        elif isinstance(b, list):
            if not isinstance(a, list) or len(a) != len(b):
                problems.append(f"{path.rstrip('.')}: gluvirt {a!r}, qemu-img {b!r}")
                return
            for i, (x, y) in enumerate(zip(a, b)):
                compare(f"{path.rstrip('.')}[{i}].", x, y)
        else:
            shared[0] += 1
            if a != b or type(a) is not type(b):
                problems.append(f"{path.rstrip('.')}: gluvirt {a!r}, qemu-img {b!r}")

    if gluster:
        for layer in theirs if isinstance(theirs, list) else [theirs]:
            if layer.get("format") == "raw":
                layer.pop("dirty-flag", None)
    compare("", ours, theirs)
    if problems:
        print("\n".join(problems))
        return 1
    layers = len(theirs) if isinstance(theirs, list) else 1
    print(f"{shared[0]} values agree over {layers} layer{'s' if layers > 1 else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
