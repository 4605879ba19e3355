"""Score the shipped models: held-out, drawn and font digits, calibration; the "Shipped models" table.

For ``rnn_demo/assets/models/<arch>.keras`` (or the given files) prints, as a Markdown
table, the accuracy on the embedded sample's 1,000 validation digits (never trained on),
on the drawn-digit set (:mod:`rnn_demo.data.drawn_digits`) and on the font set
(:mod:`rnn_demo.data.font_digits`), the expected calibration error on the held-out
digits (15 bins) without and with the file's temperature, and the training figures
from each file's metadata; ``--twin`` scores the NumPy twins (``.npz``) instead.
``--calibrate`` first fits each model's temperature on augmented training digits and
stores it in both files (:func:`rnn_demo.app.shipped.calibrate`).

    python -m bench.score_shipped [--twin] [--calibrate] [MODEL.keras ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import zipfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("RNN_DEMO_OFFLINE", "1")

from rnn_demo.app.shipped import (  # noqa: E402
    SHIPPED_ARCHITECTURES,
    calibrate,
    shipped_model_path,
    shipped_scores,
)
from rnn_demo.config import ARCHITECTURE_NAMES  # noqa: E402


def _metadata(path: Path) -> dict:
    """The run's summary saved inside the ``.keras`` file (read without Keras)."""
    from rnn_demo.engine.persistence import METADATA_ENTRY

    with zipfile.ZipFile(path) as archive:
        if METADATA_ENTRY not in archive.namelist():
            return {}
        return json.loads(archive.read(METADATA_ENTRY))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--twin", action="store_true", help="score the .npz twins through NumPy")
    parser.add_argument("--calibrate", action="store_true", help="fit and store each model's temperature first")
    args = parser.parse_args()
    paths = args.paths or [shipped_model_path(arch) for arch in SHIPPED_ARCHITECTURES]
    rows = []
    for path in paths:
        if args.calibrate:
            print(f"{path}: temperature {calibrate(path):.3f}", file=sys.stderr, flush=True)
        scores = shipped_scores(path, twin=args.twin)
        metadata = _metadata(path)
        config = metadata.get("config", {})
        arch = config.get("arch", path.stem)
        twin_file = path.with_suffix(".npz")
        sizes = f"{path.stat().st_size / 1000:.0f} KB"
        if twin_file.is_file():
            sizes += f" / {twin_file.stat().st_size / 1000:.0f} KB"
        rows.append(
            f"| `{arch}` {ARCHITECTURE_NAMES.get(arch, '')} "
            f"| {100 * scores.held_out_accuracy:.1f} % | {100 * scores.drawn_accuracy:.1f} % "
            f"| {100 * scores.font_accuracy:.1f} % "
            f"| {100 * scores.held_out_calibration_error:.1f} % → {100 * scores.calibrated_error:.1f} % "
            f"| {scores.temperature:.2f} "
            f"| {metadata.get('params', 0):,} | {config.get('iterations', '?')} "
            f"| {config.get('learning_rate', '?')}{', cosine decay' if config.get('lr_decay') else ''} "
            f"| {metadata.get('train_seconds', 0):.0f} s | {sizes} |"
        )
        print(f"{path}: held-out {scores.held_out_accuracy:.4f} ({scores.held_out_count}), "
              f"drawn {scores.drawn_accuracy:.4f} ({scores.drawn_count}), "
              f"fonts {scores.font_accuracy:.4f} ({scores.font_count})", file=sys.stderr, flush=True)
    print(
        f"| Model | Held-out real digits ({scores.held_out_count:,}) | Drawn digits ({scores.drawn_count}) "
        f"| Font digits ({scores.font_count:,}) | Calibration error, held-out (raw → at T) | Temperature T "
        "| Parameters | Iterations | Learning rate | Training time | Size (.keras / .npz) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
