// SPDX-License-Identifier: GPL-2.0-only
/*
 * What every measuring command starts with: the BPF side loaded and a
 * tracker that has already found the guests running now.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "cmd/commands.h"
#include "collect/discover.h"

int session_open(struct loader **loader, struct tracker *tracker,
		 const char *proc_root, uint64_t retain_ns)
{
	char why[256] = "";
	int err;

	err = loader_open(loader, why, sizeof(why));
	if (err) {
		if ((err == -EPERM || err == -EACCES) && geteuid() != 0)
			fprintf(stderr,
				"kvmwarden: must run as root (CAP_BPF and "
				"CAP_PERFMON) to load its BPF programs\n");
		else
			fprintf(stderr, "kvmwarden: %s\n", why);
		return 1;
	}
	err = tracker_init(tracker, *loader, proc_root, retain_ns);
	if (err) {
		fprintf(stderr, "kvmwarden: %s\n", strerror(-err));
		loader_close(*loader);
		return 1;
	}
	/* Optional: without it each KVM figure says why it is missing. */
	if (kvm_loader_open(&tracker->kvm, NULL))
		log_warn("KVM telemetry not loaded: out of memory\n");
	collect_kvm_log_attach(tracker);
	err = discover_pass(tracker, monotonic_ns());
	if (err) {
		fprintf(stderr, "kvmwarden: first discovery pass failed: %s\n",
			strerror(-err));
		session_close(*loader, tracker);
		return 1;
	}
	return 0;
}

void session_close(struct loader *loader, struct tracker *tracker)
{
	kvm_loader_close(tracker->kvm);
	tracker->kvm = NULL;
	tracker_free(tracker);
	loader_close(loader);
}
