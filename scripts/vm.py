#!/usr/bin/env python3
"""Boot a kernel under QEMU TCG, run one command in it, return its status.

The guest's root file system is the host's, shared read-only over virtio-9p
(virtme-style); guest/guest-init mounts tmpfs where the guest writes and
shares OUT (an output directory of the host) read-write at the same path.
The command runs with bash inside the guest; $OUT points at that directory.

Exit status: the command's own status when the run was clean; otherwise
124 on timeout, 125 when the guest never reported a status (crash, panic),
126 when the command passed but the kernel printed a splat.

Examples:
  scripts/vm.py 'ls /dev/kvm'
  scripts/vm.py --config svm-shadow 'build/selftests/bin/set_memory_region_test'
  scripts/vm.py --append 'kvm_amd.npt=1 kvm.tdp_mmu=0' --timeout 300 'cmd'
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TOP)
from harness import console  # noqa: E402
DEFAULT_KERNEL = os.path.join(TOP, "build/obj-test/arch/x86/boot/bzImage")
MMU_CONFIGS = os.path.join(TOP, "tests/mmu-configs")

def mmu_configs(path=MMU_CONFIGS):
    """name -> kernel parameters, from tests/mmu-configs (or another such file)."""
    configs = {}
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                name, _, params = line.partition(" ")
                configs[name] = params.strip()
    return configs


def qemu_command(args, out):
    cmdline = " ".join([
        "console=ttyS0", "panic=-1", "root=/dev/root", "rootfstype=9p",
        "rootflags=trans=virtio,version=9p2000.L,msize=131072,cache=loose",
        "ro", "init=" + os.path.join(TOP, "guest/guest-init"),
        "slotzap.out=" + out, "slotzap.top=" + TOP,
        # a hung kernel ends the run at its first soft lockup report (a
        # splat, so a failure), not minutes later at the timeout
        # (after 2 x 60 s: a loaded host stalls a TCG guest for tens of
        # seconds, e.g. the debug kernel probing its serial port at boot)
        "softlockup_panic=1", "watchdog_thresh=60",
        # splats are told from the command's output by their time stamp
        "printk.time=1", args.append,
    ]).strip()
    return [
        "qemu-system-x86_64", "-accel", args.accel, "-cpu", "max",
        "-smp", str(args.smp), "-m", args.mem,
        "-nographic", "-no-reboot", "-nic", "none",
        # a test kernel that dies without a word: QEMU says whether it
        # triple-faulted ("Triple fault", CPU_LOG_RESET), see triple_fault()
        "-d", "cpu_reset", "-D", os.path.join(out, "qemu.log"),
        "-kernel", args.kernel, "-append", cmdline,
        "-fsdev", "local,id=root,path=/,security_model=none,readonly=on,"
                  "multidevs=remap",
        "-device", "virtio-9p-pci,fsdev=root,mount_tag=/dev/root",
        "-fsdev", "local,id=out,path=%s,security_model=none" % out,
        "-device", "virtio-9p-pci,fsdev=out,mount_tag=slotzap_out",
    ]


def triple_fault(qemu_log):
    """What QEMU's -d cpu_reset log says about a guest that stopped."""
    try:
        with open(qemu_log, errors="replace") as f:
            n = sum(1 for line in f if line.startswith("Triple fault"))
    except OSError:
        return "no QEMU log"
    return ("QEMU logged a triple fault of the test kernel" if n else
            "no triple fault in QEMU's log: a panic or a reset by the guest")


def run(args):
    out = os.path.abspath(args.out)
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    with open(os.path.join(out, "cmd"), "w") as f:
        f.write("cd %s 2>/dev/null || cd %s || exit 1\n%s\n" % (
            os.getcwd(), TOP, args.command))
    log_path = os.path.join(out, "console.log")
    # the kernel's symbols, for the platform signatures of harness/retry.py
    sysmap = os.path.join(os.path.dirname(os.path.abspath(args.kernel)), "../../../System.map")
    if os.path.exists(sysmap):
        shutil.copy(sysmap, os.path.join(out, "System.map"))
    cmd = qemu_command(args, out)
    if args.verbose:
        print("+ " + " ".join(cmd), file=sys.stderr)

    start = time.time()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    lines, timed_out, echo = [], False, args.verbose
    with open(log_path, "w") as log:
        import selectors
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        buf = b""
        while True:
            left = args.timeout - (time.time() - start)
            if left <= 0:
                timed_out = True
                break
            if not sel.select(timeout=min(left, 1.0)):
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
            *complete, buf = buf.split(b"\n")
            for raw in complete:
                line = raw.decode("utf-8", "replace").rstrip("\r")
                lines.append(line)
                log.write(line + "\n")
                if line.startswith("SLOTZAP-START"):
                    echo = not args.quiet
                elif echo and not line.startswith("SLOTZAP-EXIT"):
                    print(line, flush=True)
            log.flush()
        if buf:
            lines.append(buf.decode("utf-8", "replace"))
            log.write(lines[-1] + "\n")
    if timed_out:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    elapsed = time.time() - start

    status = None
    try:
        with open(os.path.join(out, "exit-status")) as f:
            status = int(f.read().strip())
    except (OSError, ValueError):
        for line in lines:
            m = re.match(r"SLOTZAP-EXIT (\d+)", line)
            if m:
                status = int(m.group(1))

    try:
        splats = console.check(lines, args.fault_injection)
    except console.Unjudgeable as e:
        print("vm: cannot judge the console: %s; %s" % (e, log_path), file=sys.stderr)
        return 125
    for _, splat in splats:
        print("vm: KERNEL SPLAT in the console:", file=sys.stderr)
        print("\n".join("    " + l for l in splat), file=sys.stderr)
    where = "console log: %s" % log_path
    if timed_out:
        print("vm: TIMEOUT: killed the VM after %ds; %s" %
              (args.timeout, where), file=sys.stderr)
        return 124
    if status is None:
        tail = "\n".join("    " + l for l in lines[-30:])
        print("vm: the guest stopped without reporting an exit status "
              "(%s; qemu exit %d); last lines:\n%s\n%s" %
              (triple_fault(os.path.join(out, "qemu.log")), proc.returncode, tail, where),
              file=sys.stderr)
        return 125
    if args.verbose or status or splats:
        print("vm: command exited %d after %.0fs; %d splat(s); %s" %
              (status, elapsed, len(splats), where), file=sys.stderr)
    if splats and status == 0:
        return 126
    return status


def runner_parser(doc, emulator, configs_file, command_help):
    """The options both VM backends (QEMU here, Bochs in bochs.py) share."""
    p = argparse.ArgumentParser(
        description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", help=command_help)
    p.add_argument("--kernel", default=DEFAULT_KERNEL, help="bzImage to boot")
    p.add_argument("--config", help="MMU configuration from %s, adds its "
                   "kernel parameters" % os.path.relpath(configs_file, TOP))
    p.add_argument("--append", default="", help="extra kernel parameters")
    p.add_argument("--timeout", type=int, default=600,
                   help="hard limit in seconds, then %s is killed" % emulator)
    p.add_argument("-q", "--quiet", action="store_true",
                   help="do not echo the guest's output")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="echo the boot log and the %s command too" % emulator)
    return p


def runner_args(p, argv, configs, tool):
    """Parse; add --config's kernel parameters; check that the kernel exists."""
    args = p.parse_args(argv)
    if args.config:
        if args.config not in configs:
            p.error("unknown --config %s; known: %s" %
                    (args.config, ", ".join(configs)))
        args.append = (configs[args.config] + " " + args.append).strip()
    if not os.path.isfile(args.kernel):
        sys.exit("%s: no kernel at %s; run 'make kernel' first" % (tool, args.kernel))
    return args


def main(argv=None):
    p = runner_parser(__doc__, "qemu", MMU_CONFIGS, "shell command to run in the guest")
    p.add_argument("--out", default=os.path.join(TOP, "build/vm/last"),
                   help="host directory shared writable with the guest "
                   "($OUT inside); it is emptied first")
    p.add_argument("--smp", type=int, default=2)
    p.add_argument("--accel", default="tcg",
                   help="QEMU -accel value, e.g. tcg,thread=single")
    p.add_argument("--mem", default="4G")
    p.add_argument("--fault-injection", metavar="COMM",
                   help="allocations of task COMM fail on purpose (make "
                   "faults): its allocation-failure reports are not splats, "
                   "and kmemleak's findings are left to the command to judge")
    args = runner_args(p, argv, mmu_configs(), "vm")
    if not shutil.which("qemu-system-x86_64"):
        sys.exit("vm: qemu-system-x86_64 not found; run 'make deps'")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
