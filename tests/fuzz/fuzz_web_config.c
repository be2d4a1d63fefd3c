// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for the web.yml parser (TLS files and basic-auth
 * users). File names in the input are only stored, never opened, here.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "config/web_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct web_config config;
	char errors[1024];
	int err;

	err = web_config_parse(&config, (const char *)data, size, "fuzz",
			       errors, sizeof(errors));
	/* (No password check: bcrypt's deliberate slowness would leave the
	 * fuzzer a few inputs a second.) */
	if (err == 0 && config.user_count > WEB_CONFIG_MAX_USERS)
		abort();
	if (err != 0 && err != -EINVAL && err != -ENOMEM)
		abort();
	return 0;
}
