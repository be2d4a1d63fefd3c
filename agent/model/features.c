// SPDX-License-Identifier: GPL-2.0-only
/*
 * The features' names: the JSON keys and the metric's label every output
 * uses, so they live with the plain table and not with the loaders.
 */
#include <stddef.h>

#include "model/features.h"

static const char *const names[FEATURE_COUNT] = {
	[FEATURE_STEAL] = "steal",
	[FEATURE_ATTRIBUTION] = "attribution",
	[FEATURE_BLOCK_IO] = "block_io",
	[FEATURE_KVM] = "kvm",
	[FEATURE_KVM_IO_NOTES] = "kvm_io_notes",
};

const char *feature_name(enum feature feature)
{
	return (unsigned int)feature < FEATURE_COUNT ? names[feature] : NULL;
}
