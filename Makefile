# kvm-slotzap: the KVM_X86_QUIRK_SLOT_ZAP_ALL series for Linux 6.1 and its
# test machinery. See README.md. Every step is a script in scripts/.
#   make          deps, source, kernel, selftests, demo
#   make check    the whole test suite; ends with 'N passed, N failed, N skipped'

CONFIG ?= svm-tdp-mmu
CONFIGS ?=
TESTS ?=
CMD ?=
BENCH_ARGS ?=
VERSION ?=
MUTANTS ?=

# CONFIGS names one or more MMU configurations (tests/mmu-configs), apart by
# spaces or commas: the scripts with --configs take them comma-separated,
# the others one per argument.
comma := ,
empty :=
space := $(empty) $(empty)
CONFIG_LIST = $(strip $(subst $(comma),$(space),$(CONFIGS)))
CONFIG_CSV = $(subst $(space),$(comma),$(CONFIG_LIST))

# Debian's own programs first: the python3, QEMU and compilers that make deps
# installs, not whatever a version manager put earlier in PATH. A pyenv shim
# as python3 costs 0.5 s a start on these machines (Debian's: 0.05 s), paid
# by every python3 that make check's shell scripts and shebangs start.
export PATH := /usr/sbin:/usr/bin:/sbin:/bin:$(PATH)

.PHONY: upstream all deps source export rebase canary docs-check harness-test mutants kut kut-save kut-intel faults kernel selftests demo matrix hygiene vm check qemu-guests debian-modules debian-modules-test intel debug-kernel debug-matrix bench bench-compare bench-profile

all: deps source kernel selftests demo

deps:
	setup/deps.sh
source: deps
	setup/source.sh
export:
	setup/export.sh
# Does the series add a Sphinx warning to Documentation/virt? (by hand, not in make check)
docs-check: source
	scripts/docs-check.sh
# Slips in the series that the feature tests must catch (by hand, not in make check)
mutants: selftests
	scripts/mutants.sh $(MUTANTS)
# kvm-unit-tests on the base and the series, quirk on and off, in every AMD
# MMU configuration (by hand; make check runs tests/kut-check). TESTS=... a subset.
kut: selftests
	$(if $(CONFIG_LIST),SLOTZAP_KUT_CONFIGS='$(CONFIG_LIST)') scripts/kut.sh run $(TESTS)
# What make kut kept, into docs/kut-results (commit it): make kut on another
# machine with the same sources uses it instead of running those tests again
kut-save:
	scripts/kut.sh save
# kvm-unit-tests on Intel VMX under Bochs (tests/kut-intel), quirk on and off;
# BASE=1 the base too. e.g. make kut-intel CONFIGS=vmx-tdp-mmu
kut-intel: selftests
	setup/bochs-deps.sh
	scripts/intel-kut.py $(if $(CONFIG_LIST),--configs $(CONFIG_CSV)) $(if $(BASE),--base) $(TESTS)
# Injected allocation failures in memslot updates on the debug kernel
# (fail-nth), then kmemleak (tests/faults). e.g. make faults CONFIGS=svm-shadow
faults: selftests
	scripts/faults.sh $(CONFIG_LIST)
# The fixes for mainline (patches/upstream) on Debian's linux-source-6.12: they apply,
# are checkpatch-clean and build (as make check's hygiene does), then their reproducers
# on 6.12 without and with the fixes (by hand, ~25 min)
upstream: deps
	scripts/upstream.sh check
	scripts/upstream.sh repro
# The series against every Debian linux-source-6.1 from 6.1.176-1 on (by hand, not in make check)
canary: deps
	scripts/canary.sh
# Move the series to another Debian linux-source-6.1, e.g. make rebase VERSION=6.1.192-4
rebase: deps
	@test -n "$(VERSION)" || { echo "usage: make rebase VERSION=<apt-cache madison linux-source-6.1>"; exit 2; }
	MAKEFLAGS= MAKEOVERRIDES= setup/rebase.sh '$(VERSION)'
kernel: source
	setup/build-kernel.sh build/obj-test configs/kvm-test.config
selftests: kernel
	setup/build-selftests.sh
demo: selftests
	scripts/demo.sh
# e.g. make matrix CONFIGS=svm-shadow TESTS='set_memory_region_test smm_test'
matrix: selftests
	scripts/matrix.py $(if $(CONFIG_LIST),--configs $(CONFIG_CSV)) $(TESTS)
hygiene: source
	scripts/hygiene.sh
# The debug kernel (configs/kvm-debug.config) and the whole matrix on it;
# make check runs tests/debug-tests only. e.g. make debug-matrix TESTS=memslot_zap_test
debug-kernel: source
	setup/build-kernel.sh build/obj-debug configs/kvm-test.config configs/kvm-debug.config
# The debug kernel runs the whole list about 3x slower than the test kernel:
# 90 min per configuration's VM (a loaded host passed 1800 s in svm-shadow
# after 75 of its 86 tests, 2026-12-03); run it on an idle host. Each
# test's timeout is 3x its own (dirty_log_test: 178 s of its 180 s alone,
# svm-shadow, 2026-12-07; make check's debug stage sets its own).
debug-matrix: debug-kernel selftests
	scripts/matrix.py --kernel build/obj-debug/arch/x86/boot/bzImage --name debug --timeout 5400 --timeout-scale 3 $(if $(CONFIG_LIST),--configs $(CONFIG_CSV)) $(TESTS)
# e.g. make vm CONFIG=svm-shadow CMD='guest/run-selftests.sh -c svm-shadow smm_test'
vm: selftests
	@test -n "$(CMD)" || { echo "usage: make vm CONFIG=<name in tests/mmu-configs> CMD='command'"; exit 2; }
	scripts/vm.py --config $(CONFIG) '$(subst ','\'',$(CMD))'
check:
	scripts/check.sh
# The harness's own unit tests, and the check that they catch slips in it (seconds)
harness-test:
	python3 -m unittest discover -s harness/tests -t .
	python3 -m harness.selfcheck
# Real QEMU guests inside the test VM, quirk on and off, e.g. CONFIGS=svm-shadow
qemu-guests: selftests
	scripts/qemu-guests.sh $(CONFIG_LIST)
# The series as a DKMS package for Debian 12's own 6.1 kernels (docs/debian-modules.md)
debian-modules: source
	scripts/debian-modules.sh package
# Install it on this host (root) for three kernels, boot Debian's kernel with
# its modules, remove it (as make check does)
debian-modules-test: debian-modules selftests
	tests/debian-dkms-test.sh install; a=$$?; \
	tests/debian-modules-test.sh; b=$$?; \
	tests/debian-dkms-test.sh remove && [ $$a = 0 ] && [ $$b = 0 ]
# Intel VMX with EPT under Bochs: the memslot tests in three MMU configurations
intel: selftests
	setup/bochs-deps.sh
	scripts/intel-matrix.py
# Benchmark of memslot DELETE/MOVE, quirk on and off (not a test: never in make check),
# e.g. make bench CONFIGS=svm-tdp-mmu BENCH_ARGS='--sweep reduced --reps 3'
bench: selftests
	scripts/bench.py $(if $(CONFIG_LIST),--configs $(CONFIG_CSV)) $(BENCH_ARGS)
# The same on Debian's linux-source-6.12 too, with ratios ours/mainline
bench-compare: selftests
	scripts/bench.py --compare $(if $(CONFIG_LIST),--configs $(CONFIG_CSV)) $(BENCH_ARGS)
# Where the leaf-only DELETE and MOVE spend their time, ours against 6.12
# (ftrace's function profiler; two more kernel builds), e.g. CONFIGS=svm-tdp-mmu
bench-profile: selftests
	scripts/bench-profile.py $(if $(CONFIG_LIST),--configs $(CONFIG_CSV)) $(BENCH_ARGS)
