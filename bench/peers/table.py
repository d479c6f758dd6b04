#!/usr/bin/env python3
"""Turns the RESULT and RUN lines of bench/peers/run into one table with Corvee/peer ratios.

Usage: bench/peers/table.py RESULTS_FILE

Columns: every system x mode that reported, in the order they ran. Ratio columns: Corvee divided by
the best peer of the same mode (memory with memory, durable with durable). For W1 (jobs/s) the best
peer is the fastest and a ratio above 1 favours Corvee; for W2 (us) and W3 (B/job) the best peer is
the lowest and a ratio below 1 favours Corvee. A figure reported by several runs (W2 runs three
times) counts by its median.
"""
import statistics
import sys

ROWS = [  # (workload, unit, label, higher is better)
    ("W1", "jobs/s", "W1 throughput, jobs/s", True),
    ("W2", "us-p50", "W2 latency p50, us", False),
    ("W2", "us-p99", "W2 latency p99, us", False),
    ("W3", "B/job", "W3 memory, B per queued job", False),
    ("W3", "MiB-rss-total", "W3 server RSS total, MiB", False),
]
TARGETS = [  # what the issue asks of Corvee, checked when the figures are there
    ("W1 Corvee memory >= 2x the fastest peer in memory", "W1", "jobs/s", "memory", "memory", lambda c, p: c >= 2 * p),
    ("W1 Corvee durable >= the fastest peer in memory", "W1", "jobs/s", "durable", "memory", lambda c, p: c >= p),
]


def fmt(v):
    return f"{v:,.0f}" if v >= 100 else f"{v:.3g}"


def main():
    values, runs, columns = {}, {}, []
    with open(sys.argv[1]) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 6 and parts[0] == "RESULT":
                _, w, system, mode, value, unit = parts
                values.setdefault((w, unit, system, mode), []).append(float(value))
                if (system, mode) not in columns:
                    columns.append((system, mode))
            elif len(parts) >= 5 and parts[0] == "RUN":
                runs[(parts[1], parts[2], parts[3])] = " ".join(parts[4:])
    if not columns:
        print("(no results)")
        return
    # Repeated runs (W2 is run 3 times) count by their median; W1's driver reports its median itself.
    values = {key: statistics.median(vs) for key, vs in values.items()}

    modes = [m for m in ("memory", "durable") if any(c[1] == m for c in columns)]
    header = ["metric"] + [f"{s} {m}" for s, m in columns] + [f"Corvee/best peer ({m})" for m in modes]
    table = []
    for w, unit, label, higher in ROWS:
        if not any((w, unit, s, m) in values for s, m in columns):
            continue
        row = [label] + [fmt(values[(w, unit, s, m)]) if (w, unit, s, m) in values else "-" for s, m in columns]
        for mode in modes:
            corvee = values.get((w, unit, "corvee", mode))
            peers = [(values[(w, unit, s, m)], s) for s, m in columns
                     if s != "corvee" and m == mode and (w, unit, s, m) in values]
            if corvee is None or not peers or unit == "MiB-rss-total":
                row.append("-")
                continue
            best, who = max(peers) if higher else min(peers)
            row.append(f"{corvee / best:.2f} (vs {who})" if best > 0 else "-")
        table.append(row)
    # Job counts behind each W1 figure, where they differ between systems.
    w1_counts = [runs.get(("W1", s, m), "") for s, m in columns]
    if any(w1_counts) and len(set(w1_counts)) > 1:
        table.append(["W1 jobs per run"] + [c.split()[0].removeprefix("jobs=") if c else "-" for c in w1_counts]
                     + ["" for _ in modes])
    w3_counts = [runs.get(("W3", s, m), "") for s, m in columns]
    if any(w3_counts):
        table.append(["W3 jobs queued"] + [c.removeprefix("jobs=") if c else "-" for c in w3_counts]
                     + ["" for _ in modes])

    widths = [max(len(r[i]) for r in [header] + table) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r)) + " |"
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in table:
        print(line(r))
    print("Ratios are Corvee / the best peer in the same mode: for W1 the fastest peer, above 1 favours "
          "Corvee; for W2 and W3 the lowest peer, below 1 favours Corvee.")

    checks = []
    for label, w, unit, cmode, pmode, ok in TARGETS:
        c = values.get((w, unit, "corvee", cmode))
        peers = [values[(w, unit, s, m)] for s, m in columns if s != "corvee" and m == pmode and (w, unit, s, m) in values]
        if c is not None and peers:
            checks.append(f"{label}: {'met' if ok(c, max(peers)) else 'not met'} ({fmt(c)} vs {fmt(max(peers))})")
    for mode in ["memory"]:
        p99 = values.get(("W2", "us-p99", "corvee", mode))
        if p99 is not None:
            checks.append(f"W2 Corvee {mode} p99 <= 250 us: {'met' if p99 <= 250 else 'not met'} ({fmt(p99)} us)")
        b = values.get(("W3", "B/job", "corvee", mode))
        if b is not None:
            checks.append(f"W3 Corvee {mode} <= 250 B per queued job: {'met' if b <= 250 else 'not met'} ({fmt(b)} B)")
    if checks:
        print("Targets (issue #4):")
        for c in checks:
            print("  " + c)


if __name__ == "__main__":
    main()
