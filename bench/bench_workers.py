"""What a new local worker costs: the pool's first worker, and each replacement after a job.

A pool of one worker that is replaced after every job (``max_jobs=1``; by default it
is every 4 jobs, or after any failed one) runs ``--replacements`` small jobs. Each
figure is read in a fresh Python process per run: the seconds until a worker is warm
and the CPU seconds the process and everything it started used meanwhile (ended
processes included), for the first worker and each replacement. With ``--baseline REV``
the pool of git revision ``REV`` (a temporary worktree) runs alternately with this
tree's, and the ratios new ÷ baseline of the medians are printed. See docs/hosting.md.

    python -m bench.bench_workers [--runs 3] [--replacements 5] [--baseline REV] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from bench.bench_browser import checkout
from tests.harness import ROOT

# Run in the tree under test (its own pool), so a baseline's pool is its own too.
MEASURE = """
import json, os, sys, time
from rnn_demo.compute.local_pool import WorkerPool
from tests.harness import tree_cpu_seconds

def timed(step):
    started, cpu = time.perf_counter(), tree_cpu_seconds(os.getpid())
    step()
    return time.perf_counter() - started, tree_cpu_seconds(os.getpid()) - cpu

pool = None
def start():
    global pool
    pool = WorkerPool(1, max_jobs=1)
    pool.wait_until_warm(timeout=600)

first = timed(start)
replacements = []
for _ in range(int(sys.argv[1])):
    pool.run("dataset", "mnist")  # its one job: the worker is replaced
    replacements.append(timed(lambda: pool.wait_until_warm(timeout=600)))
pool.close()
print(json.dumps({"first": first, "replacements": replacements}))
"""
FIGURES = ("first_s", "first_cpu_s", "replacement_s", "replacement_cpu_s")


def one_run(root: Path, replacements: int) -> dict:
    """The figures of one fresh process using the pool of the tree at ``root``."""
    done = subprocess.run([sys.executable, "-c", MEASURE, str(replacements)], cwd=root, check=True,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(root)})
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    return {"first_s": measured["first"][0], "first_cpu_s": measured["first"][1],
            "replacement_s": statistics.median(wall for wall, _ in measured["replacements"]),
            "replacement_cpu_s": statistics.median(cpu for _, cpu in measured["replacements"])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--replacements", type=int, default=5)
    parser.add_argument("--baseline", help="a git revision to run side by side")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.replacements < 1:
        parser.error("--runs and --replacements must be positive")
    trees = {"this tree": ROOT}
    if args.baseline:
        trees["baseline"] = checkout(args.baseline)
    runs: dict[str, list[dict]] = {name: [] for name in trees}
    try:
        for _ in range(args.runs):
            for name, root in trees.items():
                runs[name].append(one_run(root, args.replacements))
                print(name, {key: round(value, 2) for key, value in runs[name][-1].items()}, flush=True)
    finally:
        if args.baseline:
            subprocess.run(["git", "worktree", "remove", "--force", str(trees["baseline"])], cwd=ROOT, check=False)
    medians = {name: {key: statistics.median(run[key] for run in each) for key in FIGURES}
               for name, each in runs.items()}
    print(f"\nmedians of {args.runs} runs ({args.replacements} replacements each, their median per run)")
    print(f"{'figure':<20}" + "".join(f"{name:>12}" for name in trees) + ("       ratio" if args.baseline else ""))
    for key in FIGURES:
        row = f"{key:<20}" + "".join(f"{medians[name][key]:12.2f}" for name in trees)
        if args.baseline:
            row += f"{medians['this tree'][key] / medians['baseline'][key]:12.2f}"
        print(row)
    if args.json:
        print(json.dumps({"runs": runs, "medians": medians}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
