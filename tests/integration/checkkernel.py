"""Judges one run of `kvmwarden check-kernel --json` and writes its table of
verifier counts. Shared by the host's test (test_check_kernel.py) and the
nested boots (tests/nested/nested_checks.py), so every kernel of the matrix
is held to the same budget by the same code. It neither runs the agent nor
prints verdicts: callers do, with their own names and kernels.
Python 3 stdlib only.
"""

import json

# STYLE.md: every program verifies at a fifth of the verifier's limit or
# less, on every kernel tested; another kernel build explores differently
# (issue 13: 505,807 on 6.1, over 1,000,000 on a 6.18 build). The test
# holds its own figure rather than trusting the one the tool reports.
BUDGET_INSNS = 200_000
LIMIT_INSNS = 1_000_000
# A program whose count grew more than this since the committed table is
# worth a reviewer's look (issue 8).
INSNS_JUMP = 1.25

# The documented row: {"name": S, "object": S, "needed": B, "loaded": B,
# "verified_insns": N, "budget": N, "limit": N, "error": S}.
ROW_TYPES = {"name": str, "object": str, "needed": bool, "loaded": bool,
             "verified_insns": int, "budget": int, "limit": int, "error": str}


def parse(text):
    """The document, or raises ValueError naming what is wrong with it."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise ValueError("not JSON (%s): %r" % (exc, text[:200])) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("kernel"), str) \
            or not isinstance(doc.get("programs"), list):
        raise ValueError("no \"kernel\" string and \"programs\" list: %r"
                         % text[:200])
    for row in doc["programs"]:
        if not isinstance(row, dict):
            raise ValueError("a program row that is no object: %r" % (row,))
        for field, kind in ROW_TYPES.items():
            value = row.get(field)
            # bool is an int to Python: a count must not be true or false.
            if not isinstance(value, kind) or \
                    (kind is int and isinstance(value, bool)):
                raise ValueError("program %r: %r is %r, not %s" % (
                    row.get("name"), field, value, kind.__name__))
    return doc


def over_budget(row):
    """Why a needed program fails the budget, or None when it is within."""
    if not row["loaded"]:
        return "not loaded: %s" % (row["error"] or "no reason given")
    if row["verified_insns"] <= 0:
        # A kernel older than 5.16 reports no count: nothing to judge by.
        return "loaded, but no verified_insns"
    if row["verified_insns"] > BUDGET_INSNS:
        return "%d instructions, over the budget of %d" % (
            row["verified_insns"], BUDGET_INSNS)
    return None


def judge(doc, status):
    """[(name, ok, detail)]: "check-kernel" (the report is whole and its
    exit status agrees with its own rows) and "verifier-budget" (every
    needed program loads within BUDGET_INSNS)."""
    rows = doc["programs"]
    needed = [row for row in rows if row["needed"]]
    failing = [(row, over_budget(row)) for row in needed]
    failing = [(row, why) for row, why in failing if why]
    tool_budgets = sorted({row["budget"] for row in rows})
    tool_limits = sorted({row["limit"] for row in rows})
    # Exit 0 exactly when every needed program loads within its budget:
    # by the tool's own figures, which the next check holds to ours.
    tool_ok = all(row["loaded"] and 0 < row["verified_insns"] <= row["budget"]
                  for row in needed)
    whole = bool(needed) and status == (0 if tool_ok else 1) and \
        tool_budgets == [BUDGET_INSNS] and tool_limits == [LIMIT_INSNS]
    verdicts = [("check-kernel", whole,
                 "exit %s, %d programs (%d needed), budget %s, limit %s, "
                 "kernel %s" % (status, len(rows), len(needed), tool_budgets,
                                tool_limits, doc["kernel"]))]
    loaded = [row for row in needed if row["loaded"]]
    largest = max(loaded, key=lambda row: row["verified_insns"], default=None)
    detail = "largest %s (%s) with %d instructions" % (
        largest["name"], largest["object"], largest["verified_insns"]) \
        if largest else "nothing loaded"
    if failing:
        detail = "; ".join("%s (%s): %s" % (row["name"], row["object"], why)
                           for row, why in failing)[:1500] + "; " + detail
    verdicts.append(("verifier-budget", bool(needed) and not failing,
                     "%d of %d needed programs within %d; %s" % (
                         len(needed) - len(failing), len(needed),
                         BUDGET_INSNS, detail)))
    return verdicts


def read_table(path):
    """{name: verified_insns} from a table write_table wrote (older tables
    have "NAME COUNT" lines, which read the same way), or {}."""
    counts = {}
    try:
        with open(path) as table:
            for line in table:
                words = line.split()
                if line.startswith("#") or len(words) < 2:
                    continue
                count = words[2] if len(words) > 2 else words[1]
                if count.isdigit():
                    counts[words[0]] = int(count)
    except OSError:
        pass
    return counts


def growth_notes(path, doc):
    """Lines naming each program that grew by more than INSNS_JUMP since
    the table at path."""
    before = read_table(path)
    return ["%s grew from %d to %d verified instructions" % (
        row["name"], before[row["name"]], row["verified_insns"])
        for row in doc["programs"] if row["name"] in before
        and row["verified_insns"] > before[row["name"]] * INSNS_JUMP]


def write_table(path, doc, build, writer):
    """The table at path: one row a program, full name, object and count,
    "-" and why for one not loaded. build: the kernel's `uname -v`;
    writer: what rewrites the file."""
    # In check-kernel's own order (object by object, as the agent loads
    # them), which is stable, so a diff shows only changed counts.
    rows = doc["programs"]
    width = max([len(row["name"]) for row in rows] + [len("# program")])
    with open(path, "w") as out:
        # check-kernel's "kernel" may hold the build already.
        kernel = doc["kernel"] if build.strip() in doc["kernel"] else \
            "%s %s" % (doc["kernel"], build.strip())
        out.write("# Verifier instructions (bpf_prog_info.verified_insns) of each BPF\n"
                  "# program, from `kvmwarden check-kernel --json` on Linux\n"
                  "# %s,\n"
                  "# by %s, which rewrites this file.\n"
                  "# Budget %d a program, a fifth of the verifier's limit of %d.\n"
                  % (kernel, writer, BUDGET_INSNS, LIMIT_INSNS))
        out.write("%-*s %-8s %s\n" % (width, "# program", "object",
                                     "verified_insns"))
        for row in rows:
            if row["loaded"]:
                count = str(row["verified_insns"])
                if not row["needed"]:
                    count += " (not needed on this kernel)"
                elif over_budget(row):
                    count += " over budget"
            elif row["needed"]:
                count = "- failed: " + " ".join(row["error"].split())[:200]
            else:
                count = "- not needed on this kernel"
            out.write("%-*s %-8s %s\n" % (width, row["name"], row["object"],
                                          count))
