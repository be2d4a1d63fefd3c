/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * top's text layout: fixed-width lines for the host, the header, a guest
 * and a vCPU, from the rows in top_model.h. Kept apart from the model so
 * that changing a column's width never touches how a window is read; the
 * screen and the batch frames print these lines as they are.
 */
#ifndef KVMWARDEN_TOP_FORMAT_H
#define KVMWARDEN_TOP_FORMAT_H

#ifdef __bpf__
#error "userspace-only header"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "top/top_model.h"

#define TOP_MIN_WIDTH 80 /* the layout's; narrower terminals cut lines */

/* Text lines, at most `width` characters (never more, never wrapped),
 * padded to the layout's columns. Each returns the length written. */
size_t top_format_host(char *buf, size_t size, const struct top_model *model,
		       const char *source, double interval_s, int width);
/* "features off: attribution, kvm  (see status)", or "features: all
 * available"; "" when the document does not say. */
size_t top_format_features(char *buf, size_t size,
			   const struct top_model *model, int width);
size_t top_format_header(char *buf, size_t size, const struct top_model *model,
			 int width);
size_t top_format_guest(char *buf, size_t size, const struct top_guest *guest,
			int width);
/* A vCPU's line; its hidden share only when its guest's was measured. */
size_t top_format_vcpu(char *buf, size_t size, const struct top_vcpu *vcpu,
		       bool has_hidden, int width);
/* An expanded guest's hidden steal: irq and softirq shares and the
 * largest culprit ("" when not measured). */
size_t top_format_hidden(char *buf, size_t size, const struct top_guest *guest,
			 int width);
/* "1.2ms", "850us", "3.1s": five characters at most. */
void top_format_duration(char *buf, size_t size, uint64_t ns);

#endif
