#!/usr/bin/env python3
"""Check the modules dkms installed for one Debian kernel against it.

Used by tests/debian-dkms-test.sh, per kernel (without booting it):
  - each module's vermagic equals that of the kernel's stock kvm.ko;
  - every MODVERSIONS CRC a module imports (its __versions table) equals
    the CRC the kernel will check when loading it: the kernel's
    Module.symvers (vmlinux and stock modules, from its linux-headers), or,
    for a symbol one of our modules exports, that module's own CRC;
  - the modules are signed (dkms signs them with its MOK key).
Prints one line per module; exit 1 on any mismatch.

  scripts/dkms-verify.py --symvers /usr/src/linux-headers-K/Module.symvers \\
      --stock-kvm stock/kvm.ko /lib/modules/K/updates/dkms/*.ko
"""

import argparse
import importlib.util
import os
import struct
import sys

# Module.symvers and __versions readers: those of the pinned kernel's checks
_spec = importlib.util.spec_from_file_location(
    "debian_modules_verify", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                          "debian-modules-verify.py"))
dmv = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dmv)
run = dmv.run


def exported_crcs(path):
    """{symbol: crc} of the symbols a 64-bit little-endian .ko exports: the
    values its __crc_<symbol> symbols point at in the __kcrctab* sections."""
    with open(path, "rb") as f:
        elf = f.read()
    if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
        raise ValueError("%s: not a 64-bit little-endian ELF file" % path)
    shoff, = struct.unpack_from("<Q", elf, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", elf, 0x3A)
    sections = []
    for i in range(shnum):
        sh = shoff + i * shentsize
        stype, = struct.unpack_from("<I", elf, sh + 4)
        off, size, link = struct.unpack_from("<QQI", elf, sh + 0x18)
        sections.append((stype, off, size, link))
    crcs = {}
    for stype, off, size, link in sections:
        if stype != 2:                                  # SHT_SYMTAB
            continue
        stroff = sections[link][1]
        for s in range(off, off + size, 24):
            name, _, _, shndx, value, _ = struct.unpack_from("<IBBHQQ", elf, s)
            end = elf.index(b"\0", stroff + name)
            sym = elf[stroff + name:end].decode()
            if sym.startswith("__crc_") and 0 < shndx < len(sections):
                crc, = struct.unpack_from("<I", elf, sections[shndx][1] + value)
                crcs[sym[len("__crc_"):]] = crc
    return crcs


def kernel_symvers(path):
    """{symbol: crc} from a Module.symvers."""
    return {name: crc for name, (crc, _) in dmv.symvers(path).items()}


def imported_crcs(path):
    """{symbol: crc} of a module's __versions table."""
    return dict(dmv.imports(path))


def check(symvers, stock_kvm, modules):
    """Lines to print and the number of problems."""
    lines, bad = [], 0
    want = run("modinfo", "-F", "vermagic", stock_kvm).strip()
    kernel = kernel_symvers(symvers)
    ours = {}
    for m in modules:
        for sym, crc in exported_crcs(m).items():
            ours[sym] = (crc, os.path.basename(m))
    for m in modules:
        name = os.path.basename(m)
        problems = []
        have = run("modinfo", "-F", "vermagic", m).strip()
        if have != want:
            problems.append("vermagic '%s', the kernel's is '%s'" % (have, want))
        imports = imported_crcs(m)
        for sym, crc in sorted(imports.items()):
            if sym in ours:
                expect, where = ours[sym]
            elif sym in kernel:
                expect, where = kernel[sym], "Module.symvers"
            else:
                problems.append("imports %s, which neither the kernel nor our modules export" % sym)
                continue
            if crc != expect:
                problems.append("%s: CRC 0x%08x, %s has 0x%08x" % (sym, crc, where, expect))
        signer = run("modinfo", "-F", "signer", m).strip()
        if not signer:
            problems.append("not signed")
        if problems:
            bad += 1
            lines.append("FAIL %s: %s" % (name, "; ".join(problems[:5])))
        else:
            lines.append("ok   %s: vermagic '%s', %d imported CRCs match, signed by '%s'"
                         % (name, have, len(imports), signer))
    return lines, bad


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--symvers", required=True, help="the kernel's Module.symvers (linux-headers)")
    p.add_argument("--stock-kvm", required=True, help="the kernel's own kvm.ko (linux-image)")
    p.add_argument("modules", nargs="+")
    args = p.parse_args()
    lines, bad = check(args.symvers, args.stock_kvm, args.modules)
    print("\n".join(lines))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
