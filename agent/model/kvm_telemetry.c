// SPDX-License-Identifier: GPL-2.0-only
/*
 * Exit reason names, the tracefs format check and the availability of each
 * part of the KVM telemetry. Names follow the kernel's own trace output
 * (the print fmt of kvm_exit and kvm_userspace_exit), so an operator can
 * match them with `perf trace` or trace_pipe.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/kvm_telemetry.h"

struct reason_name {
	uint32_t reason;
	const char *name;
};

/* arch/x86/include/uapi/asm/vmx.h, VMX_EXIT_REASONS. */
static const struct reason_name vmx_reasons[] = {
	{ 0, "EXCEPTION_NMI" },
	{ 1, "EXTERNAL_INTERRUPT" },
	{ 2, "TRIPLE_FAULT" },
	{ 3, "INIT_SIGNAL" },
	{ 4, "SIPI_SIGNAL" },
	{ 7, "INTERRUPT_WINDOW" },
	{ 8, "NMI_WINDOW" },
	{ 9, "TASK_SWITCH" },
	{ 10, "CPUID" },
	{ 12, "HLT" },
	{ 13, "INVD" },
	{ 14, "INVLPG" },
	{ 15, "RDPMC" },
	{ 16, "RDTSC" },
	{ 18, "VMCALL" },
	{ 19, "VMCLEAR" },
	{ 20, "VMLAUNCH" },
	{ 21, "VMPTRLD" },
	{ 22, "VMPTRST" },
	{ 23, "VMREAD" },
	{ 24, "VMRESUME" },
	{ 25, "VMWRITE" },
	{ 26, "VMOFF" },
	{ 27, "VMON" },
	{ 28, "CR_ACCESS" },
	{ 29, "DR_ACCESS" },
	{ 30, "IO_INSTRUCTION" },
	{ 31, "MSR_READ" },
	{ 32, "MSR_WRITE" },
	{ 33, "INVALID_STATE" },
	{ 34, "MSR_LOAD_FAIL" },
	{ 36, "MWAIT_INSTRUCTION" },
	{ 37, "MONITOR_TRAP_FLAG" },
	{ 39, "MONITOR_INSTRUCTION" },
	{ 40, "PAUSE_INSTRUCTION" },
	{ 41, "MCE_DURING_VMENTRY" },
	{ 43, "TPR_BELOW_THRESHOLD" },
	{ 44, "APIC_ACCESS" },
	{ 45, "EOI_INDUCED" },
	{ 46, "GDTR_IDTR" },
	{ 47, "LDTR_TR" },
	{ 48, "EPT_VIOLATION" },
	{ 49, "EPT_MISCONFIG" },
	{ 50, "INVEPT" },
	{ 51, "RDTSCP" },
	{ 52, "PREEMPTION_TIMER" },
	{ 53, "INVVPID" },
	{ 54, "WBINVD" },
	{ 55, "XSETBV" },
	{ 56, "APIC_WRITE" },
	{ 57, "RDRAND" },
	{ 58, "INVPCID" },
	{ 59, "VMFUNC" },
	{ 60, "ENCLS" },
	{ 61, "RDSEED" },
	{ 62, "PML_FULL" },
	{ 63, "XSAVES" },
	{ 64, "XRSTORS" },
	{ 67, "UMWAIT" },
	{ 68, "TPAUSE" },
	{ 74, "BUS_LOCK" },
	{ 75, "NOTIFY" },
	{ 77, "TDCALL" },
	{ 84, "MSR_READ_IMM" },
	{ 85, "MSR_WRITE_IMM" },
};

/* arch/x86/include/uapi/asm/svm.h, SVM_EXIT_REASONS (exceptions and
 * CR/DR accesses are ranges, named below). */
static const struct reason_name svm_reasons[] = {
	{ 0x060, "interrupt" },
	{ 0x061, "nmi" },
	{ 0x062, "smi" },
	{ 0x063, "init" },
	{ 0x064, "vintr" },
	{ 0x065, "cr0_sel_write" },
	{ 0x066, "read_idtr" },
	{ 0x067, "read_gdtr" },
	{ 0x068, "read_ldtr" },
	{ 0x069, "read_rt" },
	{ 0x06a, "write_idtr" },
	{ 0x06b, "write_gdtr" },
	{ 0x06c, "write_ldtr" },
	{ 0x06d, "write_rt" },
	{ 0x06e, "rdtsc" },
	{ 0x06f, "rdpmc" },
	{ 0x070, "pushf" },
	{ 0x071, "popf" },
	{ 0x072, "cpuid" },
	{ 0x073, "rsm" },
	{ 0x074, "iret" },
	{ 0x075, "swint" },
	{ 0x076, "invd" },
	{ 0x077, "pause" },
	{ 0x078, "hlt" },
	{ 0x079, "invlpg" },
	{ 0x07a, "invlpga" },
	{ 0x07b, "io" },
	{ 0x07c, "msr" },
	{ 0x07d, "task_switch" },
	{ 0x07e, "ferr_freeze" },
	{ 0x07f, "shutdown" },
	{ 0x080, "vmrun" },
	{ 0x081, "hypercall" },
	{ 0x082, "vmload" },
	{ 0x083, "vmsave" },
	{ 0x084, "stgi" },
	{ 0x085, "clgi" },
	{ 0x086, "skinit" },
	{ 0x087, "rdtscp" },
	{ 0x088, "icebp" },
	{ 0x089, "wbinvd" },
	{ 0x08a, "monitor" },
	{ 0x08b, "mwait" },
	{ 0x08d, "xsetbv" },
	{ 0x08f, "write_efer_trap" },
	{ 0x090, "write_cr0_trap" },
	{ 0x094, "write_cr4_trap" },
	{ 0x098, "write_cr8_trap" },
	{ 0x0a2, "invpcid" },
	{ 0x0a5, "buslock" },
	{ 0x0a6, "idle-halt" },
	{ 0x400, "npf" },
	{ 0x401, "avic_incomplete_ipi" },
	{ 0x402, "avic_unaccelerated_access" },
	{ 0x403, "vmgexit" },
	{ 0xffffffffu, "invalid_guest_state" },
};

/* include/uapi/linux/kvm.h, KVM_EXIT_*; the index is the number. */
static const char *const userspace_reasons[] = {
	[0] = "UNKNOWN",
	[1] = "EXCEPTION",
	[2] = "IO",
	[3] = "HYPERCALL",
	[4] = "DEBUG",
	[5] = "HLT",
	[6] = "MMIO",
	[7] = "IRQ_WINDOW_OPEN",
	[8] = "SHUTDOWN",
	[9] = "FAIL_ENTRY",
	[10] = "INTR",
	[11] = "SET_TPR",
	[12] = "TPR_ACCESS",
	[13] = "S390_SIEIC",
	[14] = "S390_RESET",
	[15] = "DCR",
	[16] = "NMI",
	[17] = "INTERNAL_ERROR",
	[18] = "OSI",
	[19] = "PAPR_HCALL",
	[20] = "S390_UCONTROL",
	[21] = "WATCHDOG",
	[22] = "S390_TSCH",
	[23] = "EPR",
	[24] = "SYSTEM_EVENT",
	[25] = "S390_STSI",
	[26] = "IOAPIC_EOI",
	[27] = "HYPERV",
	[28] = "ARM_NISV",
	[29] = "X86_RDMSR",
	[30] = "X86_WRMSR",
	[31] = "DIRTY_RING_FULL",
	[32] = "AP_RESET_HOLD",
	[33] = "X86_BUS_LOCK",
	[34] = "XEN",
	[35] = "RISCV_SBI",
	[36] = "RISCV_CSR",
	[37] = "NOTIFY",
	[38] = "LOONGARCH_IOCSR",
	[39] = "MEMORY_FAULT",
	[40] = "TDX",
};

static const char *find_name(const struct reason_name *table, size_t count,
			     uint32_t reason)
{
	for (size_t i = 0; i < count; i++)
		if (table[i].reason == reason)
			return table[i].name;
	return NULL;
}

static const char *svm_range_name(uint32_t reason, char *buf, size_t size)
{
	static const char *const exceptions[32] = {
		[0] = "DE",  [1] = "DB",  [3] = "BP",  [4] = "OF",  [5] = "BR",
		[6] = "UD",  [7] = "NM",  [8] = "DF",  [10] = "TS", [11] = "NP",
		[12] = "SS", [13] = "GP", [14] = "PF", [16] = "MF", [17] = "AC",
		[18] = "MC", [19] = "XF",
	};

	if (reason <= 0x0f)
		snprintf(buf, size, "read_cr%u", reason);
	else if (reason <= 0x1f)
		snprintf(buf, size, "write_cr%u", reason - 0x10);
	else if (reason <= 0x2f)
		snprintf(buf, size, "read_dr%u", reason - 0x20);
	else if (reason <= 0x3f)
		snprintf(buf, size, "write_dr%u", reason - 0x30);
	else if (reason <= 0x5f && exceptions[reason - 0x40])
		snprintf(buf, size, "%s excp", exceptions[reason - 0x40]);
	else
		return NULL;
	return buf;
}

const char *kvm_exit_reason_name(uint32_t kind, uint32_t reason, char *buf,
				 size_t size)
{
	const char *name = NULL;

	if (kind == KVM_COUNT_EXIT_VMX)
		name = find_name(vmx_reasons,
				 sizeof(vmx_reasons) / sizeof(vmx_reasons[0]),
				 reason);
	else if (kind == KVM_COUNT_EXIT_SVM) {
		name = find_name(svm_reasons,
				 sizeof(svm_reasons) / sizeof(svm_reasons[0]),
				 reason);
		if (!name && svm_range_name(reason, buf, size))
			return buf;
	}
	if (name)
		snprintf(buf, size, "%s", name);
	else
		snprintf(buf, size, "reason_%u", reason);
	return buf;
}

const char *kvm_userspace_reason_name(uint32_t reason, char *buf, size_t size)
{
	size_t known = sizeof(userspace_reasons) / sizeof(userspace_reasons[0]);

	if (reason & KVM_USERSPACE_ERRNO) {
		uint32_t error = reason & ~KVM_USERSPACE_ERRNO;

		if (error == EINTR)
			snprintf(buf, size, "restart");
		else
			snprintf(buf, size, "error_%u", error);
	} else if (reason < known) {
		snprintf(buf, size, "%s", userspace_reasons[reason]);
	} else {
		snprintf(buf, size, "reason_%u", reason);
	}
	return buf;
}

/* The field's name in a declaration such as "unsigned int exit_reason" or
 * "char comm[16]": the last word, without its array bounds. */
static bool decl_names(const char *decl, size_t len, const char *name)
{
	size_t name_len = strlen(name), end = len, start;

	while (end && decl[end - 1] == ' ')
		end--;
	if (end && decl[end - 1] == ']') {
		while (end && decl[end - 1] != '[')
			end--;
		if (end)
			end--;
	}
	start = end;
	while (start && decl[start - 1] != ' ' && decl[start - 1] != '*')
		start--;
	return end - start == name_len && !memcmp(decl + start, name, name_len);
}

static int parse_number(const char *line, const char *key, unsigned int *out)
{
	const char *at = strstr(line, key);
	char *end;
	unsigned long value;

	if (!at)
		return -EINVAL;
	at += strlen(key);
	errno = 0;
	value = strtoul(at, &end, 10);
	if (errno || end == at || *end != ';' || value > 0xffff)
		return -EINVAL;
	*out = (unsigned int)value;
	return 0;
}

int tracefs_field_find(const char *format, const char *name,
		       struct tracefs_field *out)
{
	const char *line = format;

	while (line && *line) {
		const char *next = strchr(line, '\n');
		size_t line_len = next ? (size_t)(next - line) : strlen(line);
		const char *field = strstr(line, "field:");

		if (field && (size_t)(field - line) < line_len) {
			const char *decl = field + strlen("field:");
			const char *semi = strchr(decl, ';');
			char text[256];

			if (!semi || semi > line + line_len)
				return -EINVAL;
			if (decl_names(decl, (size_t)(semi - decl), name)) {
				if (line_len >= sizeof(text))
					return -EINVAL;
				memcpy(text, line, line_len);
				text[line_len] = '\0';
				if (parse_number(text,
						 "offset:", &out->offset) ||
				    parse_number(text, "size:", &out->size))
					return -EINVAL;
				return 0;
			}
		}
		line = next ? next + 1 : NULL;
	}
	return -ENOENT;
}

const char *kvm_event_name(enum kvm_event event)
{
	static const char *const names[KVM_EVENT_COUNT] = {
		[KVM_EVENT_EXIT] = "kvm_exit",
		[KVM_EVENT_ENTRY] = "kvm_entry",
		[KVM_EVENT_USERSPACE_EXIT] = "kvm_userspace_exit",
		[KVM_EVENT_VCPU_WAKEUP] = "kvm_vcpu_wakeup",
	};

	return (unsigned int)event < KVM_EVENT_COUNT ? names[event] : "unknown";
}

struct expected_field {
	const char *name;
	unsigned int offset;
	unsigned int size;
};

int kvm_format_check(enum kvm_event event, const char *format, char *why,
		     size_t why_size)
{
	/* Exactly what struct kvm_tp_* in bpf/kvm.h read; kvm_entry's
	 * record is not read at all. */
	static const struct expected_field exit_fields[] = {
		{ "exit_reason", KVM_TP_EXIT_REASON_OFF, 4 },
		{ "isa", KVM_TP_EXIT_ISA_OFF, 4 },
	};
	static const struct expected_field uexit_fields[] = {
		{ "reason", KVM_TP_UEXIT_REASON_OFF, 4 },
		{ "errno", KVM_TP_UEXIT_ERRNO_OFF, 4 },
	};
	static const struct expected_field wakeup_fields[] = {
		{ "ns", KVM_TP_WAKEUP_NS_OFF, 8 },
		{ "waited", KVM_TP_WAKEUP_WAITED_OFF, 1 },
	};
	const struct expected_field *fields = NULL;
	size_t count = 0;

	switch (event) {
	case KVM_EVENT_EXIT:
		fields = exit_fields;
		count = 2;
		break;
	case KVM_EVENT_USERSPACE_EXIT:
		fields = uexit_fields;
		count = 2;
		break;
	case KVM_EVENT_VCPU_WAKEUP:
		fields = wakeup_fields;
		count = 2;
		break;
	default:
		break;
	}
	for (size_t i = 0; i < count; i++) {
		struct tracefs_field found;
		int err = tracefs_field_find(format, fields[i].name, &found);

		if (err == -ENOENT) {
			snprintf(why, why_size, "%s has no field %s",
				 kvm_event_name(event), fields[i].name);
			return -EPROTO;
		}
		if (err) {
			snprintf(why, why_size, "%s: unreadable format file",
				 kvm_event_name(event));
			return -EPROTO;
		}
		if (found.offset != fields[i].offset ||
		    found.size != fields[i].size) {
			snprintf(why, why_size,
				 "%s.%s is at offset %u size %u, this "
				 "kvmwarden reads offset %u size %u",
				 kvm_event_name(event), fields[i].name,
				 found.offset, found.size, fields[i].offset,
				 fields[i].size);
			return -EPROTO;
		}
	}
	return 0;
}

const char *kvm_part_name(enum kvm_part part)
{
	static const char *const names[KVM_PART_COUNT] = {
		[KVM_PART_EXITS] = "exits",
		[KVM_PART_USERSPACE] = "userspace_exits",
		[KVM_PART_HALT_POLL] = "halt_poll_wakeups",
	};

	return (unsigned int)part < KVM_PART_COUNT ? names[part] : "unknown";
}

static bool set_state(struct kvm_part_status *status, uint32_t state,
		      const char *reason)
{
	bool changed =
		status->state != state ||
		strncmp(status->reason, reason, sizeof(status->reason) - 1);

	status->state = state;
	snprintf(status->reason, sizeof(status->reason), "%s", reason);
	return changed;
}

unsigned int kvm_availability_update(struct kvm_availability *availability,
				     const struct kvm_observation *seen)
{
	unsigned int changed = 0;

	for (int part = 0; part < KVM_PART_COUNT; part++) {
		struct kvm_part_status *status = &availability->parts[part];
		char reason[sizeof(status->reason)];
		uint32_t state;

		reason[0] = '\0';
		if (!seen->attached[part]) {
			state = KVM_STATE_UNAVAILABLE;
			snprintf(reason, sizeof(reason), "%s",
				 seen->attach_error[part] ?
					 seen->attach_error[part] :
					 "not attached");
		} else if (part != KVM_PART_EXITS ||
			   seen->fired[KVM_EVENT_EXIT]) {
			state = KVM_STATE_AVAILABLE;
		} else if (seen->vcpu_run_ns >= KVM_EXIT_EVIDENCE_NS) {
			state = KVM_STATE_UNAVAILABLE;
			snprintf(reason, sizeof(reason),
				 "kvm_exit never fired while vCPUs ran %llu ms "
				 "(nested virtualization or a KVM backend "
				 "that does not trace exits)",
				 (unsigned long long)(seen->vcpu_run_ns /
						      1000000));
			/* The figure grows every interval; the first
			 * reason given stays, so it is logged once. */
			if (status->state == KVM_STATE_UNAVAILABLE &&
			    status->reason[0])
				continue;
		} else {
			state = KVM_STATE_PENDING;
			snprintf(reason, sizeof(reason),
				 "no vCPU has run long enough yet to tell "
				 "whether kvm_exit fires");
		}
		if (set_state(status, state, reason))
			changed |= 1u << part;
	}
	return changed;
}
