"""Bench the app: cold start, and the time from a stroke's end to its prediction.

1. **Cold start**: a fresh ``streamlit run app.py`` process (``tests/harness.py``'s
   :class:`Server`, as the tests start it) until the health endpoint
   ``/_stcore/health`` answers HTTP 200, and until the home page ``/`` does.
2. **Stroke → prediction**: the pure path the Draw page runs after each stroke:
   the canvas's RGBA image → :func:`rnn_demo.data.canvas.preprocess_canvas` → the
   shipped LSTM's NumPy twin's probabilities. Strokes are synthetic digits drawn
   with Pillow at the canvas's size and pen width (:mod:`rnn_demo.data.canvas`).

Each measurement is repeated; the medians of the runs are printed. Usage::

    .venv/bin/python bench/bench_app.py [--runs 3] [--strokes 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rnn_demo.data.canvas import CANVAS_PIXELS, STROKE_WIDTH  # noqa: E402
from tests.harness import ARTIFACTS, SERVER_START_SECONDS, Server  # noqa: E402


def cold_start() -> tuple[float, float]:
    """Seconds from process start to ``/`` answering 200, and to the health endpoint doing so."""
    with Server(log_path=ARTIFACTS / "bench_app" / "streamlit.log") as server:
        health = time.perf_counter() - server.started_at  # Server returns once healthy
        while not server.answers("/"):
            if time.perf_counter() - server.started_at > SERVER_START_SECONDS:
                raise RuntimeError(f"/ did not answer within {SERVER_START_SECONDS} s")
            time.sleep(0.02)
        home = time.perf_counter() - server.started_at
    return home, health


def synthetic_strokes(count: int, seed: int = 0) -> list[np.ndarray]:
    """``count`` canvas images ``(280, 280, 4)`` uint8: white polylines on opaque black."""
    rng = np.random.default_rng(seed)
    images = []
    for _ in range(count):
        image = Image.new("RGBA", (CANVAS_PIXELS, CANVAS_PIXELS), (0, 0, 0, 255))
        draw = ImageDraw.Draw(image)
        points = [tuple(point) for point in rng.uniform(50, 230, size=(rng.integers(3, 8), 2))]
        draw.line(points, fill=(255, 255, 255, 255), width=STROKE_WIDTH, joint="curve")
        images.append(np.asarray(image))
    return images


def stroke_latencies(model, strokes) -> tuple[np.ndarray, np.ndarray]:
    """Milliseconds per stroke: preprocessing alone, and preprocessing + prediction."""
    from rnn_demo.data.canvas import CanvasInput, preprocess_canvas

    preprocess, total = [], []
    for rgba in strokes:
        start = time.perf_counter()
        prepared = preprocess_canvas(rgba)
        middle = time.perf_counter()
        if isinstance(prepared, CanvasInput):
            model.predict_probabilities(prepared.image16)
        end = time.perf_counter()
        preprocess.append(1000 * (middle - start))
        total.append(1000 * (end - start))
    return np.array(preprocess), np.array(total)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--strokes", type=int, default=200)
    args = parser.parse_args()

    starts = [cold_start() for _ in range(args.runs)]
    print(f"cold start, median of {args.runs} runs:")
    print(f"  process start → GET / = 200:               {statistics.median(s[0] for s in starts):6.2f} s")
    print(f"  process start → GET /_stcore/health = 200: {statistics.median(s[1] for s in starts):6.2f} s")

    from rnn_demo.app.shipped import shipped_model_path
    from rnn_demo.twins.twin_file import load_twin, twin_path

    model = load_twin(twin_path(shipped_model_path("lstm"))).numpy_model  # what the Draw page uses
    strokes = synthetic_strokes(args.strokes)
    stroke_latencies(model, strokes[:10])  # warm caches (Pillow, NumPy) before timing
    runs = [stroke_latencies(model, strokes) for _ in range(args.runs)]
    print(f"stroke → prediction (shipped LSTM, {args.strokes} strokes), median of {args.runs} runs:")
    for name, index in (("preprocess only", 0), ("preprocess + predict", 1)):
        p50 = statistics.median(float(np.percentile(run[index], 50)) for run in runs)
        p95 = statistics.median(float(np.percentile(run[index], 95)) for run in runs)
        print(f"  {name:22s} p50 {p50:6.2f} ms   p95 {p95:6.2f} ms")


if __name__ == "__main__":
    main()
