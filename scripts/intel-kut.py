#!/usr/bin/env python3
"""kvm-unit-tests on Intel VMX under Bochs, quirk on and off (make kut-intel).

  scripts/intel-kut.py [--configs vmx-tdp-mmu,...] [--base] [-j N] [TEST...]

The Intel side of make kut: the tests of tests/kut-intel (default: all of
them) in each configuration of tests/mmu-configs-intel, one Bochs boot of
the test kernel per configuration, each test with the quirk on (stock QEMU)
and then off (the preload library, as guest/kut-run.sh). --base also boots
the unpatched base kernel of make kut (build/base/obj-test) per
configuration, quirk on, so that a test failing on the series is compared
with the base as in make kut's report.

Bochs has no 9p: QEMU, its libraries and firmware, KUT's test images and the
preload library go into an initramfs of their own, appended to the
selftests' (setup/build-bochs-initramfs.sh). Each QEMU run gets KUT's own
command line (x86/run: its test devices, -smp, qemu_params, test_args) and
a timeout in guest seconds. The host reads each run off the console and
judges it as the QEMU test VMs do (harness/kut_tap.py, from a verdict line
made as KUT's runner makes it: 'PASS' for exit status 1 with nothing but
warnings on QEMU's stderr, 'SKIP' for 77, else 'FAIL'). With the quirk off, the preload library's report must say
quirk=off, or the run fails. A Bochs boot that dies or times out loses
the runs it did not finish (harness/kut.py counts them as lost, not
failed, so that a base result never excuses them) and fails the boot's
test-vm-splat line, as make kut's test VMs do.

Results: build/results/intel-kut/KERNEL-CONFIG/console.log (and Bochs'
files), build/results/intel-kut/KERNEL@CONFIG@MODE.tap, the table of
harness/kut.py in build/results/intel-kut/report.txt and make check's
format in build/results/intel-kut.results.
"""

import argparse
import concurrent.futures
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bochs  # noqa: E402
sys.path.insert(0, bochs.TOP)
from harness import kut_tap  # noqa: E402

TOP = bochs.TOP
BUILD = os.path.join(TOP, "build")
OUT = os.path.join(BUILD, "results/intel-kut")
KUT_SRC = os.path.join(BUILD, "kut/src")
TEST_LIST = os.path.join(TOP, "tests/kut-intel")
PRELOAD = os.path.join(BUILD, "selftests/install/libslotzap-preload.so")
KERNELS = {"series": os.path.join(BUILD, "obj-test/arch/x86/boot/bzImage"),
           "base": os.path.join(BUILD, "base/obj-test/arch/x86/boot/bzImage")}
QEMU = "/usr/bin/qemu-system-x86_64"
FIRMWARE = ["/usr/share/seabios/bios-256k.bin", "/usr/share/qemu/linuxboot_dma.bin",
            "/usr/share/qemu/multiboot_dma.bin", "/usr/share/qemu/kvmvapic.bin"]
# x86/run's command line, without the timeout
KUT_QEMU = ("/usr/bin/qemu-system-x86_64 --no-reboot -nodefaults -global kvm-pit.lost_tick_policy=discard "
            "-device pc-testdev -device isa-debug-exit,iobase=0xf4,iosize=0x4 -display none "
            "-serial stdio -device pci-testdev -machine accel=kvm")
START = re.compile(r"^KUT-START (\S+) (on|off)$")
ERR = re.compile(r"^KUT-ERR (.*)$")
QUIRK = re.compile(r"^KUT-PRELOAD quirk=(\S+)")
END = re.compile(r"^KUT-END (\S+) (on|off) rc=(\d+) seconds=(\d+)$")
SUMMARY = re.compile(r"^SUMMARY: (.*)$")


def listed(path=TEST_LIST):
    """[(test, seconds)] of tests/kut-intel."""
    tests = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            fields = line.split("#", 1)[0].split()
            if not fields:
                continue
            if len(fields) < 2 or not fields[1].isdigit():
                raise ValueError("%s, line %d: want TEST SECONDS [REASON], got: %s"
                                 % (path, n, line.strip()))
            tests.append((fields[0], int(fields[1])))
    return tests


def sections(cfg_text):
    """{test: {key: value}} of KUT's x86/unittests.cfg."""
    out, cur = {}, None
    for line in cfg_text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        m = re.match(r"^\[(.+)\]$", line.strip())
        if m:
            cur = out.setdefault(m.group(1), {})
        elif cur is not None and "=" in line:
            k, v = line.split("=", 1)
            cur[k.strip()] = v.strip()
    return out


def qemu_args(sec):
    """The arguments x86/run gives QEMU for a test's section SEC."""
    args = ["-kernel", "/kut/" + sec["file"], "-smp", sec.get("smp", "1")]
    args += shlex.split(sec.get("qemu_params", sec.get("extra_params", "")))
    test_args = sec.get("test_args", "")
    if test_args:
        args += ["-append", " ".join(shlex.split(test_args))]
    return args


def guest_script(runs, modes):
    """The busybox sh command of one Bochs boot: each (test, seconds, args)
    of RUNS in each of MODES, bracketed by KUT-START and KUT-END lines;
    QEMU's stderr follows its run as KUT-ERR lines, and with the quirk off
    the preload library's report as a KUT-PRELOAD line."""
    lines = ["up() { cut -d. -f1 /proc/uptime; }"]
    for mode in modes:
        pre = ("env SLOTZAP_QUIRK=off SLOTZAP_REPORT=/tmp/preload LD_PRELOAD=/kut/libslotzap-preload.so "
               if mode == "off" else "")
        for test, seconds, args in runs:
            lines += ["echo KUT-START %s %s" % (test, mode),
                      "rm -f /tmp/preload; t0=$(up)",
                      "%stimeout %d %s %s </dev/null 2>/tmp/stderr" % (pre, seconds, KUT_QEMU,
                                                                         " ".join(shlex.quote(a) for a in args)),
                      "rc=$?; t=$(($(up) - t0))",
                      "sed 's/^/KUT-ERR /' /tmp/stderr"]
            if mode == "off":
                lines.append("sed 's/^/KUT-PRELOAD /' /tmp/preload 2>/dev/null")
            lines.append('echo "KUT-END %s %s rc=$rc seconds=$t"' % (test, mode))
    return "\n".join(lines) + "\n"


def verdict_line(test, log_text, rc, seconds, timeout, errors=()):
    """KUT's verdict on one QEMU run, as run_tests.sh prints it: exit status
    1 is the test's exit(0) through the debug-exit device, a pass unless
    QEMU's stderr (ERRORS) has more than warnings; 77 is KUT's summary of
    a test whose checks all skipped."""
    summary = [m.group(1) for m in map(SUMMARY.match, log_text.splitlines()) if m]
    reason = summary[-1] if summary else ""
    errors = [e for e in errors if "warning" not in e.lower()]
    if seconds >= timeout and rc != 1:
        return "FAIL %s (timeout; duration=%ds)" % (test, timeout)
    if rc == 1 and not errors:
        return "PASS %s (%s)" % (test, reason or "exit status 0")
    if rc == 77:
        return "SKIP %s (%s)" % (test, reason or "77")
    if errors:
        reason = "QEMU: " + errors[0]
    return "FAIL %s (%s)" % (test, reason or "QEMU exit status %d, no KUT summary" % rc)


def parse_console(text, timeouts):
    """{(test, mode): TAP lines} of one boot's console. A run that began and
    has no KUT-END line is lost: 'the test VM died in it', as make kut
    writes it."""
    out, cur, log, errors, quirk = {}, None, [], [], None
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        m = START.match(line)
        if m:
            cur, log, errors, quirk = (m.group(1), m.group(2)), [], [], None
            continue
        if not cur or bochs_kernel_line(line):
            continue
        m = END.match(line)
        if m and cur == (m.group(1), m.group(2)):
            test = cur[0]
            log_text = "\n".join(log)
            status = verdict_line(test, log_text, int(m.group(3)), int(m.group(4)), timeouts[test], errors)
            out[cur] = kut_tap.tap_of(test, log_text, status)
            if cur[1] == "off" and quirk != "off":
                out[cur].append("not ok 0 - %s: the preload library did not report the quirk off (%s)"
                                % (test, "quirk=%s" % quirk if quirk else "no report"))
            cur = None
        elif ERR.match(line):
            errors.append(ERR.match(line).group(1))
        elif QUIRK.match(line):
            quirk = QUIRK.match(line).group(1)
        else:
            log.append(line)
    if cur:
        out[cur] = ["not ok 0 - %s: the test VM died in it (see its console.log)" % cur[0]]
    return out


def bochs_kernel_line(line):
    """A kernel message of the Bochs guest, between KUT's lines."""
    return re.match(r"^\[\s*\d+\.\d+\] ", line) is not None


def lz4_kernel(bzimage):
    """BZIMAGE is there and built LZ4-compressed (its .config says so):
    Bochs would spend a minute on an XZ one's decompressor."""
    try:
        with open(os.path.join(os.path.dirname(bzimage), "../../../.config")) as f:
            return os.path.exists(bzimage) and "CONFIG_KERNEL_LZ4=y\n" in f.read()
    except OSError:
        return False


def kut_initramfs(flats, work):
    """The selftests' Bochs initramfs with QEMU, its libraries and firmware,
    the KUT images FLATS and the preload library appended."""
    base = os.path.join(BUILD, "bochs/initramfs.cpio.gz")
    r = subprocess.run([os.path.join(TOP, "setup/build-bochs-initramfs.sh")])
    if r.returncode:
        sys.exit("intel-kut: setup/build-bochs-initramfs.sh failed")
    root = os.path.join(work, "root")
    libs = subprocess.run(["ldd", QEMU], capture_output=True, text=True, check=True).stdout
    files = [QEMU] + FIRMWARE + re.findall(r"(/\S+) \(0x", libs)
    for f in files:
        os.makedirs(root + os.path.dirname(f), exist_ok=True)
        subprocess.run(["cp", "-L", f, root + f], check=True)
    os.makedirs(os.path.join(root, "kut"))
    for f in flats + [PRELOAD]:
        subprocess.run(["cp", f, os.path.join(root, "kut")], check=True)
    extra = os.path.join(work, "kut.cpio.gz")
    subprocess.run("cd %s && find . | LC_ALL=C sort | cpio -o -H newc --owner 0:0 --quiet | gzip -1 > %s"
                   % (shlex.quote(root), shlex.quote(extra)), shell=True, check=True)
    out = os.path.join(BUILD, "bochs/initramfs-kut.cpio.gz")
    with open(out, "wb") as f:
        for part in (base, extra):
            with open(part, "rb") as p:
                f.write(p.read())
    return out


def run_boot(kernel_name, config, modes, runs, initramfs):
    """One Bochs boot of KERNEL_NAME in CONFIG: {(test, mode): TAP lines}, wall.
    Its hard limit: every run's timeout in guest seconds, twice (Bochs runs
    slower than its clock when the host is busy), and 20 min for the boot."""
    out = os.path.join(OUT, "%s-%s" % (kernel_name, config))
    timeout = 2 * len(modes) * sum(s for _, s, _ in runs) + 1200
    start = time.time()
    status = bochs.main(["--config", config, "--out", out, "--quiet", "--kernel", KERNELS[kernel_name],
                         "--initramfs", initramfs, "--mem", "2048", "--timeout", str(timeout),
                         guest_script(runs, modes)])
    with open(os.path.join(out, "console.log"), errors="replace") as f:
        got = parse_console(f.read(), {t: s for t, s, _ in runs})
    where = os.path.relpath(out, TOP)
    for test, _, _ in runs:
        for mode in modes:
            if (test, mode) not in got:
                got[(test, mode)] = ["not ok 0 - %s: not run, the test VM stopped before it (Bochs exit %d, "
                                     "see %s/console.log)" % (test, status, where)]
    # the boot must end clean, as make kut's test VMs: 126 a kernel splat,
    # 124 a timeout, 125 a guest that died
    why = {126: "the test kernel splatted", 124: "Bochs timed out", 125: "the guest died"}
    for mode in modes:
        got[("test-vm-splat", mode)] = ["ok 0 - test-vm-splat: none" if status == 0 else
                                        "not ok 0 - test-vm-splat: %s (Bochs exit %d, %s/console.log)"
                                        % (why.get(status, "the boot did not end clean"), status, where)]
    return got, time.time() - start


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("tests", nargs="*", help="only these tests of tests/kut-intel")
    p.add_argument("--configs", default=",".join(bochs.mmu_configs()),
                   help="comma-separated configurations of tests/mmu-configs-intel")
    p.add_argument("--base", action="store_true", help="the unpatched base too (quirk on)")
    p.add_argument("-j", "--jobs", type=int, default=2, help="Bochs boots at once (default 2)")
    args = p.parse_args()
    try:
        tests = listed()
    except (OSError, ValueError) as e:
        sys.exit("intel-kut: %s" % e)
    if args.tests:
        unknown = set(args.tests) - {t for t, _ in tests}
        if unknown:
            p.error("not in tests/kut-intel: %s" % ", ".join(sorted(unknown)))
        tests = [(t, s) for t, s in tests if t in args.tests]
    configs = args.configs.split(",")
    for c in configs:
        if c not in bochs.mmu_configs():
            p.error("unknown configuration %s; known: %s" % (c, ", ".join(bochs.mmu_configs())))
    r = subprocess.run([os.path.join(TOP, "scripts/kut.sh"), "build"])
    if r.returncode:
        sys.exit("intel-kut: kvm-unit-tests did not build (scripts/kut.sh build)")
    with open(os.path.join(KUT_SRC, "x86/unittests.cfg")) as f:
        cfg = sections(f.read())
    runs = []
    for t, s in tests:
        if t not in cfg:
            sys.exit("intel-kut: %s is not a test of %s/x86/unittests.cfg" % (t, KUT_SRC))
        runs.append((t, s, qemu_args(cfg[t])))
    for k in ["series"] + (["base"] if args.base else []):
        if not lz4_kernel(KERNELS[k]):
            sys.exit("intel-kut: no LZ4 %s kernel at %s; run %s first" % (
                k, KERNELS[k], "make selftests" if k == "series" else "make kut"))
    if not os.path.exists(PRELOAD):
        sys.exit("intel-kut: no preload library at %s; run make selftests" % PRELOAD)
    # nothing of an earlier run is read again
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    results = os.path.join(BUILD, "results/intel-kut.results")
    if os.path.exists(results):
        os.unlink(results)
    with tempfile.TemporaryDirectory() as work:
        initramfs = kut_initramfs(sorted({os.path.join(KUT_SRC, "x86", cfg[t]["file"]) for t, _ in tests}),
                                  work)
    boots = [("series", c, ["on", "off"]) for c in configs] + \
        [("base", c, ["on"]) for c in configs if args.base]
    print("==> kvm-unit-tests under Bochs (%s): %s; %d boot(s), %d at once" % (
        bochs.CPU_MODEL, ", ".join(t for t, _ in tests), len(boots), args.jobs), flush=True)
    signal.signal(signal.SIGTERM, lambda signum, frame: bochs.STOP.set())
    start = time.time()
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as ex:
        futures = {ex.submit(run_boot, k, c, m, runs, initramfs): (k, c, m) for k, c, m in boots}
        for fut in concurrent.futures.as_completed(futures):
            k, c, modes = futures[fut]
            got, wall = fut.result()
            for mode in modes:
                with open(os.path.join(OUT, "%s@%s@%s.tap" % (k, c, mode)), "w") as f:
                    for test, _, _ in runs:
                        f.write("\n".join(got[(test, mode)]) + "\n")
                    f.write(got[("test-vm-splat", mode)][0] + "\n")
            print("    [%s, %s: %.0fs]" % (k, c, wall), flush=True)
    if bochs.STOP.is_set():
        sys.exit("intel-kut: stopped by SIGTERM after %.0fs" % (time.time() - start))
    env = dict(os.environ, PYTHONPATH=TOP)
    known = os.path.join(TOP, "tests/kut-known")
    subprocess.run([sys.executable, "-m", "harness.kut", "results", OUT, results, known], env=env, check=True)
    rep = subprocess.run([sys.executable, "-m", "harness.kut", "report", OUT, known],
                         env=env, capture_output=True, text=True)
    with open(os.path.join(OUT, "report.txt"), "w") as f:
        f.write(rep.stdout)
    print(rep.stdout, end="")
    print("intel-kut: %.0fs" % (time.time() - start))
    with open(results) as f:
        return 1 if any(line.startswith("fail") for line in f) else 0


if __name__ == "__main__":
    sys.exit(main())
