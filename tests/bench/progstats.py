#!/usr/bin/env python3
"""BPF program counters for the bench, read from `bpftool prog show --json`.

Owns finding one configuration's programs and their bpf_stats counters
(run_cnt, run_time_ns, kept only while kernel.bpf_stats_enabled=1). It does
not start anything or judge figures; run.sh and report.py do.

  progstats.py snap PID NAME... > F   counters of every program process PID
                                      holds, by name; fails unless each NAME
                                      is among them
  progstats.py delta BEFORE AFTER     "name run_cnt run_time_ns" per program

Debian's bpftool is built without its pid lookup, and other users may load
programs of the same names meanwhile, so a process's programs are found as
bpftool would: the prog_id lines in /proc/PID/fdinfo of its program and link
fds. Taking all of them, not a fixed list, keeps the bench right when the
agent gains or drops a program. The kernel keeps 15 characters of a name;
bpftool prints the full one when the program's BTF has it.
"""
import json
import os
import subprocess
import sys


def loaded_programs():
    out = subprocess.run(["bpftool", "prog", "show", "--json"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def held_program_ids(pid):
    """Ids of the programs process `pid` holds through prog or link fds."""
    fdinfo = f"/proc/{pid}/fdinfo"
    ids = set()
    for fd in os.listdir(fdinfo):
        try:
            with open(os.path.join(fdinfo, fd)) as info:
                for line in info:
                    key, _, value = line.partition(":")
                    if key == "prog_id":
                        ids.add(int(value))
        except FileNotFoundError:
            continue  # closed since listdir
    return ids


def snapshot(pid, required):
    """Counters of each program process `pid` holds, keyed by name."""
    held = held_program_ids(pid)
    # A required name cut to 15 characters is reported as the full name.
    full_names = {n[:15]: n for n in required}
    found = {}
    for prog in loaded_programs():
        if prog["id"] not in held:
            continue
        name = prog.get("name", f"id{prog['id']}")
        name = full_names.get(name, name)
        if name in found:
            raise RuntimeError(f"process {pid} holds two programs named "
                               f"{name} (ids {found[name]['id']} and "
                               f"{prog['id']})")
        # bpftool leaves both fields out while bpf_stats has never counted.
        found[name] = {"id": prog["id"],
                       "run_cnt": prog.get("run_cnt", 0),
                       "run_time_ns": prog.get("run_time_ns", 0)}
    missing = [n for n in required if n not in found]
    if missing:
        raise RuntimeError(f"process {pid} holds no program named "
                           + ", ".join(missing))
    return found


def delta(before, after):
    lines = []
    for name, old in sorted(before.items()):
        new = after.get(name)
        if new is None or new["id"] != old["id"]:
            raise RuntimeError(f"program {name} (id {old['id']}) went away "
                               "during the window")
        runs = new["run_cnt"] - old["run_cnt"]
        ns = new["run_time_ns"] - old["run_time_ns"]
        if runs < 0 or ns < 0:
            raise RuntimeError(f"program {name}: counters ran backwards")
        lines.append(f"{name} {runs} {ns}")
    return lines


def main(argv):
    try:
        if len(argv) >= 4 and argv[1] == "snap":
            if not argv[2].isdigit():
                raise ValueError(f"snap: {argv[2]!r} is not a pid")
            json.dump(snapshot(int(argv[2]), argv[3:]), sys.stdout)
            print()
        elif len(argv) == 4 and argv[1] == "delta":
            with open(argv[2]) as f_before, open(argv[3]) as f_after:
                print("\n".join(delta(json.load(f_before),
                                      json.load(f_after))))
        else:
            print(__doc__.strip(), file=sys.stderr)
            return 2
    except (OSError, ValueError, RuntimeError,
            subprocess.CalledProcessError) as err:
        print(f"progstats: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
