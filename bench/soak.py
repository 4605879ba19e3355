"""Soak: visitors one after another train, look inside and leave; does memory stay flat?

Prints, after each visitor and after ``--idle`` seconds idle, the resident MiB of the
server alone and with its workers, then the growth from visitor ``--reference`` to the
end (the figure that matters). The soak itself is ``tests/soak_support.py``; see
docs/performance.md.

    python -m bench.soak [--visitors 30] [--iterations 60] [--idle 120] [--reference 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import asdict
from pathlib import Path

from tests.soak_support import Sample, soak, store_use


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=30)
    parser.add_argument("--iterations", type=int, default=60)
    parser.add_argument("--idle", type=float, default=120.0,
                        help="seconds idle after the last visitor (Streamlit keeps a closed tab's "
                             "session for two minutes)")
    parser.add_argument("--reference", type=int, default=5, help="compare with memory after this visitor")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    print(f"{'after':>12}  {'server MiB':>10}  {'+ workers MiB':>13}  {'processes':>9}  {'elapsed s':>9}")

    def show(sample: Sample) -> None:
        print(f"{sample.after:>12}  {sample.server_mib:10.0f}  {sample.total_mib:13.0f}  "
              f"{sample.workers:9d}  {sample.seconds:9.0f}", flush=True)

    with tempfile.TemporaryDirectory(prefix="rnn-demo-soak-") as home:
        samples = soak(args.visitors, args.iterations, args.idle, Path(home), report=show)
        store = store_use(Path(home))
    reference = samples[min(args.reference, len(samples)) - 1]
    growth = samples[-1].total_mib - reference.total_mib
    print(f"total after '{samples[-1].after}' minus after '{reference.after}': {growth:+.0f} MiB")
    print(f"store: {store.runs} runs holding {store.held_bytes / 2**20:.2f} MiB, "
          f"its files {store.file_bytes / 2**20:.2f} MiB")
    if args.json:
        print(json.dumps({"samples": [asdict(s) for s in samples], "growth_mib": round(growth, 1),
                          "store": asdict(store)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
