#!/usr/bin/python3
"""Name every skip in the 'make check' logs of a build tree.

    tests/check-skips.py [--allowed FILE] [--label TEXT] BUILDDIR

Reads each test's .trs and .log under BUILDDIR (the tarball trees that
'make distcheck' leaves are not read) and finds skips in every form the
suite produces them:

  * a whole test program skipped: ':test-result: SKIP' in its .trs (exit
    status 77); the reason is the "SKIP: ..." line it printed, else the end
    of its log;
  * a Criterion test skipped (cr_skip_test, or .disabled) in a program that
    passed: Criterion 2.4 names them only when verbose, as
    "[SKIP] suite::test: reason", so 'make check' must run with
    CRITERION_VERBOSITY_LEVEL=1 (tests/run-all.sh sets it).  A quiet log
    shows only "Tested: N" in its synthesis: the program's --list then tells
    how many tests it has, and a difference is reported as that many unnamed
    skips;
  * pytest skips (tests/python/run-pytest.sh runs pytest with -rs):
    "SKIPPED [N] path/file.py:LINE: reason" lines, checked against the count
    in pytest's last line ("..., N skipped in ...");
  * "SKIP: reason" lines that a script prints while it goes on.

Each skip is named TEST or TEST:CASE, TEST being the test as 'make check'
names it in test-suite.log (tests/unit/test_image_local; a script without
its .sh or .py: tests/gluster/connect-exit) and CASE the Criterion test
(suite::test) or the pytest location (file.py:LINE).  FILE (default
.ci/allowed-skips of this source tree) lists the skips CI accepts, one a
line, 'TEST[:CASE]  reason', where TEST and CASE may be shell patterns, an
entry without CASE covers every skip of that test, and the reason is
required.  Lines starting with '#' are comments.

Exit status: 1 when a skip is not listed and GLUVIRT_REQUIRE_GLUSTER=1 (CI),
when FILE has an entry without a reason, when BUILDDIR has no test results
or a quiet Criterion log whose skips cannot be counted; otherwise 0, the
unlisted skips being shown all the same.
"""

import argparse
import fnmatch
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

TRS_RESULT = re.compile(r"^:test-result: *(\S+)", re.M)
SCRIPT_SKIP = re.compile(r"^SKIP: *(.*)$", re.M)
CRITERION_SKIP = re.compile(r"^\[SKIP\] ([^\s:]+::[^\s:]+): ?(.*)$", re.M)
CRITERION_VERBOSE = re.compile(r"^\[====\] Running \d+ tests? from ", re.M)
CRITERION_TESTED = re.compile(r"^\[====\] Synthesis: Tested: (\d+) ", re.M)
CRITERION_LIST = re.compile(r"^\S+: (\d+) tests?$", re.M)
PYTEST_SKIP = re.compile(r"^SKIPPED \[(\d+)\] (\S+?):(\d+): (.*)$", re.M)
PYTEST_TOTALS = re.compile(r"^=* ?(?:\d+ \w+, )*?(\d+) skipped\b.* in [\d.]+s", re.M)
DRIVER_LINE = re.compile(r"^[A-Z]+ \S+ \(exit status: \d+\)$")


class Skip:
    def __init__(self, test, case, reason):
        self.test, self.case, self.reason = test, case, reason.strip() or "(no reason given)"

    def name(self):
        return self.test + (":" + self.case if self.case else "")


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


def test_logs(builddir):
    """(test name, .trs path, .log path) of every test run in builddir."""
    found = []
    for root, dirs, files in os.walk(builddir):
        # Not the distcheck trees (a copy of the sources with their own
        # build), not hidden or autotools' directories.
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in
                         ("_build", "_inst", "autom4te.cache") and
                         not os.path.exists(os.path.join(root, d, "configure.ac")))
        for name in sorted(files):
            if name.endswith(".trs"):
                trs = os.path.join(root, name)
                test = os.path.relpath(trs[:-len(".trs")], builddir)
                found.append((test, trs, trs[:-len(".trs")] + ".log"))
    return found


def end_of_log(text):
    """The last lines a test printed (not the test driver's result line)."""
    lines = [l for l in text.splitlines() if l.strip() and not DRIVER_LINE.match(l)]
    return " | ".join(lines[-3:]) if lines else "(empty log)"


def criterion_test_count(program):
    """How many tests the Criterion program has (its --list), or None."""
    if not (os.path.isfile(program) and os.access(program, os.X_OK)):
        return None
    env = dict(os.environ)
    # Only listing: no leak report from a sanitizer build.
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0:log_path=/dev/stderr"
    try:
        done = subprocess.run([program, "--list"], capture_output=True, text=True,
                              timeout=120, env=env)
    except (OSError, subprocess.SubprocessError):
        return None
    counts = CRITERION_LIST.findall(done.stdout)
    return sum(int(c) for c in counts) if done.returncode == 0 and counts else None


def skips_of(builddir, test, trs, log):
    """The skips one test's logs show, and problems reading them."""
    skips, problems = [], []
    text = read(log) if os.path.exists(log) else ""
    results = TRS_RESULT.findall(read(trs))
    if "SKIP" in results:
        said = SCRIPT_SKIP.findall(text)
        skips.append(Skip(test, "", "; ".join(said) if said else end_of_log(text)))
    else:
        skips += [Skip(test, "", why) for why in SCRIPT_SKIP.findall(text)]

    # Criterion.
    named = CRITERION_SKIP.findall(text)
    skips += [Skip(test, case, why) for case, why in named]
    tested = CRITERION_TESTED.findall(text)
    if tested and not CRITERION_VERBOSE.search(text):
        total = criterion_test_count(os.path.join(builddir, test))
        ran = sum(int(n) for n in tested)
        if total is None:
            problems.append("%s: a quiet Criterion log, and '%s --list' did not say how "
                            "many tests it has: run make check with "
                            "CRITERION_VERBOSITY_LEVEL=1 to see its skips" % (test, test))
        elif ran < total:
            skips.append(Skip(test, "?", "%d of its %d Criterion tests did not run, not "
                              "named in a quiet log (make check with "
                              "CRITERION_VERBOSITY_LEVEL=1 names them)" % (total - ran, total)))

    # pytest.
    reported = 0
    for count, where, line, why in PYTEST_SKIP.findall(text):
        reported += int(count)
        skips.append(Skip(test, "%s:%s" % (os.path.basename(where), line),
                          why + (" (%s tests)" % count if count != "1" else "")))
    counted = sum(int(n) for n in PYTEST_TOTALS.findall(text))
    if counted > reported:
        skips.append(Skip(test, "?", "pytest skipped %d test(s) and named %d (run it with -rs)"
                          % (counted, reported)))
    return skips, problems


def read_allowed(path):
    """[(test pattern, case pattern or None, reason)], [problems]"""
    entries, problems = [], []
    if not os.path.exists(path):
        return entries, problems
    for number, line in enumerate(read(path).splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split(None, 1)
        if len(words) < 2 or not words[1].strip():
            problems.append("%s:%d: '%s' gives no reason" % (path, number, words[0]))
            continue
        test, _, case = words[0].partition(":")
        entries.append((test, case or None, words[1].strip()))
    return entries, problems


def allowed_reason(skip, entries):
    for test, case, reason in entries:
        if fnmatch.fnmatchcase(skip.test, test) and (
                case is None or fnmatch.fnmatchcase(skip.case, case)):
            return reason
    return None


def main():
    parser = argparse.ArgumentParser(description="Name every skip in a build tree's make check logs.")
    parser.add_argument("--allowed", default=os.path.join(HERE, "..", ".ci", "allowed-skips"),
                        help="the skips CI accepts (default: .ci/allowed-skips)")
    parser.add_argument("--label", default="make check", help="which run the logs are from")
    parser.add_argument("builddir")
    args = parser.parse_args()
    args.allowed = os.path.normpath(args.allowed)

    logs = test_logs(args.builddir)
    entries, problems = read_allowed(args.allowed)
    listed, unlisted = [], []
    for test, trs, log in logs:
        skips, trouble = skips_of(args.builddir, test, trs, log)
        problems += trouble
        for skip in skips:
            reason = allowed_reason(skip, entries)
            (listed if reason else unlisted).append((skip, reason))

    for skip, reason in listed:
        print("check-skips: skipped, listed: %s: %s (listed because: %s)"
              % (skip.name(), skip.reason, reason))
    for skip, _ in unlisted:
        print("check-skips: SKIPPED, NOT LISTED in %s: %s: %s"
              % (args.allowed, skip.name(), skip.reason))
    for problem in problems:
        print("check-skips: %s" % problem)
    print("check-skips: %s in %s: %d test logs, %d skip(s) listed, %d not listed%s"
          % (args.label, args.builddir, len(logs), len(listed), len(unlisted),
             "" if logs else " (no .trs files: did make check run here?)"))
    strict = os.environ.get("GLUVIRT_REQUIRE_GLUSTER") == "1"
    if unlisted and not strict:
        print("check-skips: not a failure without GLUVIRT_REQUIRE_GLUSTER=1")
    if unlisted and strict:
        print("check-skips: with GLUVIRT_REQUIRE_GLUSTER=1 every skip must be listed, with "
              "its reason, in %s (or must not happen)" % args.allowed)
    return 1 if problems or (strict and unlisted) or not logs else 0


if __name__ == "__main__":
    sys.exit(main())
