// SPDX-License-Identifier: GPL-2.0-only
/*
 * Discovery passes. A pass reads the iterator's records (threads inside
 * KVM_RUN, threads with BPF state), creates guests for new VMM processes,
 * registers their threads, and marks what exited. It never walks every
 * process on the host: only VMM processes' own task lists are read.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collect/collect_kvm.h"
#include "collect/discover.h"
#include "collect/procfs.h"
#include "collect/thread_record.h"

/* A thread whose registration BPF has not attached after this long is
 * given up: it exited before the iterator saw it. */
#define ATTACH_TIMEOUT_NS (5ULL * 1000000000ULL)

struct record_index {
	struct sched_vcpu_record *records;
	size_t count;
};

static int compare_records(const void *a, const void *b)
{
	const struct sched_vcpu_record *x = a, *y = b;

	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static const struct sched_vcpu_record *
find_record(const struct record_index *idx, int tid)
{
	struct sched_vcpu_record key = { .tid = (uint32_t)tid };

	if (!idx->count)
		return NULL;
	return bsearch(&key, idx->records, idx->count, sizeof(key),
		       compare_records);
}

static struct guest *find_live_guest(struct tracker *tracker, int pid)
{
	for (size_t i = 0; i < tracker->table.guest_count; i++) {
		struct guest *guest = &tracker->table.guests[i];

		if (guest->pid == pid && !guest->exited)
			return guest;
	}
	return NULL;
}

/* A system unit's own cgroup (a .service or .scope outside any user's
 * manager): only root, through systemd, puts a process there, so the
 * command line it runs was written by the unit. A user's manager lets the
 * user make any unit, so /user.slice never counts. */
static bool system_unit_cgroup(const char *cgroup)
{
	const char *last = strrchr(cgroup, '/');
	size_t len;

	if (!last || strstr(cgroup, "/user.slice") || strstr(cgroup, "/user@"))
		return false;
	len = strlen(++last);
	return (len > 8 && !strcmp(last + len - 8, ".service")) ||
	       (len > 6 && !strcmp(last + len - 6, ".scope"));
}

/* The operator's name for a guest: the manager's (libvirt), then the
 * VMM's own (-name, --id), then COMM-PID; and who vouches for it
 * (claim.source), with the VMM's uid for the configuration to judge. */
static void name_guest(struct tracker *tracker, struct guest *guest,
		       const struct proc_stat *stat)
{
	struct vmm_identity identity;
	char libvirt_name[PROCFS_NAME_LEN], name[PROCFS_NAME_LEN];

	memset(&identity, 0, sizeof(identity));
	if (procfs_read_cmdline(tracker->proc_root, guest->pid, &identity) ==
	    0) {
		guest->vmm = identity.kind;
		memcpy(guest->uuid, identity.uuid, sizeof(guest->uuid));
	}
	if (procfs_read_cgroup(tracker->proc_root, guest->pid, 0, guest->cgroup,
			       sizeof(guest->cgroup)))
		guest->cgroup[0] = '\0';
	guest->claim.source = GUEST_IDENTITY_SELF;
	guest->claim.uid_known = procfs_read_uid(tracker->proc_root, guest->pid,
						 &guest->claim.uid) == 0;
	if (guest->cgroup[0] &&
	    libvirt_cgroup_name(guest->cgroup, libvirt_name,
				sizeof(libvirt_name)) == 0) {
		snprintf(name, sizeof(name), "%s", libvirt_name);
		guest->claim.source = GUEST_IDENTITY_LIBVIRT;
	} else if (identity.name[0]) {
		snprintf(name, sizeof(name), "%s", identity.name);
	} else {
		snprintf(name, sizeof(name), "%s-%d", stat->comm, guest->pid);
	}
	if (guest->claim.source == GUEST_IDENTITY_SELF &&
	    system_unit_cgroup(guest->cgroup))
		guest->claim.source = GUEST_IDENTITY_SYSTEMD;
	/* Escaped once, here, so no log line, terminal or file downstream
	 * can be handed a control character in a name. */
	procfs_escape_control(name, guest->name, sizeof(guest->name));
}

static struct guest *add_guest(struct tracker *tracker, int pid, uint64_t vm_id)
{
	struct proc_stat stat;
	struct guest *guest;

	if (procfs_read_stat(tracker->proc_root, pid, 0, &stat))
		return NULL; /* gone already: a normal race */
	/* A VMM being killed: its leader is a zombie while its vCPU threads
	 * still exit, and the iterator still shows them. It is the guest
	 * ended already (same pid and start), not a new one. */
	if (stat.state == 'Z' || stat.state == 'X')
		return NULL;
	for (size_t i = 0; i < tracker->table.guest_count; i++)
		if (tracker->table.guests[i].pid == pid &&
		    tracker->table.guests[i].start_ticks == stat.start_ticks)
			return NULL;
	guest = guest_table_add(&tracker->table, pid, stat.start_ticks);
	if (!guest)
		return NULL;
	guest->vm_id = vm_id;
	name_guest(tracker, guest, &stat);
	tracker->stats.guests_found++;
	return guest;
}

static void register_thread(struct tracker *tracker, struct guest *guest,
			    struct thread *thread, uint64_t now_ns)
{
	struct sched_registration reg = { 0 };
	int slot, err;

	slot = slot_pool_take(&tracker->slots, now_ns);
	if (slot < 0) {
		tracker->stats.no_slot++;
		return;
	}
	tracker->source->reset_slot(tracker->loader, (uint32_t)slot);
	if (tracker->irq)
		tracker->source->irq_reset_slot(tracker->irq, (uint32_t)slot);
	reg.slot = (uint32_t)slot;
	reg.tgid = (uint32_t)thread->tgid;
	reg.kind = thread->kind;
	reg.group = (uint32_t)guest_group(guest);
	err = tracker->source->register_thread(tracker->loader,
					       (uint32_t)thread->tid, &reg);
	if (err) {
		tracker->stats.register_failed++;
		slot_pool_release(&tracker->slots, (uint32_t)slot, now_ns);
		return;
	}
	thread->slot = slot;
	thread->attached = false;
	thread->start_time_ns = now_ns; /* until BPF reports the real one */
	tracker->stats.threads_registered++;
}

static void classify(struct tracker *tracker, struct guest *guest,
		     struct thread *thread)
{
	char cgroup[PROCFS_PATH_LEN];
	struct proc_stat stat;
	const char *comm = "";

	if (procfs_read_stat(tracker->proc_root, guest->pid, thread->tid,
			     &stat) == 0)
		comm = stat.comm;
	if (procfs_read_cgroup(tracker->proc_root, guest->pid, thread->tid,
			       cgroup, sizeof(cgroup)))
		cgroup[0] = '\0';
	thread->kind = thread_class_of(guest->vmm, guest->pid, thread->tid,
				       comm, cgroup[0] ? cgroup : NULL);
}

/* The kernel says it is a vCPU (inside KVM_RUN), or QEMU's name for a TCG
 * vCPU thread does, for software-emulated guests. */
static bool record_is_vcpu(const struct sched_vcpu_record *rec)
{
	return rec &&
	       (rec->flags & (SCHED_REC_IN_KVM_RUN | SCHED_REC_TCG_VCPU));
}

/*
 * A thread found by /proc before it first entered KVM_RUN was registered as
 * an ordinary thread. Once the kernel shows it is a vCPU, its record is
 * split: what it counted so far stays with its old kind (so no per-kind
 * total ever goes back, as Prometheus requires) and a new vCPU record takes
 * over the BPF slot from there on.
 */
static void mark_vcpu(struct tracker *tracker, struct guest *guest,
		      struct thread *thread,
		      const struct sched_vcpu_record *rec, uint64_t now_ns)
{
	if (!record_is_vcpu(rec))
		return;
	if (thread->kind == THREAD_VCPU) {
		thread->vcpu_index = rec->vcpu_index;
		return;
	}
	/* The split needs the counts as they stand now: what the slot holds
	 * beyond them is the vCPU record's. */
	tracker_collect_thread(tracker, thread);
	thread_record_became_vcpu(guest, (size_t)(thread - guest->threads),
				  rec->vcpu_index, now_ns);
}

/* rec as thread classification may read it: under the test switch in
 * struct tracker, without what the iterator saw inside KVM_RUN. */
static const struct sched_vcpu_record *
thread_record(const struct tracker *tracker,
	      const struct sched_vcpu_record *rec,
	      struct sched_vcpu_record *masked)
{
	if (!rec || !tracker->vcpus_by_note_only)
		return rec;
	*masked = *rec;
	masked->flags &= ~SCHED_REC_IN_KVM_RUN;
	return masked;
}

/*
 * rec, or, when it does not show an unclassified thread in KVM_RUN, what
 * the KVM side noted when it saw the thread emulate I/O in KVM_RUN
 * (bpf/kvm.h) as a record that does. A vCPU that exits to userspace on
 * nearly every run is preempted on its way out, outside KVM_RUN, so a pass
 * sees it inside only when it runs on another CPU at that moment.
 */
static const struct sched_vcpu_record *
with_kvm_note(struct tracker *tracker, const struct thread *thread,
	      const struct sched_vcpu_record *rec,
	      struct sched_vcpu_record *noted)
{
	uint64_t vm_id;
	int vcpu_index;

	if (record_is_vcpu(rec) || thread->kind != THREAD_OTHER ||
	    !thread->attached || !tracker->kvm)
		return rec;
	if (tracker->source->kvm_vcpu_thread(
		    tracker->kvm, (uint32_t)thread->tid, thread->start_time_ns,
		    &vcpu_index, &vm_id))
		return rec;
	*noted = rec ? *rec : (struct sched_vcpu_record){ 0 };
	noted->flags |= SCHED_REC_IN_KVM_RUN;
	noted->vcpu_index = vcpu_index;
	noted->vm_id = vm_id;
	return noted;
}

/* New threads of a live guest: its own task list, every pass, since QEMU
 * starts and stops worker threads all the time. */
static void scan_threads(struct tracker *tracker, struct guest *guest,
			 const struct record_index *idx, uint64_t now_ns)
{
	int tids[1024];
	int count;

	count = procfs_list_threads(tracker->proc_root, guest->pid, tids,
				    (int)(sizeof(tids) / sizeof(tids[0])));
	for (int i = 0; i < count; i++) {
		struct sched_vcpu_record masked;
		const struct sched_vcpu_record *rec = thread_record(
			tracker, find_record(idx, tids[i]), &masked);
		struct thread *thread = guest_find_thread(guest, tids[i]);

		if (thread) {
			struct sched_vcpu_record noted;

			mark_vcpu(tracker, guest, thread,
				  with_kvm_note(tracker, thread, rec, &noted),
				  now_ns);
			continue;
		}
		thread = guest_add_thread(guest, tids[i]);
		if (!thread)
			return;
		classify(tracker, guest, thread);
		if (guest->declared) {
			/* Nothing enters KVM_RUN here: the guest is the
			 * process, each of its threads a "vCPU". */
			thread->kind = THREAD_VCPU;
			thread->vcpu_index = (int)guest->thread_count - 1;
		}
		if (record_is_vcpu(rec)) {
			thread->kind = THREAD_VCPU;
			thread->vcpu_index = rec->vcpu_index;
		}
		register_thread(tracker, guest, thread, now_ns);
	}
}

/* Before Linux 6.4 vhost workers are kernel threads named vhost-PID, not
 * threads of the VMM: finding them means reading every process's stat,
 * so it is done when a guest appears and every VHOST_SCAN_PASSES after. */
#define VHOST_SCAN_PASSES 20

static void scan_vhost_kthreads(struct tracker *tracker, struct guest *guest,
				uint64_t now_ns)
{
	int pids[64];
	int count;

	count = procfs_find_vhost_kthreads(
		tracker->proc_root, guest->pid, pids,
		(int)(sizeof(pids) / sizeof(pids[0])));
	for (int i = 0; i < count; i++) {
		struct thread *thread = guest_find_thread(guest, pids[i]);

		if (thread)
			continue;
		thread = guest_add_thread(guest, pids[i]);
		if (!thread)
			return;
		thread->kind = THREAD_VHOST;
		thread->tgid = pids[i]; /* its own process, not the VMM's */
		register_thread(tracker, guest, thread, now_ns);
	}
}

static void end_thread(struct tracker *tracker, struct thread *thread,
		       uint64_t now_ns)
{
	if (thread->attached)
		tracker_collect_thread(tracker, thread);
	/* Attached or not, a registration of ours may still wait in the map
	 * (a thread that had storage already, which BPF drops only when the
	 * iterator meets it alive): it would outlive the thread for good. */
	if (thread->slot >= 0)
		tracker->source->cancel_registration(tracker->loader,
						     (uint32_t)thread->tid,
						     (uint32_t)thread->slot);
	if (tracker->kvm)
		tracker->source->kvm_forget_vcpu_thread(tracker->kvm,
							(uint32_t)thread->tid);
	thread->exited = true;
	thread->exited_at_ns = now_ns;
}

static void end_guest(struct tracker *tracker, struct guest *guest,
		      uint64_t now_ns)
{
	for (size_t i = 0; i < guest->thread_count; i++)
		if (!guest->threads[i].exited)
			end_thread(tracker, &guest->threads[i], now_ns);
	guest->exited = true;
	guest->exited_at_ns = now_ns;
	tracker->stats.guests_gone++;
}

static bool guest_alive(struct tracker *tracker, const struct guest *guest)
{
	struct proc_stat stat;

	if (procfs_read_stat(tracker->proc_root, guest->pid, 0, &stat))
		return false;
	return stat.start_ticks == guest->start_ticks && stat.state != 'Z' &&
	       stat.state != 'X';
}

/* Attachment and exits from BPF's point of view: a thread with task
 * storage is alive and counted; one that had it and lost it has exited. */
static void reconcile_threads(struct tracker *tracker, struct guest *guest,
			      const struct record_index *idx, uint64_t now_ns)
{
	for (size_t i = 0; i < guest->thread_count; i++) {
		struct thread *thread = &guest->threads[i];
		const struct sched_vcpu_record *rec;
		bool registered;

		if (thread->exited || thread->slot < 0)
			continue;
		rec = find_record(idx, thread->tid);
		registered = rec && (int)rec->tgid == thread->tgid &&
			     (rec->flags & SCHED_REC_REGISTERED);
		if (registered && !thread->attached) {
			thread->attached = true;
			thread->start_time_ns = rec->start_time_ns;
		} else if (registered &&
			   rec->start_time_ns != thread->start_time_ns) {
			/* Same tid, another task: the one we tracked is gone. */
			end_thread(tracker, thread, now_ns);
		} else if (!registered &&
			   (thread->attached || now_ns - thread->start_time_ns >
							ATTACH_TIMEOUT_NS)) {
			end_thread(tracker, thread, now_ns);
		}
	}
}

static void release_slot(int slot, void *ctx)
{
	struct tracker *tracker = ctx;

	/* Its thread is gone from the table: so are its culprits. */
	if (tracker->irq)
		tracker->source->irq_forget_slot(tracker->irq, (uint32_t)slot);
	slot_pool_release(&tracker->slots, (uint32_t)slot, monotonic_ns());
}

/* Drops what exited long enough ago, and the BPF attribution entries of
 * guests that went, so the map does not fill with the dead. */
static void prune(struct tracker *tracker, uint64_t now_ns)
{
	struct guest_table *table = &tracker->table;
	uint64_t before[64];
	size_t listed = 0;

	for (size_t i = 0; i < table->guest_count && listed < 64; i++)
		if (table->guests[i].exited)
			before[listed++] = table->guests[i].id;
	guest_table_prune(table, now_ns, tracker->retain_ns, release_slot,
			  tracker);
	for (size_t i = 0; i < listed; i++) {
		bool kept = false;

		for (size_t g = 0; g < table->guest_count && !kept; g++)
			kept = table->guests[g].id == before[i];
		if (!kept)
			tracker->source->forget_group(tracker->loader,
						      (uint32_t)before[i]);
	}
}

static int read_records(struct tracker *tracker, struct record_index *idx)
{
	int err;

	free(idx->records);
	err = tracker->source->discover(tracker->loader, &idx->records,
					&idx->count);
	if (err)
		return err;
	qsort(idx->records, idx->count, sizeof(*idx->records), compare_records);
	return 0;
}

/* The lowest pid in a cgroup.procs file: a declared guest's process. */
static int declared_pid(const char *procs_file)
{
	FILE *in = fopen(procs_file, "re");
	int pid, lowest = -1;

	if (!in)
		return -1;
	while (fscanf(in, "%d", &pid) == 1)
		if (lowest < 0 || pid < lowest)
			lowest = pid;
	fclose(in);
	return lowest;
}

static void add_declared_guests(struct tracker *tracker)
{
	for (size_t d = 0; d < tracker->declared_count; d++) {
		const struct tracker_declared *decl = &tracker->declared[d];
		struct guest *guest;
		bool live = false;
		int pid;

		for (size_t i = 0; i < tracker->table.guest_count; i++) {
			guest = &tracker->table.guests[i];
			live |= guest->declared && !guest->exited &&
				!strcmp(guest->name, decl->name);
		}
		pid = live ? -1 : declared_pid(decl->procs_file);
		if (pid <= 0 || find_live_guest(tracker, pid))
			continue;
		guest = add_guest(tracker, pid, 0);
		if (!guest)
			continue;
		guest->declared = true;
		guest->claim.source = GUEST_IDENTITY_CONFIG;
		/* The cgroup, not the process, is what the file names. */
		guest->uuid[0] = '\0';
		snprintf(guest->name, sizeof(guest->name), "%s", decl->name);
	}
}

/* Two live guests claiming one name or UUID: one of them is lying (or two
 * VMMs were given one -uuid), and which cannot be told, so both are
 * reported and neither gets a class by it. Logged when a guest starts
 * clashing; the count is a metric. */
static void note_clashes(struct tracker *tracker)
{
	struct guest_table *table = &tracker->table;
	size_t count = table->guest_count;
	bool *was = calloc(count ? count : 1, sizeof(*was));

	for (size_t i = 0; was && i < count; i++)
		was[i] = table->guests[i].claim.clash;
	tracker->stats.identity_clashes = guest_table_mark_clashes(table);
	for (size_t i = 0; was && i < count; i++) {
		const struct guest *guest = &table->guests[i];

		if (guest->claim.clash && !was[i])
			tracker_note(
				tracker, LOG_PRIO_WARNING,
				"guest %s (pid %d, named by %s%s%s) shares "
				"its name or UUID with another live guest: "
				"no budget or class matches either by it",
				guest->name, guest->pid,
				guest_identity_name(guest->claim.source),
				guest->uuid[0] ? ", uuid " : "", guest->uuid);
	}
	free(was);
}

int discover_pass(struct tracker *tracker, uint64_t now_ns)
{
	struct record_index idx = { 0 };
	uint64_t registered_before = tracker->stats.threads_registered;
	int err;

	err = read_records(tracker, &idx);
	if (err)
		goto cleanup;

	for (size_t i = 0; i < tracker->table.guest_count; i++) {
		struct guest *guest = &tracker->table.guests[i];

		if (!guest->exited && !guest_alive(tracker, guest))
			end_guest(tracker, guest, now_ns);
	}
	for (size_t i = 0; i < idx.count; i++) {
		const struct sched_vcpu_record *rec = &idx.records[i];

		struct guest *guest;

		if (!record_is_vcpu(rec) ||
		    find_live_guest(tracker, (int)rec->tgid))
			continue;
		guest = add_guest(tracker, (int)rec->tgid, rec->vm_id);
		if (guest)
			guest->tcg = (rec->flags & SCHED_REC_TCG_VCPU) != 0;
	}
	add_declared_guests(tracker);
	for (size_t i = 0; i < tracker->table.guest_count; i++) {
		struct guest *guest = &tracker->table.guests[i];

		if (guest->exited)
			continue;
		scan_threads(tracker, guest, &idx, now_ns);
		if (guest->vhost_scanned_pass == 0 ||
		    tracker->stats.passes - guest->vhost_scanned_pass >=
			    VHOST_SCAN_PASSES) {
			scan_vhost_kthreads(tracker, guest, now_ns);
			guest->vhost_scanned_pass = tracker->stats.passes + 1;
		}
	}
	/* Attach what was just registered now rather than a pass later, so a
	 * new guest's figures start within this pass. */
	if (tracker->stats.threads_registered != registered_before) {
		err = read_records(tracker, &idx);
		if (err)
			goto cleanup;
	}
	for (size_t i = 0; i < tracker->table.guest_count; i++) {
		struct guest *guest = &tracker->table.guests[i];

		if (!guest->exited)
			reconcile_threads(tracker, guest, &idx, now_ns);
	}
	prune(tracker, now_ns);
	note_clashes(tracker);
	collect_kvm_sync_guests(tracker);
	tracker->stats.passes++;
cleanup:
	free(idx.records);
	return err;
}
