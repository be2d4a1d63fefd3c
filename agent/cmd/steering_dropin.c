// SPDX-License-Identifier: GPL-2.0-only
/*
 * `kvmwarden steering-dropin DIR`: what the systemd generator
 * (configs/kvmwarden-generator) runs at boot and at each daemon-reload.
 * The shipped unit keeps /proc/irq and /sys read-only and holds no
 * CAP_NET_ADMIN; only when the configuration has a hidden-steal budget
 * does this write DIR/kvmwarden.service.d/50-steering.conf granting what
 * steering writes: CAP_NET_ADMIN and the net devices' sysfs directories
 * for steering.devices (rps_cpus), /proc/irq for steering.irqs. Same
 * parser as the agent, so both agree on whether a budget is there.
 */
#include <errno.h>
#include <fnmatch.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "base/paths.h"
#include "cmd/commands.h"
#include "config/config.h"

/* Virtual devices (taps, veths, bridges) live here, made and gone at any
 * time, so the directory is granted whole; a physical device's own
 * directory is granted when it matches the allow-list at generation. */
#define VIRTUAL_NET "/sys/devices/virtual/net"

static void grant_physical(FILE *out, const struct enforce_config *e)
{
	struct dirent *entry;
	DIR *net = opendir("/sys/class/net");

	if (!net)
		return;
	while ((entry = readdir(net))) {
		char link[PATH_MAX], real[PATH_MAX];

		if (entry->d_name[0] == '.' ||
		    !enforce_config_steerable(e, false, entry->d_name))
			continue;
		snprintf(link, sizeof(link), "/sys/class/net/%.64s/queues",
			 entry->d_name);
		if (!realpath(link, real) ||
		    !strncmp(real, VIRTUAL_NET "/", strlen(VIRTUAL_NET "/")))
			continue;
		/* systemd splits the list at whitespace; sysfs names have
		 * none, but a path that did would grant something else. */
		if (strpbrk(real, " \t\n\"'\\"))
			continue;
		fprintf(out, "ReadWritePaths=-%s\n", real);
	}
	closedir(net);
}

static int write_dropin(const char *dir, const struct enforce_config *e)
{
	char path[PATH_MAX];
	FILE *out;

	if (snprintf(path, sizeof(path), "%s/kvmwarden.service.d", dir) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	if (mkdir(path, 0755) && errno != EEXIST)
		return -errno;
	strncat(path, "/50-steering.conf", sizeof(path) - strlen(path) - 1);
	out = fopen(path, "we");
	if (!out)
		return -errno;
	fputs("# Written by kvmwarden-generator: the configuration has a\n"
	      "# hidden-steal budget (max_hidden_steal_percent), so steering\n"
	      "# may write what it names. See kvmwarden(8), README\n"
	      "# \"Enforcing budgets\".\n[Service]\n",
	      out);
	if (e->steering.device_count) {
		/* rps_cpus' store checks CAP_NET_ADMIN. */
		fputs("CapabilityBoundingSet=CAP_NET_ADMIN\n", out);
		fputs("ReadWritePaths=-" VIRTUAL_NET "\n", out);
		grant_physical(out, e);
	}
	if (e->steering.irq_count)
		fputs("ReadWritePaths=-/proc/irq\n", out);
	return fclose(out) ? -errno : 0;
}

int cmd_steering_dropin(int argc, char **argv)
{
	const char *config_path = KVMWARDEN_DEFAULT_CONFIG;
	struct config config;
	char errors[4096];
	bool defaulted;
	int err;

	if (argc == 4 && !strcmp(argv[1], "--config"))
		config_path = argv[2];
	else if (argc != 2) {
		fprintf(stderr, "usage: kvmwarden steering-dropin [--config "
				"FILE] DIR\n");
		return 2;
	}
	/* A broken file grants nothing: the agent refuses it anyway. */
	if (config_load_or_defaults(&config, config_path, false, &defaulted,
				    errors, sizeof(errors)) ||
	    !enforce_config_has_hidden_budget(&config.enforce))
		return 0;
	err = write_dropin(argv[argc - 1], &config.enforce);
	if (err) {
		log_err("steering-dropin: %s: %s", argv[argc - 1],
			strerror(-err));
		return 1;
	}
	return 0;
}
