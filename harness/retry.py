"""When a failed test may run again: the one retry policy.

tests/platform-retries holds it, in three kinds of lines:

    signature ID SECTION [symbol=NAME | outside=NAME] REGEX
        what in a failed run's log (the test's output plus the kvm_exit
        trace lines the runner appends; scripts/matrix.py also matches the
        vCPUs' state at a triple fault, only to name it) proves a known bug
        of the test platform; SECTION points into docs/platform-bugs.md.
        With symbol=NAME the regex's first group must be an address inside
        that kernel symbol, with outside=NAME outside it (looked up in the
        System.map of the kernel under test; without one the signature
        never matches).
    never REGEX
        a series assertion: a log that matches is never retried, whatever
        else it shows (a torture violation, a stale read, a refault count).
    retry TEST[@CONFIG] ID [runs=N] [FIGURES...]
        TEST ('*' for every test) may run once more when its failed run
        matched signature ID; FIGURES are the measurements that justify it.
        runs=N (at most RUNS_CAP) allows N failures on signature ID
        instead of MAX_RUNS, for a signature that proves the platform by
        itself, or sits on a stock test's timing assertion on a path the
        series does not change, and whose measured rate makes two in a
        row too likely.

A failure is retried only when a listed signature matched and no 'never'
pattern did; every failed run is judged anew, so each retry needs its own
match. Each signature's budget counts the failed runs it matched: an
l2-ifetch-pf after an l1-state-in-l2 still has its one retry, a second
l2-ifetch-pf has none. No test runs more than RUNS_CAP times. Anything
else fails on its first run.

    python3 -m harness.retry --test T --config C --log FILE [--sysmap FILE]
                             [--run K] [--seen ID,ID...]
prints 'retry ID: WHY' (exit 0) when run K (default 1) failed and may be
followed by run K+1, or 'no-retry: WHY' (exit 1); --seen lists the
signatures matched by the earlier failed runs, in order.
"""

import argparse
import bisect
import os
import re
import sys
from dataclasses import dataclass, field

MAX_RUNS = 2     # failures a signature may excuse + 1, when its retry line says nothing
RUNS_CAP = 4     # the most runs of one test, and the most runs=N may allow
TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
POLICY = os.path.join(TOP, "tests/platform-retries")


class PolicyError(Exception):
    pass


@dataclass
class Signature:
    id: str
    section: str
    regex: re.Pattern
    symbol: str = ""
    outside: bool = False    # the address must lie outside SYMBOL, not inside


@dataclass
class Policy:
    signatures: dict = field(default_factory=dict)   # id -> Signature
    never: list = field(default_factory=list)        # compiled patterns
    retries: list = field(default_factory=list)      # (test, config, id, runs, figures)


def load(path=POLICY):
    """Parse and check the policy file; PolicyError names the bad line."""
    pol = Policy()
    with open(path) as f:
        for n, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            kind, _, rest = line.partition(" ")
            rest = rest.strip()
            where = "%s:%d" % (os.path.relpath(path, TOP), n)
            try:
                if kind == "signature":
                    sid, section, rest = (rest.split(None, 2) + ["", ""])[:3]
                    symbol, outside = "", False
                    if rest.startswith(("symbol=", "outside=")):
                        symbol, _, rest = rest.partition(" ")
                        outside = symbol.startswith("outside=")
                        symbol = symbol.partition("=")[2]
                    if not rest:
                        raise PolicyError("signature %s has no regex" % sid)
                    rx = re.compile(rest.strip())
                    if symbol and rx.groups < 1:
                        raise PolicyError("signature %s: symbol= and outside= need a "
                                          "group capturing the address" % sid)
                    pol.signatures[sid] = Signature(sid, section, rx, symbol, outside)
                elif kind == "never":
                    pol.never.append(re.compile(rest))
                elif kind == "retry":
                    words = rest.split()
                    if len(words) < 2:
                        raise PolicyError("retry needs TEST[@CONFIG] SIGNATURE")
                    test, _, config = words[0].partition("@")
                    runs = MAX_RUNS
                    if len(words) > 2 and words[2].startswith("runs="):
                        try:
                            runs = int(words.pop(2)[len("runs="):])
                        except ValueError:
                            raise PolicyError("runs= needs a number")
                        if not MAX_RUNS <= runs <= RUNS_CAP:
                            raise PolicyError("runs=%d: allowed %d to %d"
                                              % (runs, MAX_RUNS, RUNS_CAP))
                    pol.retries.append((test, config, words[1], runs,
                                        " ".join(words[2:])))
                else:
                    raise PolicyError("unknown line kind %r" % kind)
            except re.error as e:
                raise PolicyError("%s: bad regex: %s" % (where, e))
            except PolicyError as e:
                raise PolicyError("%s: %s" % (where, e))
    for test, config, sid, _, _ in pol.retries:
        if sid not in pol.signatures:
            raise PolicyError("%s: retry of %s names unknown signature %s"
                              % (os.path.relpath(path, TOP), test, sid))
    return pol


def symbol_range(sysmap_text, name):
    """(start, end) of kernel symbol NAME in a System.map, or None."""
    addrs, start = [], None
    for line in sysmap_text.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        addr = int(parts[0], 16)
        addrs.append(addr)
        if parts[2] == name:
            start = addr
    if start is None:
        return None
    addrs.sort()
    i = bisect.bisect_right(addrs, start)
    return start, (addrs[i] if i < len(addrs) else start + 4096)


def matched(sig, log, sysmap_text):
    """Does SIG match LOG (and, with symbol=, point inside its symbol; with
    outside=, outside it)? Without the symbol in SYSMAP_TEXT, neither holds."""
    for m in sig.regex.finditer(log):
        if not sig.symbol:
            return True
        rng = symbol_range(sysmap_text, sig.symbol)
        if rng and (rng[0] <= int(m.group(1), 16) < rng[1]) != sig.outside:
            return True
    return False


def decide(pol, test, config, log, sysmap_text="", run=1, seen=()):
    """(retry?, signature id or None, why) for failed run RUN (from 1).

    SEEN: the signature ids that excused the earlier failed runs."""
    for rx in pol.never:
        m = rx.search(log)
        if m:
            return False, None, "series assertion (%s)" % m.group(0)[:80]
    hits = [s.id for s in pol.signatures.values() if matched(s, log, sysmap_text)]
    for t, c, sid, runs, _ in pol.retries:
        if t in ("*", test) and c in ("", config) and sid in hits:
            times = list(seen).count(sid) + 1
            if times >= runs:
                return False, None, "platform signature %s matched %d times, its retry line allows %d runs" % (
                    sid, times, runs)
            if run >= RUNS_CAP:
                return False, None, "platform signature %s matched, but run %d was the last of %d" % (
                    sid, run, RUNS_CAP)
            return True, sid, "platform signature %s (docs/platform-bugs.md %s; failure %d of %d it may excuse; run %d next)" % (
                sid, pol.signatures[sid].section, times, runs - 1, run + 1)
    if hits:
        return False, None, "platform signature %s matched, but no retry of %s@%s is allowed on it" % (
            ",".join(hits), test, config)
    return False, None, "no platform signature matched"


def main(argv=None):
    p = argparse.ArgumentParser(description="Decide whether a failed test runs again.")
    p.add_argument("--test", required=True)
    p.add_argument("--config", required=True)
    p.add_argument("--log", required=True, help="the failed run's log")
    p.add_argument("--sysmap", default="", help="System.map of the kernel under test")
    p.add_argument("--run", type=int, default=1, help="the number of the run that failed")
    p.add_argument("--seen", default="", help="signatures of the earlier failed runs, comma-separated")
    p.add_argument("--policy", default=POLICY)
    a = p.parse_args(argv)
    with open(a.log, errors="replace") as f:
        log = f.read()
    sysmap = ""
    if a.sysmap and os.path.exists(a.sysmap):
        with open(a.sysmap, errors="replace") as f:
            sysmap = f.read()
    seen = [x for x in a.seen.split(",") if x]
    ok, sid, why = decide(load(a.policy), a.test, a.config, log, sysmap, a.run, seen)
    print("retry %s: %s" % (sid, why) if ok else "no-retry: %s" % why)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
