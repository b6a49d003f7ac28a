"""The project's one command line: ./slotzap JOB [ARGS...] (python3 -m harness).

Every job is a script of setup/ (getting and building things) or scripts/
(running things); this names them in one place and passes ARGS through to
the script, whose own --help (or header) tells its options. The Makefile's
targets run the same scripts with the usual defaults.

  ./slotzap                      the jobs, one line each
  ./slotzap matrix --configs svm-shadow smm_test
  ./slotzap vm --config svm-tdp-mmu 'uname -r'
"""

import os
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD_KERNEL = ["setup/build-kernel.sh", "build/obj-test", "configs/kvm-test.config"]

# name -> (commands, what it does); a job of one command takes ARGS, a job
# of several runs them in order with their fixed arguments
JOBS = {
    "deps":     ([["setup/deps.sh"]], "install the pinned packages, the base and the headers"),
    "source":   ([["setup/source.sh"]], "build/linux = the pinned Debian base + patches/series"),
    "export":   ([["setup/export.sh"]], "build/linux's commits -> patches/"),
    "rebase":   ([["setup/rebase.sh"]], "VERSION: move the series to another Debian 6.1"),
    "kernel":   ([BUILD_KERNEL], "the test kernel (build/obj-test); ARGS: more make targets after --"),
    "build":    ([BUILD_KERNEL, ["setup/build-selftests.sh"]], "the test kernel, then the selftests"),
    "vm":       ([["scripts/vm.py"]], "boot the test kernel under QEMU, run one command"),
    "matrix":   ([["scripts/matrix.py"]], "the selftests in every AMD MMU configuration"),
    "intel":    ([["scripts/intel-matrix.py"]], "the Intel VMX tests under Bochs"),
    "guests":   ([["scripts/qemu-guests.sh"]], "real QEMU guests in the test VM, quirk on and off"),
    "debian":   ([["scripts/debian-modules.sh"]], "the DKMS package for Debian's 6.1 kernels (STEP)"),
    "dkms-test": ([["tests/debian-dkms-test.sh"]], "install | remove the DKMS package on this host"),
    "debian-test": ([["tests/debian-modules-test.sh"]], "the modules on Debian's own kernel, in a VM"),
    "hygiene":  ([["scripts/hygiene.sh"]], "base, checkpatch, every prefix builds, KVM-GT"),
    "bench":    ([["scripts/bench.py"]], "memslot benchmarks (--compare: against Debian's 6.12)"),
    "profile":  ([["scripts/bench-profile.py"]], "function profile of the leaf-only DELETE, ours and 6.12"),
    "kut":      ([["scripts/kut.sh"]], "kvm-unit-tests: build | run [TEST...] | save | check"),
    "kut-intel": ([["scripts/intel-kut.py"]], "kvm-unit-tests on Intel VMX under Bochs, quirk on and off"),
    "mutants":  ([["scripts/mutants.sh"]], "slips in the series that the tests must catch"),
    "faults":   ([["scripts/faults.sh"]], "fail-nth sweep of the memslot ioctls, then kmemleak"),
    "canary":   ([["scripts/canary.sh"]], "the series against every Debian 6.1 in the archive"),
    "upstream": ([["scripts/upstream.sh"]], "fixes for mainline on Debian's 6.12: check | repro [N] | pristine"),
    "unit":     ([[sys.executable, "-m", "unittest", "discover", "-s", "harness/tests", "-t", "."],
                  [sys.executable, "-m", "harness.selfcheck"]],
                 "the harness's unit tests and its self-check"),
    "check":    ([["scripts/check.sh"]], "the whole suite: make check"),
}


REPO_PATHS = ("setup/", "scripts/", "tests/", "harness/", "configs/", "build/")


def absolute(word):
    """A repository path of JOBS made absolute; any other word as it is."""
    if word == ".":
        return TOP
    return os.path.join(TOP, word) if word.startswith(REPO_PATHS) else word


def commands(job, args):
    """The argv lists that JOB with ARGS runs; KeyError if JOB is unknown.
    The jobs' own paths are made absolute, ARGS are passed as they are."""
    cmds, _ = JOBS[job]
    out = [[absolute(w) for w in cmd] for cmd in cmds]
    if args:
        if len(out) != 1:
            raise ValueError("'%s' takes no arguments (it runs %d commands)" % (job, len(out)))
        out[0] = out[0] + list(args)
    return out


def usage():
    lines = ["usage: ./slotzap JOB [ARGS...]   (python3 -m harness JOB ...)", "", "jobs:"]
    lines += ["  %-12s %s" % (name, what) for name, (_, what) in JOBS.items()]
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    job, args = argv[0], argv[1:]
    try:
        cmds = commands(job, args)
    except KeyError:
        print("slotzap: no job '%s'\n\n%s" % (job, usage()), file=sys.stderr)
        return 2
    except ValueError as e:
        print("slotzap: %s" % e, file=sys.stderr)
        return 2
    for cmd in cmds:
        rc = subprocess.call(cmd, cwd=TOP if job == "unit" else None)
        if rc:
            return rc
    return 0
