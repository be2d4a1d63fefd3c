// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for the agent's configuration parser: any bytes must
 * give either a configuration or -EINVAL with a message, never a crash, a
 * leak or undefined behaviour.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config config;
	char errors[1024];
	int err;

	config_defaults(&config);
	err = config_parse(&config, (const char *)data, size, "fuzz", errors,
			   sizeof(errors));
	if (err != 0 && err != -EINVAL && err != -ENOMEM)
		abort(); /* the contract: no other outcome */
	if (err == -EINVAL && (!errors[0] || !memchr(errors, '\0',
						      sizeof(errors))))
		abort(); /* a rejection always says why */
	return 0;
}
