#!/usr/bin/env python3
"""Boot a kernel under QEMU TCG, run one command in it, return its status.

The guest's root file system is the host's, shared read-only over virtio-9p
(virtme-style); guest/guest-init mounts tmpfs where the guest writes and
shares OUT (an output directory of the host) read-write at the same path.
The command runs with bash inside the guest; $OUT points at that directory.

Exit status: the command's own status when the run was clean; otherwise
124 on timeout or when the guest hung (its heartbeat stopped), 125 when the guest never reported a status (crash, panic),
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
import socket
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TOP)
from harness import console  # noqa: E402
DEFAULT_KERNEL = os.path.join(TOP, "build/obj-test/arch/x86/boot/bzImage")
MMU_CONFIGS = os.path.join(TOP, "tests/mmu-configs")
# the longest wait for console output between two looks at the heartbeat
# and the clock, and the time between two register samples of a hung VM
POLL = 1.0
SAMPLE_GAP = 1.0

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


def qemu_command(args, out, monitor=None):
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
        # PCI interrupts without ACPI's _PRT (virtio uses MSI anyway): the
        # i440fx _PRT method is a 128-step AML loop, which the debug kernel
        # interprets under TCG past ACPICA's 30 s loop limit, twice per
        # boot (AE_AML_LOOP_TIMEOUT, about 60 s lost per debug VM)
        "acpi=noirq",
        # splats are told from the command's output by their time stamp
        "printk.time=1", args.append,
    ]).strip()
    return [
        "qemu-system-x86_64", "-accel", args.accel, "-cpu", "max",
        "-smp", str(args.smp), "-m", args.mem,
        "-nographic", "-nic", "none",
    ] + (
        # a guest reset or power-off stops the VM instead of ending QEMU,
        # so that the vCPUs' registers at a triple fault can still be read
        ["-action", "reboot=shutdown,shutdown=pause"] if args.freeze
        else ["-no-reboot"]
    ) + [
        # a test kernel that dies without a word: QEMU says whether it
        # triple-faulted ("Triple fault", CPU_LOG_RESET), see triple_fault()
        "-d", "cpu_reset", "-D", os.path.join(out, "qemu.log"),
        "-kernel", args.kernel, "-append", cmdline,
        "-fsdev", "local,id=root,path=/,security_model=none,readonly=on,"
                  "multidevs=remap",
        "-device", "virtio-9p-pci,fsdev=root,mount_tag=/dev/root",
        "-fsdev", "local,id=out,path=%s,security_model=none" % out,
        "-device", "virtio-9p-pci,fsdev=out,mount_tag=slotzap_out",
    ] + (["-monitor", "unix:%s,server=on,wait=off" % monitor] if monitor else [])


def triple_faults(qemu_log):
    """How many triple faults QEMU's -d cpu_reset log holds (None: no log)."""
    try:
        with open(qemu_log, errors="replace") as f:
            return sum(1 for line in f if line.startswith("Triple fault"))
    except OSError:
        return None


def triple_fault(qemu_log):
    """What QEMU's -d cpu_reset log says about a guest that stopped."""
    n = triple_faults(qemu_log)
    if n is None:
        return "no QEMU log"
    return ("QEMU logged a triple fault of the test kernel" if n else
            "no triple fault in QEMU's log: a panic or a reset by the guest")


class Heartbeat:
    """guest-init's heartbeat file: the guest writes its uptime into it every
    10 s. Silence is measured on the host's monotonic clock from the last
    time the file changed (mtime, size or content), so neither a step of the
    host's wall clock nor the guest's clock can fake one."""

    def __init__(self, path, limit):
        self.path, self.limit = path, limit
        self.seen, self.changed = None, None

    def started(self):
        return self.seen is not None

    def silent_for(self, now=None):
        """Seconds of silence when over the limit, else 0 (also before
        the first beat, and always with a limit of 0)."""
        now = time.monotonic() if now is None else now
        try:
            st = os.stat(self.path)
            with open(self.path, "rb") as f:
                state = (st.st_mtime_ns, st.st_size, f.read(64))
        except OSError:
            state = self.seen
        if state is None:
            return 0
        if state != self.seen:
            self.seen, self.changed = state, now
        age = now - self.changed
        return age if self.limit and age > self.limit else 0


def hmp(path, command, timeout=10.0):
    """COMMAND's output from QEMU's human monitor at unix socket PATH."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        data, sent = b"", False
        deadline = time.time() + timeout
        while time.time() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
            if data.endswith(b"(qemu) "):
                if sent:
                    break
                sock.sendall(command.encode() + b"\n")
                data, sent = b"", True
    text = data.decode("utf-8", "replace").replace("\r", "")
    # the monitor echoes the command line (with terminal escapes) first
    return "\n".join(text.split("\n")[1:]).rsplit("(qemu) ", 1)[0]


def stopped(monitor, errors):
    """Whether QEMU stopped the VM at a guest power-off or reset (--freeze);
    a monitor that does not answer is appended to ERRORS, for the timeout's
    message."""
    try:
        return "shutdown" in hmp(monitor, "info status", timeout=5)
    except OSError as e:
        errors.append(str(e))
        return False


def cpu_snapshot(monitor, path, samples=3):
    """Where every vCPU of a hung VM is: QEMU's register dump of all of
    them, SAMPLES times SAMPLE_GAP seconds apart, into PATH. A CPL of 0 at a user
    address in every sample, on every vCPU, is a guest stuck in nested
    guest mode (docs/platform-bugs.md sections 1 and 3), not in its own
    kernel. Returns PATH, or why there is nothing in it."""
    got, why = 0, None
    try:
        with open(path, "w") as f:
            for i in range(samples):
                if i:
                    time.sleep(SAMPLE_GAP)
                try:
                    text = hmp(monitor, "info registers -a")
                except OSError as e:
                    why = why or str(e)
                    continue
                f.write("=== sample %d at %s\n" % (i + 1, time.strftime("%H:%M:%S")))
                f.write(text)
                got += 1
    except OSError as e:
        why = str(e)
    return path if got else "none (%s)" % why


def where_cpus_were(text):
    """What a cpu_snapshot() says: each vCPU's RIP and CPL per sample, and
    whether every vCPU was in a nested guest in every sample (CPL 0 at a
    lower-half address: the test kernel never runs there, SMEP; a selftest's
    or kvm-unit-tests' guest code does)."""
    samples, cpu = [], None
    for line in text.splitlines():
        if line.startswith("=== sample"):
            samples.append({})
        elif line.startswith("CPU#") and samples:
            cpu = line.split()[0]
        m = re.match(r"RIP=([0-9a-f]+) .*CPL=(\d)", line)
        if m and samples and cpu:
            samples[-1][cpu] = (int(m.group(1), 16), int(m.group(2)))
    if not samples or not all(samples):
        return "no register dump"
    nested = all(cpl == 0 and rip < 1 << 47 for s in samples for rip, cpl in s.values())
    seen = "; ".join(" ".join("%s rip=%x cpl=%d" % (c, rip, cpl)
                              for c, (rip, cpl) in sorted(s.items())) for s in samples)
    return ("every vCPU in a nested guest (CPL 0 at a user address) in all %d "
            "samples: %s" % (len(samples), seen) if nested else seen)


def cpu_states(text):
    """'CPU#N rip=R cpl=C tr=B' per vCPU of the last sample of a register
    dump (cpu_snapshot(), or vm.py --freeze's at a triple fault), RIP and
    TR base as 16 hex digits: what the retry policy's signatures on a dead
    test VM read (tests/platform-retries)."""
    cpus, cpu = {}, None
    for line in text.splitlines():
        if line.startswith("=== sample"):
            cpus, cpu = {}, None
        elif line.startswith("CPU#"):
            cpu = line.split()[0]
        elif cpu:
            m = re.match(r"RIP=([0-9a-f]+) .*CPL=(\d)", line)
            if m:
                cpus.setdefault(cpu, {}).update(rip=int(m.group(1), 16), cpl=int(m.group(2)))
            m = re.match(r"TR =[0-9a-f]+ ([0-9a-f]+) ", line)
            if m:
                cpus.setdefault(cpu, {})["tr"] = int(m.group(1), 16)
    return "".join("%s rip=%016x cpl=%d tr=%016x\n" % (c, v["rip"], v["cpl"], v["tr"])
                   for c, v in sorted(cpus.items()) if len(v) == 3)


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
    # QEMU's monitor, for the vCPUs' registers of a hung VM (a socket path
    # must be short: not under OUT)
    mondir = tempfile.mkdtemp(prefix="vm-mon-")
    proc = None
    try:
        monitor = os.path.join(mondir, "hmp")
        cmd = qemu_command(args, out, monitor)
        if args.verbose:
            print("+ " + " ".join(cmd), file=sys.stderr)

        start = time.time()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
        lines, timed_out, hung, echo = [], False, None, args.verbose
        # --freeze: the VM stopped at a power-off or reset (QEMU killed,
        # its last output still read), and at a triple fault of the test kernel
        frozen, triple, snapshot, monitor_errors = False, False, None, []
        beat = Heartbeat(os.path.join(out, "heartbeat"), args.hang)
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
                hung = 0 if frozen else beat.silent_for()
                if hung:
                    timed_out = True
                    break
                if not sel.select(timeout=min(left, POLL)):
                    if args.freeze and not frozen and stopped(monitor, monitor_errors):
                        frozen = True
                        triple = bool(triple_faults(os.path.join(out, "qemu.log")))
                        if triple:
                            # a stopped CPU: one sample is all there is
                            snapshot = cpu_snapshot(
                                monitor, os.path.join(out, "cpus-at-triple-fault.txt"), samples=1)
                        os.killpg(proc.pid, signal.SIGKILL)
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
        if hung:
            with open(os.path.join(out, "hung"), "w") as f:
                f.write("%d\n" % hung)
        if timed_out:
            snapshot = cpu_snapshot(monitor, os.path.join(out, "cpus-at-timeout.txt"))
            if os.path.isfile(snapshot) and beat.started():
                # guest-init ran: the CPUs are past boot, firmware and real mode
                with open(snapshot) as f:
                    snapshot += " (%s)" % where_cpus_were(f.read())
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        # an exception or ^C: under --freeze a stopped QEMU would stay
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(mondir, ignore_errors=True)
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
        print("vm: %s; %s; its vCPUs' registers: %s" % (
            "HUNG: the guest's heartbeat stopped %ds ago, killed the VM "
            "after %.0fs" % (hung, elapsed) if hung else
            "TIMEOUT: killed the VM after %ds" % args.timeout,
            where, snapshot), file=sys.stderr)
        if monitor_errors:
            print("vm: --freeze could not ask QEMU's monitor whether the VM had "
                  "stopped: %s" % monitor_errors[-1], file=sys.stderr)
        return 124
    if triple:
        # even after the command's exit status (e.g. in guest-init's power-off)
        print("vm: the test kernel triple-faulted (command status %s); its vCPUs' "
              "registers at the fault: %s; %s" % (status, snapshot, where), file=sys.stderr)
        return 125
    if status is None:
        tail = "\n".join("    " + l for l in lines[-30:])
        print("vm: the guest stopped without reporting an exit status "
              "(%s; %s); last lines:\n%s\n%s" %
              (triple_fault(os.path.join(out, "qemu.log")),
               "the VM stopped at a reset or power-off, ended by vm.py" if frozen
               else "qemu exit %d" % proc.returncode, tail, where),
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


def end_on_sigterm():
    """SIGTERM (e.g. make check's stage timeout, or a stop by hand) raises
    SystemExit, so that the finally of run() ends QEMU, which runs in a
    session of its own: by default the signal would end this process alone
    and leave QEMU running. Only the main thread can set a handler; a
    caller that runs VMs in threads stops them itself (bochs.STOP)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def main(argv=None):
    p = runner_parser(__doc__, "qemu", MMU_CONFIGS, "shell command to run in the guest")
    p.add_argument("--out", default=os.path.join(TOP, "build/vm/last"),
                   help="host directory shared writable with the guest "
                   "($OUT inside); it is emptied first")
    p.add_argument("--smp", type=int, default=2)
    p.add_argument("--accel", default="tcg",
                   help="QEMU -accel value, e.g. tcg,thread=single")
    p.add_argument("--mem", default="4G")
    p.add_argument("--hang", type=float, default=180, metavar="SECONDS",
                   help="end the VM as hung (exit 124) when guest-init's "
                   "heartbeat (every 10 s) stops for this long; 0: never")
    p.add_argument("--freeze", action="store_true",
                   help="stop the VM at a triple fault of the test kernel instead "
                   "of ending QEMU, and keep its vCPUs' registers at the fault "
                   "(OUT/cpus-at-triple-fault.txt; exit 125); matrix.py uses it")
    p.add_argument("--fault-injection", metavar="COMM",
                   help="allocations of task COMM fail on purpose (make "
                   "faults): its allocation-failure reports are not splats, "
                   "and kmemleak's findings are left to the command to judge")
    args = runner_args(p, argv, mmu_configs(), "vm")
    if not shutil.which("qemu-system-x86_64"):
        sys.exit("vm: qemu-system-x86_64 not found; run 'make deps'")
    end_on_sigterm()
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
