// SPDX-License-Identifier: GPL-2.0-only
/*
 * Memslot churn as a guest sees it: the workload of the small Linux guest
 * that scripts/qemu-churn.sh boots under QEMU with KVM (issue 16, item 3).
 *
 *   churn-bench QUIET_S CHURN_S PERIOD_US MIB
 *
 * The workload writes one word per 4 KiB page over MIB MiB of its own
 * memory, round after round, and every 100 ms prints how many pages it
 * wrote since the last line:
 *
 *   SLOTZAP-TPUT t_ms=T phase=quiet|churn pages=N toggles=N
 *
 * For QUIET_S seconds nothing else happens. Then, for CHURN_S seconds, a
 * child process turns the memory decoding of the VGA device (PCI class
 * 0x03xx) off and on again every PERIOD_US microseconds, through the
 * device's config space in sysfs, as a guest driver or firmware does when
 * it moves a BAR: each time QEMU deletes the memslot of the VGA memory and
 * creates it again. toggles is the number of off-on cycles so far. The
 * guest has one vCPU, so the child and the workload share it; the child
 * sleeps between toggles. What the workload loses to the churn is what the
 * toggles cost in the guest, QEMU and KVM, including KVM's zap: with
 * KVM_X86_QUIRK_SLOT_ZAP_ALL every DELETE drops all of the workload's
 * mappings, without it only those of the VGA memory. The child is forked
 * before the workload's memory exists, so that the workload's writes never
 * copy a page shared with it.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE		4096
#define PCI_COMMAND	4
#define PCI_COMMAND_MEMORY 0x2

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

static void die(const char *what)
{
	printf("SLOTZAP-TPUT-ERROR %s: %m\n", what);
	fflush(stdout);
	exit(1);
}

/* The config space of the first display controller (class 0x03xx). */
static int open_vga_config(void)
{
	char path[300], class[16];
	struct dirent *d;
	DIR *dir;
	FILE *f;
	int fd = -1;

	dir = opendir("/sys/bus/pci/devices");
	if (!dir)
		die("opendir /sys/bus/pci/devices");
	while (fd < 0 && (d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/class", d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(class, sizeof(class), f) && !strncmp(class, "0x03", 4)) {
			snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config",
				 d->d_name);
			fd = open(path, O_RDWR);
			if (fd < 0)
				die(path);
			printf("SLOTZAP-TPUT-VGA %s\n", d->d_name);
		}
		fclose(f);
	}
	closedir(dir);
	if (fd < 0)
		die("no PCI display controller");
	return fd;
}

static void set_command(int fd, uint16_t cmd)
{
	if (pwrite(fd, &cmd, sizeof(cmd), PCI_COMMAND) != sizeof(cmd))
		die("writing the VGA's PCI command register");
}

/* Shared by the workload and the child. */
struct shared {
	uint64_t toggles;
	int go;
};

/*
 * The child: once the workload sets @go, toggle memory decoding every
 * @period_us until it is killed.
 */
static void churn(int fd, unsigned long period_us, volatile struct shared *sh)
{
	struct timespec ts = { period_us / 1000000, period_us % 1000000 * 1000 };
	struct timespec poll = { 0, 1000000 };
	uint16_t cmd;

	if (pread(fd, &cmd, sizeof(cmd), PCI_COMMAND) != sizeof(cmd))
		die("reading the VGA's PCI command register");
	if (!(cmd & PCI_COMMAND_MEMORY))
		die("the VGA's memory decoding is off");
	while (!sh->go)
		nanosleep(&poll, NULL);
	for (;;) {
		set_command(fd, cmd & ~PCI_COMMAND_MEMORY);
		set_command(fd, cmd);
		sh->toggles++;
		nanosleep(&ts, NULL);
	}
}

int main(int argc, char *argv[])
{
	unsigned long quiet_s, churn_s, period_us, mib, pages, i, written = 0;
	uint64_t start, last, now, end;
	volatile struct shared *sh;
	pid_t child;
	char *mem;
	int fd;

	if (argc != 5) {
		fprintf(stderr, "usage: %s QUIET_S CHURN_S PERIOD_US MIB\n", argv[0]);
		return 2;
	}
	quiet_s = strtoul(argv[1], NULL, 0);
	churn_s = strtoul(argv[2], NULL, 0);
	period_us = strtoul(argv[3], NULL, 0);
	mib = strtoul(argv[4], NULL, 0);
	pages = mib << 20 >> 12;
	setvbuf(stdout, NULL, _IOLBF, 0);

	fd = open_vga_config();
	sh = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap");
	child = fork();
	if (child < 0)
		die("fork");
	if (!child)
		churn(fd, period_us, sh);

	mem = mmap(NULL, mib << 20, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (mem == MAP_FAILED || !pages)
		die("mmap");
	/* One round before the clock starts: every page mapped by KVM. */
	for (i = 0; i < pages; i++)
		mem[i * PAGE] = 1;

	start = last = now_ms();
	end = start + (quiet_s + churn_s) * 1000;
	printf("SLOTZAP-TPUT-START mib=%lu quiet_s=%lu churn_s=%lu period_us=%lu\n",
	       mib, quiet_s, churn_s, period_us);
	for (i = 0;; i = (i + 1) % pages) {
		mem[i * PAGE]++;
		written++;
		if (written % 64)
			continue;
		now = now_ms();
		if (now - last < 100)
			continue;
		printf("SLOTZAP-TPUT t_ms=%llu phase=%s pages=%lu toggles=%llu\n",
		       (unsigned long long)(now - start), sh->go ? "churn" : "quiet",
		       written, (unsigned long long)sh->toggles);
		written = 0;
		last = now;
		if (now >= end)
			break;
		if (now - start >= quiet_s * 1000)
			sh->go = 1;
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	printf("SLOTZAP-TPUT-END toggles=%llu\n", (unsigned long long)sh->toggles);
	return 0;
}
