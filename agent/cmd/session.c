// SPDX-License-Identifier: GPL-2.0-only
/*
 * What every measuring command starts with: the BPF side loaded and a
 * tracker that has already found the guests running now.
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "cmd/commands.h"
#include "collect/discover.h"
#include "model/features.h"

/* What of the interrupt programs attached; when they did not, the feature
 * line (session_log_features) says why, once. */
static void log_irq_attach(const struct irq_loader *irq)
{
	if (!irq_loader_available(irq))
		return;
	log_info("interrupt programs attached: irq_handler, softirq%s%s",
		 irq_loader_vectors(irq)[0] ? ", system vectors " : "",
		 irq_loader_vectors(irq));
	if (!irq_loader_devices_available(irq))
		log_notice("hidden steal names no network devices: %s",
			   irq_loader_devices_why(irq));
}

int session_open(struct loader **loader, struct tracker *tracker,
		 const char *proc_root, uint64_t retain_ns)
{
	char why[256] = "";
	int err;

	err = loader_open(loader, why, sizeof(why));
	if (err) {
		if ((err == -EPERM || err == -EACCES) && geteuid() != 0)
			log_say("must run as root (CAP_BPF and "
				"CAP_PERFMON) to load its BPF programs\n");
		else
			log_say("%s\n", why);
		return 1;
	}
	err = tracker_init(tracker, *loader, proc_root, retain_ns);
	if (err) {
		log_say("%s\n", strerror(-err));
		loader_close(*loader);
		return 1;
	}
	/* Optional: without it each KVM figure says why it is missing. */
	if (kvm_loader_open(&tracker->kvm, NULL))
		log_warn("KVM telemetry not loaded: out of memory\n");
	collect_kvm_log_attach(tracker);
	/* Optional too, and on the scheduler's task storage: without it
	 * hidden steal says why it is missing, steal is measured as ever. */
	if (irq_loader_open(&tracker->irq, *loader))
		log_warn("interrupt programs not loaded: out of memory\n");
	log_irq_attach(tracker->irq);
	err = discover_pass(tracker, monotonic_ns());
	if (err) {
		log_say("first discovery pass failed: %s\n", strerror(-err));
		session_close(*loader, tracker);
		return 1;
	}
	return 0;
}

void session_close(struct loader *loader, struct tracker *tracker)
{
	irq_loader_close(tracker->irq);
	tracker->irq = NULL;
	kvm_loader_close(tracker->kvm);
	tracker->kvm = NULL;
	tracker_free(tracker);
	loader_close(loader);
}

/* A misspelt name in the test switch would leave the feature on and the
 * test checking nothing: say so. Steal cannot be switched off. */
static void log_unknown_forced(void)
{
	const char *list = getenv(FEATURES_TEST_ENV);

	while (list && *list) {
		const char *comma = strchr(list, ',');
		int len = comma ? (int)(comma - list) : (int)strlen(list);
		bool known = false;

		for (int i = FEATURE_STEAL + 1; i < FEATURE_COUNT; i++)
			known |= (size_t)len == strlen(feature_name(i)) &&
				 !strncmp(list, feature_name(i), (size_t)len);
		if (!known)
			log_warn("%s: ignoring '%.*s' (not a feature that can "
				 "fail)",
				 FEATURES_TEST_ENV, len, list);
		list = comma ? comma + 1 : NULL;
	}
}

void session_log_features(const struct features *features)
{
	log_unknown_forced();
	for (int i = 0; i < FEATURE_COUNT; i++)
		if (!features->state[i].available)
			log_warn("feature %s unavailable (%s): %s",
				 feature_name(i), feature_programs(i),
				 features->state[i].reason);
}
