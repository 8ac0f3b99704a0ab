"""Benchmarks: what users feel, measured against baselines taken in the same run.

    python -m benchmarks            # the full run (a few minutes), table + results.json
    python -m benchmarks --quick    # smaller samples (about a minute)
    python -m benchmarks --only ca  # one measurement (ca, start, control, lines, scale,
                                    # fanout, flood, library, dryrun, startup); repeat or
                                    # comma-separate

Run it from the repository root. Each row gives the median (p50) and p99 of what was
measured, the baseline taken in the same run and the ratio to it where there is one,
the target (issue 6's, or issue 15's where it set a stricter one) and PASS or MISS; the
numbered notes under the table say how each number was taken. The machine (CPU, cores, Python), the load average before and
after and the hypervisor's CPU steal are printed too: on a shared machine other work
moves the numbers, so compare runs taken under the same conditions.

Each measurement is a module here with a ``measure(root, quick)`` function returning
table rows; ``__main__`` runs each one in its own subprocess (``benchmarks.measure``)
so that every measurement gets fresh Channel Access client state, its own loopback
ports and its own IOC processes (the script server's, and for ``ca`` a C softIoc from
epicscorelibs), all stopped when it ends.
"""

# name (for --only) -> module, in the order they run
MEASUREMENTS = {
    "ca": "ca_roundtrip",
    "start": "job_start",
    "control": "control",
    "lines": "line_overhead",
    "scale": "scale",
    "fanout": "fanout",
    "flood": "flood",
    "library": "library",
    "dryrun": "dry_run",
    "startup": "startup",
}
