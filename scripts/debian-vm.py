#!/usr/bin/env python3
"""Boot Debian's own, unmodified kernel with scripts/vm.py, run a command.

Like scripts/vm.py (same options, output and exit status, same splat check),
but the kernel defaults to the stock vmlinuz of linux-image-<abi> unpacked by
'scripts/debian-modules.sh image', and the guest gets a small initramfs.
Debian builds virtio, 9p and overlayfs as modules, so the initramfs
(busybox-static plus those modules, taken from the linux-image package)
loads them, mounts the host root read-only over 9p as vm.py asks on the
kernel command line, and stacks a tmpfs overlay on it, so the guest can
install packages (dpkg's database, /usr, /etc become copy-on-write; the
host is never written). /lib/modules/<abi> is the package's stock module
tree, writable the same way; --updates DIR adds the .ko files of DIR as
its updates/dkms/ (which modprobe prefers). Then it switches to that root
and runs vm.py's guest/guest-init, which runs the command.

  scripts/debian-vm.py 'uname -r; lsmod'
  scripts/debian-vm.py --timeout 900 --out build/vm/debian 'cmd'
  scripts/debian-vm.py --updates /lib/modules/<abi>/updates/dkms 'modinfo -n kvm'
"""

import gzip
import hashlib
import os
import shutil
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "scripts"))
import vm  # noqa: E402  (scripts/vm.py: the runner and its splat detection)


def base_var(name):
    with open(os.path.join(TOP, "patches/BASE")) as f:
        for line in f:
            if line.startswith(name + "="):
                return line.split("=", 1)[1].strip()
    sys.exit("debian-vm: patches/BASE has no %s" % name)


ABI = base_var("DEBIAN_ABI")
IMAGE = os.path.join(TOP, "build/debian/image")
MODULES = os.path.join(IMAGE, "lib/modules", ABI)
VMLINUZ = os.path.join(IMAGE, "boot/vmlinuz-" + ABI)
INITRD = os.path.join(TOP, "build/debian/initramfs.cpio.gz")
BUSYBOX = "/bin/busybox"
# what the initramfs must load before the 9p root can be mounted
WANT = ["virtio_pci", "9pnet_virtio", "9p", "overlay"]
# --modules test: the guest's /lib/modules/<abi> holds these and what they
# depend on, hard links to the package's files (depmod then takes seconds,
# not the two minutes it takes over the whole tree under TCG)
TEST_MODULES = ["kvm", "kvm_amd", "kvm_intel", "kvmgt", "i915", "mdev", "vfio"] + WANT
SUBSET = os.path.join(TOP, "build/debian/vm-modules")

INIT = r"""#!/bin/sh
# PID 1 of the initramfs made by scripts/debian-vm.py.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
die() {
	echo "debian-vm init: $*"
	echo "debian-vm init: cannot start guest/guest-init; powering off"
	poweroff -f
}
while read -r m; do
	insmod "$m" || die "insmod $m failed"
done < /modules.list
root= flags= init= mods=
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	root=*) root=${arg#root=} ;;
	rootflags=*) flags=${arg#rootflags=} ;;
	init=*) init=${arg#init=} ;;
	slotzap.modules=*) mods=${arg#slotzap.modules=} ;;
	esac
done
[ -n "$root" ] && [ -n "$init" ] || die "no root= or init= on the kernel command line"
mkdir -p /host /rw /newroot
n=0
until mount -t 9p -o "$flags,ro" "$root" /host; do
	n=$((n + 1))
	[ $n -lt 20 ] || die "cannot mount the 9p root '$root'"
	sleep 0.5
done
mount -t tmpfs -o mode=0755 slotzap-rw /rw
mkdir -p /rw/root /rw/root.work /rw/mod /rw/mod.work
mount -t overlay -o lowerdir=/host,upperdir=/rw/root,workdir=/rw/root.work \
	slotzap-root /newroot || die "cannot mount the overlay root"
if [ -n "$mods" ]; then
	d=/newroot/lib/modules/$(uname -r)
	mkdir -p "$d"
	mount -t overlay -o "lowerdir=/host$mods,upperdir=/rw/mod,workdir=/rw/mod.work" \
		slotzap-modules "$d" || die "cannot mount the module overlay"
fi
umount /proc /sys /dev
exec switch_root /newroot "$init"
"""


def module_list(want=WANT):
    """Modules to insmod, dependencies first, from the package's modules.dep."""
    out = subprocess.run(["modprobe", "-a", "-d", IMAGE, "-S", ABI, "--show-depends"] + want,
                         check=True, capture_output=True, text=True).stdout
    mods = []
    for line in out.splitlines():
        if line.startswith("insmod "):
            path = line.split()[1]
            if path not in mods:
                mods.append(path)
    return mods


def build_subset(updates=None):
    """build/debian/vm-modules/lib/modules/<abi>: the stock modules the tests
    load, hard-linked from the unpacked package, and copies of the .ko files
    of the directory updates in updates/dkms, with their own depmod."""
    mods = module_list(TEST_MODULES)
    extra = sorted(os.path.join(updates, f) for f in os.listdir(updates)
                   if f.endswith(".ko")) if updates else []
    if updates and not extra:
        sys.exit("debian-vm: no .ko files in %s" % updates)
    digests = []
    for m in extra:
        with open(m, "rb") as f:
            digests.append(m + " " + hashlib.sha256(f.read()).hexdigest())
    key = "\n".join([open(os.path.join(IMAGE, ".stamp")).read()] + mods + digests)
    root = os.path.join(SUBSET, "lib/modules", ABI)
    stamp = os.path.join(SUBSET, ".key")
    if os.path.isfile(stamp) and open(stamp).read() == key:
        return root
    shutil.rmtree(SUBSET, ignore_errors=True)
    os.makedirs(root)
    for f in ("modules.order", "modules.builtin", "modules.builtin.modinfo"):
        shutil.copy2(os.path.join(MODULES, f), root)
    for m in mods:
        dst = os.path.join(root, os.path.relpath(m, MODULES))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        os.link(m, dst)
    if extra:
        os.makedirs(os.path.join(root, "updates/dkms"))
        for m in extra:
            shutil.copy2(m, os.path.join(root, "updates/dkms"))
    subprocess.run(["depmod", "-b", SUBSET, ABI], check=True)
    with open(stamp, "w") as f:
        f.write(key)
    print("debian-vm: %s holds %d stock modules (the tests' and their dependencies)%s"
          % (os.path.relpath(root, TOP), len(mods),
             ", and in updates/dkms the %d of %s" % (len(extra), updates) if extra else ""),
          file=sys.stderr)
    return root


def build_initramfs():
    if not os.path.isfile(os.path.join(MODULES, "modules.dep")):
        sys.exit("debian-vm: no unpacked %s in %s; run 'scripts/debian-modules.sh image'"
                 % (ABI, IMAGE))
    if not os.path.isfile(BUSYBOX):
        sys.exit("debian-vm: %s is missing; apt-get install busybox-static" % BUSYBOX)
    mods = module_list()
    key = hashlib.sha256()
    for part in [INIT, ABI, open(os.path.join(IMAGE, ".stamp")).read()] + mods:
        key.update(part.encode() + b"\0")
    with open(BUSYBOX, "rb") as f:
        key.update(f.read())
    stamp = INITRD + ".key"
    if os.path.isfile(INITRD) and os.path.isfile(stamp) and open(stamp).read() == key.hexdigest():
        return
    stage = INITRD + ".d"
    shutil.rmtree(stage, ignore_errors=True)
    for d in ("bin", "dev", "proc", "sys", "lib/modules"):
        os.makedirs(os.path.join(stage, d))
    shutil.copy2(BUSYBOX, os.path.join(stage, "bin/busybox"))
    os.symlink("busybox", os.path.join(stage, "bin/sh"))
    os.mknod(os.path.join(stage, "dev/console"), 0o600 | 0o020000, os.makedev(5, 1))
    names = []
    for m in mods:
        name = os.path.basename(m)
        shutil.copy2(m, os.path.join(stage, "lib/modules", name))
        names.append("/lib/modules/" + name)
    with open(os.path.join(stage, "modules.list"), "w") as f:
        f.write("\n".join(names) + "\n")
    with open(os.path.join(stage, "init"), "w") as f:
        f.write(INIT)
    os.chmod(os.path.join(stage, "init"), 0o755)
    files = subprocess.run("find . | LC_ALL=C sort", shell=True, cwd=stage, check=True,
                           capture_output=True).stdout
    cpio = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet", "-R", "0:0"], cwd=stage,
                          input=files, check=True, capture_output=True).stdout
    with gzip.open(INITRD + ".tmp", "wb", compresslevel=6) as f:
        f.write(cpio)
    os.replace(INITRD + ".tmp", INITRD)
    with open(stamp, "w") as f:
        f.write(key.hexdigest())
    shutil.rmtree(stage)
    print("debian-vm: built %s (%d modules: %s)" %
          (os.path.relpath(INITRD, TOP), len(mods),
           " ".join(os.path.basename(m)[:-3] for m in mods)), file=sys.stderr)


def main():
    argv = sys.argv[1:]
    opts = {"--modules": "test", "--updates": None}
    for name in opts:
        for i, a in enumerate(argv):
            if a == name and i + 1 < len(argv):
                opts[name] = argv[i + 1]
                del argv[i:i + 2]
                break
            if a.startswith(name + "="):
                opts[name] = a.split("=", 1)[1]
                del argv[i]
                break
    modules, updates = opts["--modules"], opts["--updates"]
    if modules not in ("test", "full"):
        sys.exit("debian-vm: --modules is 'test' or 'full', not '%s'" % modules)
    if "-h" in argv or "--help" in argv:
        print(__doc__)
        return vm.main(["--help"])
    if not any(a == "--kernel" or a.startswith("--kernel=") for a in argv):
        if not os.path.isfile(VMLINUZ):
            sys.exit("debian-vm: %s is missing; run 'scripts/debian-modules.sh image'" % VMLINUZ)
        argv = ["--kernel", VMLINUZ] + argv
    build_initramfs()
    if updates and modules == "full":
        sys.exit("debian-vm: --updates needs --modules test")
    if updates and not os.path.isdir(updates):
        sys.exit("debian-vm: --updates %s is not a directory" % updates)
    tree = MODULES if modules == "full" else build_subset(updates)

    plain = vm.qemu_command

    def qemu_command(args, out, monitor=None):
        cmd = plain(args, out, monitor)
        i = cmd.index("-append")
        cmd[i + 1] += " slotzap.modules=" + tree
        # for debugging, e.g. DEBIAN_VM_QEMU_ARGS='-s' (a gdb stub)
        return cmd + ["-initrd", INITRD] + os.environ.get("DEBIAN_VM_QEMU_ARGS", "").split()

    vm.qemu_command = qemu_command
    return vm.main(argv)


if __name__ == "__main__":
    sys.exit(main())
