#!/usr/bin/env python3
"""Boot a kernel under Bochs (Intel VMX + EPT), run one command, return its status.

The second backend of the VM runner, with the interface of scripts/vm.py
(kernel, kernel parameters, command, exit status, console log, splat
detection, hard timeout), for what QEMU TCG cannot do: Intel VMX. Bochs
emulates a Haswell (corei7_haswell_4770) with VMX and EPT, so kvm_intel runs
guests in it.

Bochs has no 9p and no -kernel: the kernel and an initramfs
(setup/build-bochs-initramfs.sh: busybox, the selftests, libc) go onto a
GRUB ISO that Bochs boots from its CD drive; the command is appended to the
initramfs as /cmd and runs with busybox sh in /selftests (PATH has the
selftests and busybox; no bash, no host files, no $OUT share). Output comes
back over the serial console only: console.log in the output directory.

The kernel should be LZ4-compressed (setup/build-bochs-kernel.sh prints
one): Bochs executes the decompressor too, and XZ costs 15-60 s per boot.
The emulated CPU runs on one host thread; several runs go well in parallel.
OUT/timing splits the wall time into ISO, BIOS+GRUB+decompression, kernel
boot and command; BOCHS_INFO=1 keeps Bochs' info messages in OUT/bochs.log.

Exit status: the command's own status when the run was clean; otherwise
124 on timeout, 125 when the guest never reported a status (crash, panic),
126 when the command passed but the kernel printed a splat.

Examples:
  scripts/bochs.py 'grep -c vmx /proc/cpuinfo; ls -l /dev/kvm'
  scripts/bochs.py --kernel $(setup/build-bochs-kernel.sh) --config vmx-shadow \
      'run-tests -c vmx-shadow memslot_zap_test'
  scripts/bochs.py --append 'kvm_intel.ept=1 kvm.tdp_mmu=0' --timeout 300 'cmd'
"""

import fcntl
import os
import pty
import re
import selectors
import shutil
import signal
import struct
import subprocess
import sys
import threading
import tempfile
import termios
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vm  # noqa: E402  (defaults, option parsing)
sys.path.insert(0, vm.TOP)
from harness import console  # noqa: E402

TOP = vm.TOP
DEFAULT_KERNEL = vm.DEFAULT_KERNEL
DEFAULT_INITRAMFS = os.path.join(TOP, "build/bochs/initramfs.cpio.gz")
MMU_CONFIGS = os.path.join(TOP, "tests/mmu-configs-intel")
CPU_MODEL = "corei7_haswell_4770"
# set: every Bochs that run() watches is ended (intel-matrix.py's SIGTERM,
# whose threads cannot take the signal themselves)
STOP = threading.Event()
# After this line the guest only syncs, sleeps and powers off.
EXIT_LINE = re.compile(r"SLOTZAP-EXIT (\d+)")
PANIC_END = re.compile(r"---\[ end Kernel panic")


def mmu_configs():
    """name -> kernel parameters, from tests/mmu-configs-intel."""
    return vm.mmu_configs(MMU_CONFIGS)


def cpio_newc(files):
    """A newc cpio archive of {name: (mode, data)}, gzip-free."""
    out, ino = b"", 1
    for name, (mode, data) in list(files.items()) + [("TRAILER!!!", (0, b""))]:
        nb = name.encode() + b"\0"
        hdr = "070701" + "".join("%08X" % v for v in (
            ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(nb), 0))
        out += hdr.encode() + nb
        out += b"\0" * (-len(out) % 4) + data
        out += b"\0" * (-len(out) % 4)
        ino += 1
    return out


def make_iso(args, work):
    """A GRUB rescue ISO booting the kernel with the initramfs + /cmd."""
    iso = os.path.join(work, "iso")
    os.makedirs(os.path.join(iso, "boot/grub"))
    shutil.copy(args.kernel, os.path.join(iso, "boot/bzImage"))
    shutil.copy(args.initramfs, os.path.join(iso, "boot/initrd.gz"))
    with open(os.path.join(iso, "boot/cmd.cpio"), "wb") as f:
        f.write(cpio_newc({"cmd": (0o100644, (args.command + "\n").encode())}))
    cmdline = " ".join([
        "console=ttyS0,115200", "panic=0", "rdinit=/init", "printk.time=1",
        args.append,
    ]).strip()
    with open(os.path.join(iso, "boot/grub/grub.cfg"), "w") as f:
        f.write("set timeout=0\nset default=0\n"
                "menuentry kvm-slotzap {\n"
                "  linux /boot/bzImage %s\n"
                "  initrd /boot/initrd.gz /boot/cmd.cpio\n}\n" % cmdline)
    out = os.path.join(work, "boot.iso")
    # Only the BIOS platform and the modules the boot needs: small and quick.
    r = subprocess.run(
        ["grub-mkrescue", "-o", out, "--compress=no",
         "--install-modules=linux normal iso9660 biosdisk configfile "
         "echo test gzio", "--fonts=", "--locales=", "--themes=",
         "-d", "/usr/lib/grub/i386-pc", iso],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode:
        sys.exit("bochs: grub-mkrescue failed:\n" + r.stdout.decode(errors="replace"))
    return out, cmdline


def bochsrc(args, work, iso, console_raw):
    rc = os.path.join(work, "bochsrc")
    with open(rc, "w") as f:
        f.write("""\
megs: %(mem)d
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
cpu: model=%(model)s, count=%(smp)d, ips=%(ips)d, reset_on_triple_fault=1
pci: enabled=1, chipset=i440fx
ata0-master: type=cdrom, path="%(iso)s", status=inserted
boot: cdrom
display_library: term
com1: enabled=1, mode=file, dev="%(console)s"
plugin_ctrl: speaker=0, sb16=0, es1370=0, e1000=0, ne2k=0, usb_uhci=0
clock: sync=none, time0=local
log: "%(log)s"
panic: action=fatal
error: action=report
info: action=%(info)s
debug: action=ignore
""" % dict(mem=args.mem, model=CPU_MODEL, smp=args.smp, ips=args.ips,
           iso=iso, console=console_raw, log=os.path.join(args.out, "bochs.log"),
           info="report" if os.environ.get("BOCHS_INFO") else "ignore"))
    # Debian's Bochs has its debugger built in and stops before the first
    # instruction: continue; should the simulation stop again, quit.
    dbg = os.path.join(work, "debugger.rc")
    with open(dbg, "w") as f:
        f.write("c\nq\n")
    return rc, dbg


def run(args):
    out = os.path.abspath(args.out)
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    args.out = out
    with open(os.path.join(out, "cmd"), "w") as f:
        f.write(args.command + "\n")
    work = tempfile.mkdtemp(prefix="bochs-", dir=out)
    t0 = time.time()
    iso, cmdline = make_iso(args, work)
    console_raw = os.path.join(work, "console.raw")
    open(console_raw, "wb").close()
    rc, dbg = bochsrc(args, work, iso, console_raw)
    log_path = os.path.join(out, "console.log")
    cmd = ["bochs", "-q", "-f", rc, "-rc", dbg]
    if args.verbose:
        print("+ %s  (kernel: %s)" % (" ".join(cmd), cmdline), file=sys.stderr)

    # The term display library wants a terminal (Debian's Bochs has no
    # nogui): give it a pty of 80x25 and throw away what it draws.
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 25, 80, 0, 0))
    env = dict(os.environ, TERM="xterm")
    start = time.time()
    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave,
                            cwd=work, env=env, start_new_session=True)
    os.close(slave)
    os.set_blocking(master, False)
    sel = selectors.DefaultSelector()
    sel.register(master, selectors.EVENT_READ)

    lines, buf, pos = [], b"", 0
    timed_out, exited_at, panicked, stopped = False, None, False, False
    marks = {}   # first console line, SLOTZAP-START: host seconds since start
    echo = args.verbose
    log = open(log_path, "w")

    def pump_console():
        nonlocal buf, pos, echo, exited_at, panicked
        with open(console_raw, "rb") as f:
            f.seek(pos)
            chunk = f.read()
        pos += len(chunk)
        buf += chunk
        *complete, buf = buf.split(b"\n")
        for raw in complete:
            line = raw.decode("utf-8", "replace").rstrip("\r")
            lines.append(line)
            log.write(line + "\n")
            marks.setdefault("kernel", time.time() - start)
            if line.startswith("SLOTZAP-START"):
                marks.setdefault("init", time.time() - start)
                echo = not args.quiet
            elif EXIT_LINE.match(line):
                exited_at = exited_at or time.time()
            elif echo:
                print(line, flush=True)
            if PANIC_END.search(line):
                panicked = True
        log.flush()

    try:
        while proc.poll() is None:
            now = time.time()
            if now - start > args.timeout:
                timed_out = True
                break
            # The guest powers off a few seconds after its last line; should
            # Bochs not exit by itself (or the kernel panicked), stop it.
            if exited_at and now - exited_at > 20:
                break
            if panicked:
                time.sleep(2)
                break
            if STOP.is_set():
                stopped = True
                break
            for _key, _ in sel.select(timeout=0.5):
                try:
                    os.read(master, 65536)   # the term display; not needed
                except OSError:
                    pass
            pump_console()
    finally:
        # also on an exception or SIGTERM: Bochs runs in a session of its own
        if proc.poll() is None:
            # SIGINT stops the simulation in the debugger, which then reads the
            # rc file's 'q' and quits cleanly (flushing the console file);
            # Bochs ignores SIGTERM.
            os.kill(proc.pid, signal.SIGINT)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    pump_console()
    if buf:
        lines.append(buf.decode("utf-8", "replace").rstrip("\r"))
        log.write(lines[-1] + "\n")
    log.close()
    os.close(master)
    elapsed = time.time() - start
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)

    with open(os.path.join(out, "timing"), "w") as f:
        k, i = marks.get("kernel"), marks.get("init")
        f.write("iso=%.1f bios_grub=%s kernel_boot=%s command=%s total=%.1f\n" % (
            start - t0, "%.1f" % k if k else "-",
            "%.1f" % (i - k) if k and i else "-",
            "%.1f" % (exited_at - start - i) if i and exited_at else "-",
            time.time() - t0))

    status = None
    for line in lines:
        m = EXIT_LINE.match(line)
        if m:
            status = int(m.group(1))

    try:
        splats = console.check(lines)
    except console.Unjudgeable as e:
        print("bochs: cannot judge the console: %s" % e, file=sys.stderr)
        return 125
    for _, splat in splats:
        print("bochs: KERNEL SPLAT in the console:", file=sys.stderr)
        print("\n".join("    " + l for l in splat), file=sys.stderr)
    where = "console log: %s" % log_path
    if stopped:
        print("bochs: STOPPED by SIGTERM; %s" % where, file=sys.stderr)
        return 143
    if timed_out:
        print("bochs: TIMEOUT: killed Bochs after %ds; %s" %
              (args.timeout, where), file=sys.stderr)
        return 124
    if status is None:
        tail = "\n".join("    " + l for l in lines[-30:])
        print("bochs: the guest stopped without reporting an exit status "
              "(panic? bochs exit %s); last lines:\n%s\n%s\nbochs log: %s" %
              (proc.returncode, tail, where, os.path.join(out, "bochs.log")),
              file=sys.stderr)
        return 125
    if args.verbose or status or splats:
        print("bochs: command exited %d after %.0fs (ISO %.1fs, BIOS+GRUB "
              "%.0fs, kernel boot %.0fs); %d splat(s); %s"
              % (status, elapsed, start - t0, marks.get("kernel", 0),
                 marks.get("init", 0) - marks.get("kernel", 0),
                 len(splats), where), file=sys.stderr)
    if splats and status == 0:
        return 126
    return status


def main(argv=None):
    p = vm.runner_parser(__doc__, "bochs", MMU_CONFIGS,
                         "shell command (busybox sh) to run in the guest")
    p.add_argument("--initramfs", default=DEFAULT_INITRAMFS,
                   help="initramfs from setup/build-bochs-initramfs.sh")
    p.add_argument("--out", default=os.path.join(TOP, "build/bochs/last"),
                   help="host directory for console.log, bochs.log, cmd; "
                   "emptied first")
    p.add_argument("--smp", type=int, default=1,
                   help="guest CPUs (Bochs emulates them in turn on one host CPU)")
    p.add_argument("--mem", type=int, default=1024, help="guest MiB")
    p.add_argument("--ips", type=int, default=100000000,
                   help="Bochs' guest instructions per emulated second "
                   "(sets the guest's clock; not the speed)")
    p.add_argument("--keep", action="store_true",
                   help="keep the ISO and bochsrc in OUT/bochs-*")
    args = vm.runner_args(p, argv, mmu_configs(), "bochs")
    if not os.path.isfile(args.initramfs):
        sys.exit("bochs: no initramfs at %s; run "
                 "setup/build-bochs-initramfs.sh" % args.initramfs)
    for tool in ("bochs", "grub-mkrescue", "xorriso"):
        if not shutil.which(tool):
            sys.exit("bochs: %s not found; run setup/bochs-deps.sh" % tool)
    vm.end_on_sigterm()
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
