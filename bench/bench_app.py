"""Bench the app: cold start of a real server, and stroke → prediction on the Draw page's path.

Prints medians over ``--runs``: process start → ``/_stcore/health`` and → ``/``
answering 200; and the p50/p95 ms of the canvas preprocessing alone and with the
shipped LSTM twin's prediction, on synthetic strokes. See docs/performance.md.

    python -m bench.bench_app [--runs 3] [--strokes 200]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from PIL import Image, ImageDraw

from rnn_demo.data.canvas import CANVAS_PIXELS, STROKE_WIDTH
from tests.harness import ARTIFACTS, SERVER_START_SECONDS, Server, wait_for


def cold_start() -> tuple[float, float]:
    """Seconds from process start to ``/`` answering 200, and to the health endpoint doing so."""
    with Server(log_path=ARTIFACTS / "bench_app" / "streamlit.log") as server:
        health = time.perf_counter() - server.started_at  # Server returns once healthy
        wait_for(lambda: server.answers("/"), SERVER_START_SECONDS - health, 0.02,
                 message=f"/ did not answer within {SERVER_START_SECONDS} s")
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
