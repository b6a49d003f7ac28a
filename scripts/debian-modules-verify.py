#!/usr/bin/env python3
"""Check replacement modules against the Debian kernel they are built for.

Used by scripts/debian-modules.sh verify. Fails (exit 1) unless:
  - every module's vermagic equals the stock module's it replaces;
  - every MODVERSIONS CRC a module imports (its __versions table) equals the
    CRC the kernel will check: Debian's Module.symvers for vmlinux and stock
    modules, our own Module.symvers for symbols our modules export;
  - the symbols kvm.ko exports are the ones the stock kvm.ko exports;
  - no stock module outside the replaced set depends on a replaced module
    (it would import our changed CRCs and be refused);
  - every header the build read from Debian's headers package is the base's
    (git tag 'base'), and every file read from the mirror is the series'
    (HEAD): the modules are built from exactly base + series.
  - with --layout DEBIAN SERIES (pahole output of a probe object compiled
    with Debian's headers and with the series' changed headers first): no
    struct or union changes size, member offsets or sizes. Debian's vmlinux
    was compiled against the old headers and shares these types with the
    modules (kernel/entry/kvm.c reads struct kvm_vcpu, for one); MODVERSIONS
    cannot catch this, as vmlinux's CRCs come from Debian's Module.symvers.
    A member renamed or retyped at the same offset and size is reported.
Module parameters that differ from the stock module's are reported.
"""

import argparse
import os
import re
import subprocess
import sys


def run(*cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def modinfo(path, field):
    return run("modinfo", "-F", field, path).strip()


def symvers(path):
    """name -> (crc, module) from a Module.symvers file."""
    out = {}
    with open(path) as f:
        for line in f:
            crc, name, module = line.rstrip("\n").split("\t")[:3]
            out[name] = (int(crc, 16), module)
    return out


def imports(path):
    """[(name, crc)] from a module's __versions table."""
    out = []
    for line in run("modprobe", "--dump-modversions", path).splitlines():
        crc, name = line.split()
        out.append((name, int(crc, 16)))
    return out


def stock_path(stock, name):
    for rel in ("kernel/arch/x86/kvm/%s.ko", "kernel/drivers/gpu/drm/i915/%s.ko"):
        p = os.path.join(stock, rel % name)
        if os.path.exists(p):
            return p
    return None


def git_blobs(src, rev, paths):
    """path -> blob id at rev, for the paths that exist there."""
    out = {}
    paths = sorted(set(paths))
    for i in range(0, len(paths), 500):
        text = run("git", "-C", src, "ls-tree", rev, "--", *paths[i:i + 500])
        for line in text.splitlines():
            meta, path = line.split("\t", 1)
            out[path] = meta.split()[2]
    return out


def hash_files(files):
    files = sorted(set(files))
    if not files:
        return {}
    text = run("git", "hash-object", "--stdin-paths", input="\n".join(files) + "\n")
    return dict(zip(files, text.split()))


def cmd_deps(kbuild):
    """Every file the compiler read, from Kbuild's .*.o.cmd files."""
    deps = set()
    for root, _, files in os.walk(kbuild):
        for f in files:
            if not (f.startswith(".") and f.endswith(".o.cmd")):
                continue
            with open(os.path.join(root, f)) as fh:
                text = fh.read()
            m = re.search(r"^deps_[^ ]* := \\\n(.*?)\n\n", text, re.S | re.M)
            if not m:
                continue
            for tok in m.group(1).replace("\\\n", " ").split():
                if tok.startswith("$(wildcard"):
                    continue
                if tok.endswith(")"):
                    continue
                deps.add(tok)
    return deps


def pahole_types(path):
    """name -> [definition text] from pahole's output, in order."""
    types, cur = {}, None
    with open(path) as f:
        for line in f:
            if cur is None:
                m = re.match(r"^(struct|union) (\S+) \{", line)
                if m:
                    cur, name = [line], m.group(1) + " " + m.group(2)
                continue
            cur.append(line)
            if line.startswith("}"):
                types.setdefault(name, []).append("".join(cur))
                cur = None
    return types


def layout(text):
    """What pahole says about offsets, sizes, holes: its comments."""
    return [" ".join(c.split()) for c in re.findall(r"/\*(.*?)\*/", text)]


def check_layout(old_path, new_path, errors, notes):
    old, new = pahole_types(old_path), pahole_types(new_path)
    same = renamed = 0
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name, []), new.get(name, [])
        if len(a) != len(b):
            (errors if a else notes).append(
                "%s: %d definition(s) with Debian's headers, %d with the series'" % (name, len(a), len(b)))
            continue
        for x, y in zip(a, b):
            if x == y:
                same += 1
            elif layout(x) == layout(y):
                renamed += 1
                diff = [l.strip() for l in y.splitlines() if l not in x.splitlines()]
                notes.append("%s: same layout, members changed: %s" % (name, "; ".join(diff)[:300]))
            else:
                errors.append("%s changes layout (offsets or sizes) with the series' headers; "
                              "Debian's vmlinux may use it: a kernel rebuild is needed" % name)
    print("verify: %d structs and unions the changed headers reach keep their layout "
          "(%d identical, %d with members renamed or retyped in place)" % (same + renamed, same, renamed))


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--src", required=True, help="the git tree (tags: base; HEAD = series)")
    p.add_argument("--kdir", required=True, help="Debian's linux-headers-<abi> directory")
    p.add_argument("--stock", required=True, help="the stock /lib/modules/<abi>")
    p.add_argument("--kbuild", required=True, help="the mirror the modules were built in")
    p.add_argument("--symvers", action="append", default=[], help="our Module.symvers")
    p.add_argument("--layout", nargs=2, metavar=("DEBIAN", "SERIES"),
                   help="pahole output of the probe with Debian's and with the series' headers")
    p.add_argument("modules", nargs="+")
    a = p.parse_args()

    errors, notes = [], []
    debian = symvers(os.path.join(a.kdir, "Module.symvers"))
    ours = {}
    for f in a.symvers:
        ours.update(symvers(f))
    names = {os.path.basename(m)[:-3].replace("-", "_"): m for m in a.modules}

    # 1. vermagic
    for name, m in names.items():
        stock = stock_path(a.stock, os.path.basename(m)[:-3])
        if not stock:
            errors.append("%s: no stock module of that name in %s" % (name, a.stock))
            continue
        vm, vs = modinfo(m, "vermagic"), modinfo(stock, "vermagic")
        if vm != vs:
            errors.append("%s: vermagic '%s', the kernel's is '%s'" % (name, vm, vs))
        pm = {l.split(":")[0] for l in modinfo(m, "parm").splitlines()}
        ps = {l.split(":")[0] for l in modinfo(stock, "parm").splitlines()}
        if pm != ps:
            notes.append("%s: parameters differ from stock: added %s, removed %s" %
                         (name, sorted(pm - ps) or "none", sorted(ps - pm) or "none"))
    vermagic = modinfo(a.modules[0], "vermagic")
    print("verify: vermagic of %d modules = stock: '%s'" % (len(names), vermagic))

    # 2. CRCs of every import
    total = own = 0
    for name, m in names.items():
        for sym, crc in imports(m):
            total += 1
            if sym in ours:
                own += 1
                want, where = ours[sym][0], "our " + os.path.basename(ours[sym][1])
            elif sym in debian:
                want, where = debian[sym][0], "Debian's " + os.path.basename(debian[sym][1])
            else:
                errors.append("%s imports %s, which neither Debian's kernel nor our modules export" % (name, sym))
                continue
            if crc != want:
                errors.append("%s: CRC of %s is %#010x, %s has %#010x" % (name, sym, crc, where, want))
    print("verify: %d imported symbol CRCs match (%d from Debian's vmlinux and "
          "modules, %d from our kvm.ko)" % (total, total - own, own))

    # 3. kvm.ko exports: same names; count changed CRCs (why stock users break)
    stock_kvm = {s: v[0] for s, v in debian.items() if v[1].endswith("arch/x86/kvm/kvm")}
    our_kvm = {s: v[0] for s, v in ours.items() if os.path.basename(v[1]) == "kvm"}
    gone, new = sorted(set(stock_kvm) - set(our_kvm)), sorted(set(our_kvm) - set(stock_kvm))
    if gone:
        errors.append("kvm.ko no longer exports: %s" % " ".join(gone))
    if new:
        notes.append("kvm.ko exports new symbols: %s" % " ".join(new))
    changed = [s for s in stock_kvm if s in our_kvm and stock_kvm[s] != our_kvm[s]]
    print("verify: kvm.ko exports the stock %d symbols; %d of their CRCs differ "
          "(the series changes types they reach, e.g. struct kvm_page_track_notifier_node)"
          % (len(stock_kvm), len(changed)))

    # 4. stock modules that depend on a replaced one must be replaced too
    replaced = {os.path.basename(m) for m in a.modules}
    users = []
    with open(os.path.join(a.stock, "modules.dep")) as f:
        for line in f:
            mod, _, deps = line.partition(":")
            if os.path.basename(mod) in replaced:
                continue
            hit = [d for d in deps.split() if os.path.basename(d) in replaced]
            if hit:
                users.append("%s (needs %s)" % (mod, ", ".join(os.path.basename(d) for d in hit)))
    if users:
        errors.append("stock modules depend on replaced ones and would be refused: %s" % "; ".join(users))
    else:
        print("verify: every stock module that depends on kvm is replaced (%s)" %
              ", ".join(sorted(replaced)))
    # the stock kvmgt against our kvm: what the kernel would say
    stock_gt = stock_path(a.stock, "kvmgt")
    if stock_gt:
        bad = [s for s, c in imports(stock_gt) if s in our_kvm and our_kvm[s] != c]
        print("verify: the stock kvmgt.ko would be refused with our kvm.ko "
              "('disagrees about version of symbol'): %d of its imports changed (%s)"
              % (len(bad), ", ".join(sorted(bad))))

    # 5. headers: Debian's are the base's, the mirror's are the series'
    common = None
    with open(os.path.join(a.kdir, "Makefile")) as f:
        m = re.search(r"^include (/\S+)/Makefile$", f.read(), re.M)
        if m:
            common = os.path.realpath(m.group(1))
    kb = os.path.realpath(a.kbuild)
    from_common, from_mirror = {}, {}
    for d in cmd_deps(a.kbuild):
        r = os.path.realpath(os.path.join(a.kdir, d))
        if common and r.startswith(common + "/"):
            from_common[r] = os.path.relpath(r, common)
        elif r.startswith(kb + "/"):
            rel = os.path.relpath(r, kb)
            if rel.startswith("override/"):
                rel = rel[len("override/"):]
            from_mirror[r] = rel
    if not from_common or not from_mirror:
        errors.append("found no dependency lists in %s/**/.*.o.cmd; rebuild" % a.kbuild)
    for label, files, rev in (("Debian's headers", from_common, "base"),
                              ("the mirror", from_mirror, "HEAD")):
        blobs = git_blobs(a.src, rev, files.values())
        hashes = hash_files(files)
        bad = [rel for path, rel in files.items()
               if rel in blobs and blobs[rel] != hashes[path]]
        missing = [rel for rel in files.values() if rel not in blobs]
        if bad:
            errors.append("%d files read from %s differ from %s: %s" %
                          (len(bad), label, rev, " ".join(sorted(bad)[:10])))
        print("verify: %d files the compiler read from %s are identical to %s%s" %
              (len(files) - len(bad) - len(missing), label, rev,
               " (%d more are generated: %s)" % (len(missing), " ".join(sorted(missing)[:3]))
               if missing else ""))

    if a.layout:
        check_layout(a.layout[0], a.layout[1], errors, notes)

    for n in notes:
        print("verify: note: " + n)
    for e in errors:
        print("verify: ERROR: " + e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
