"""The test plan under tests/, loaded in one place and checked.

Every list names tests and MMU configurations; a typo there would silently
disable an entry, so check() rejects any name that is not a known
configuration (tests/mmu-configs, tests/mmu-configs-intel) or, given the
installed selftests (build/selftests/install/tests.txt), a known test.

    python3 -m harness.plan check [--tests build/selftests/install/tests.txt]
"""

import argparse
import os
import sys

from . import retry

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.join(TOP, "tests")


# Tests of the harness's own stages that the retry policy can name.
HARNESS_TESTS = {
    "debian-modules-vm",   # tests/debian-modules-test.sh's VM run
    "boot",                # a test VM's boot (scripts/matrix.py's boot_excused())
}


def entries(path):
    """(line number, words) of the non-comment lines of a list file."""
    out = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if line.lstrip().startswith("#") or not line.strip():
                continue
            out.append((n, line.split()))
    return out


def configs(name):
    """MMU configuration name -> kernel parameters."""
    return {w[0]: " ".join(w[1:]) for _, w in entries(os.path.join(TESTS, name))}


def check(tests_dir=TESTS, known_tests=None):
    """The list of problems found in the plan ([] when it is sound)."""
    problems = []
    amd = set(configs("mmu-configs"))
    intel = set(configs("mmu-configs-intel"))
    variants = set()

    def where(f, n):
        return "tests/%s:%d" % (f, n)

    def name_ok(f, n, word, cfgs, sep="+"):
        test, _, cfg = word.partition("@")
        base = test.split(sep)[0]
        if cfg and cfg not in cfgs:
            problems.append("%s: unknown configuration %r" % (where(f, n), cfg))
        if known_tests is not None and base != "*" and base not in known_tests \
                and base not in HARNESS_TESTS:
            problems.append("%s: unknown test %r" % (where(f, n), base))
        return test

    for f in ("skip-list", "base-failures"):
        for n, w in entries(os.path.join(tests_dir, f)):
            name_ok(f, n, w[0], amd)
            if len(w) < 2:
                problems.append("%s: %s has no reason" % (where(f, n), w[0]))
    for n, w in entries(os.path.join(tests_dir, "selftest-args")):
        variants.add(name_ok("selftest-args", n, w[0], amd))
        if len(w) < 2 or not w[1].isdigit():
            problems.append("%s: %s needs a timeout in seconds" % (where("selftest-args", n), w[0]))
    scope = os.path.join(tests_dir, "check-scope")
    for n, w in entries(scope) if os.path.exists(scope) else []:
        name_ok("check-scope", n, w[0], amd)
        if len(w) < 3:
            problems.append("%s: %s needs a configuration and a reason" % (where("check-scope", n), w[0]))
        elif w[1] not in amd:
            problems.append("%s: unknown configuration %r" % (where("check-scope", n), w[1]))
    for n, w in entries(os.path.join(tests_dir, "debug-tests")):
        t = name_ok("debug-tests", n, w[0], amd)
        if "+" in t and t not in variants:
            problems.append("%s: variant %r is not in tests/selftest-args" % (where("debug-tests", n), t))
    for n, w in entries(os.path.join(tests_dir, "intel-tests")):
        name_ok("intel-tests", n, w[0], intel, sep="/")
        if len(w) < 2 or not (w[1].isdigit() or w[1] == "skip"):
            problems.append("%s: %s needs a timeout or 'skip REASON'" % (where("intel-tests", n), w[0]))
    try:
        pol = retry.load(os.path.join(tests_dir, "platform-retries"))
        for test, cfg, _, _, _ in pol.retries:
            name_ok("platform-retries", 0, test + ("@" + cfg if cfg else ""), amd)
    except retry.PolicyError as e:
        problems.append(str(e))
    return problems


def main(argv=None):
    p = argparse.ArgumentParser(description="Check the test plan under tests/.")
    p.add_argument("cmd", choices=["check", "configs"],
                   help="check: the plan is sound; configs: the AMD MMU "
                   "configuration names of tests/mmu-configs, one per line")
    p.add_argument("--tests", help="tests.txt of the installed selftests")
    a = p.parse_args(argv)
    if a.cmd == "configs":
        print("\n".join(configs("mmu-configs")))
        return 0
    known = None
    if a.tests:
        with open(a.tests) as f:
            known = set(f.read().split())
    problems = check(known_tests=known)
    for pr in problems:
        print("plan: " + pr)
    print("plan: %s (%s)" % ("%d problem(s)" % len(problems) if problems else "sound",
                             "tests checked against %s" % a.tests if a.tests
                             else "configurations only"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
