"""Hostile input, generated: whatever a visitor sends, the only exceptions are the app's own sentences.

Property-based (Hypothesis), 500 examples each: canvas values (text, bytes,
objects, real PNGs with bytes flipped), upload metadata and model configs
(any JSON value), and URL query parameters.
"""

from __future__ import annotations

import base64
import io

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as numpy_strategies
from PIL import Image

from rnn_demo.app.links import QUERY_FIELDS, config_from_query
from rnn_demo.config import TrainConfig
from rnn_demo.data.canvas import (
    PNG_PREFIX,
    CanvasError,
    CanvasInput,
    NothingDrawn,
    preprocess_canvas,
    rgba_from_data_url,
)
from rnn_demo.engine.model_file import (
    LAYERS,
    MODELS,
    ModelCaps,
    ModelFileError,
    check_architecture,
    validate_metadata,
)

EXAMPLES = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Numbers at the edges where Python's conversions fail (float(10**400) overflows).
extremes = st.sampled_from([10**400, -(10**400), 2**63, -1, 0, float("nan"), float("inf"), 1e308, "", "0"])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30) | extremes,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)


# ------------------------------------------------------------------ canvas values

def png(size: tuple[int, int], mode: str) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, 255 if mode in ("L", "1") else None).save(buffer, format="PNG")
    return buffer.getvalue()


@st.composite
def damaged_pngs(draw) -> bytes:
    """A real small PNG, then some of its bytes overwritten and maybe cut short."""
    data = bytearray(png((draw(st.integers(1, 40)), draw(st.integers(1, 40))),
                         draw(st.sampled_from(["RGBA", "RGB", "L", "P", "1", "I;16", "LA"]))))
    for _ in range(draw(st.integers(0, 4))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data[: draw(st.integers(8, len(data)))])


canvas_values = st.one_of(
    st.text(),
    st.binary(),
    json_values,
    st.builds(lambda text: PNG_PREFIX + text, st.text()),
    st.builds(lambda data: PNG_PREFIX + base64.b64encode(data).decode(), st.binary()),
    st.builds(lambda data: PNG_PREFIX + base64.b64encode(data).decode(), damaged_pngs()),
    st.builds(lambda data: "data:image/svg+xml;base64," + base64.b64encode(data).decode(), st.binary()),
)


@EXAMPLES
@given(canvas_values)
def test_any_canvas_value_is_a_drawing_or_a_canvas_error(value):
    try:
        rgba = rgba_from_data_url(value)
    except CanvasError as error:
        assert str(error).startswith("The drawing could not be read: ") and "\n" not in str(error)
        return
    assert rgba.dtype == np.uint8 and rgba.ndim == 3 and rgba.shape[2] == 4
    assert isinstance(preprocess_canvas(rgba), (CanvasInput, NothingDrawn))


arrays = numpy_strategies.arrays(
    dtype=st.sampled_from([np.uint8, np.int64, np.int8, np.uint16, np.float32, np.bool_, np.object_]),
    shape=numpy_strategies.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=12),
)


@EXAMPLES
@given(st.one_of(arrays, json_values, st.text(), st.binary()))
def test_any_array_or_object_given_to_the_preprocessing_is_read_or_refused(value):
    try:
        result = preprocess_canvas(value)
    except CanvasError:
        return
    assert isinstance(result, (CanvasInput, NothingDrawn))


# ------------------------------------------------------------------ upload metadata

METADATA_FIELDS = ["arch", "dataset", "status", "params", "n_train", "n_valid", "iterations", "val_accuracy",
                   "val_loss", "train_seconds", "samples_per_second", "data_source", "data_description",
                   "message", "device", "backend", "config", "history", "temperature"]
config_like = st.dictionaries(st.sampled_from(list(TrainConfig().to_dict())),
                              json_values | extremes, max_size=6)
history_like = st.dictionaries(st.sampled_from(["train_loss", "val_iterations", "val_loss", "val_accuracy"]),
                               json_values | st.lists(st.floats() | st.integers(), max_size=10), max_size=4)
metadata_like = st.one_of(
    json_values,
    st.dictionaries(st.sampled_from(METADATA_FIELDS), json_values | config_like | history_like, max_size=8),
)


@EXAMPLES
@given(metadata_like)
def test_any_metadata_is_typed_or_refused(value):
    try:
        clean = validate_metadata(value, "upload.keras")
    except ModelFileError as error:
        assert str(error).startswith("upload.keras: ") and "\n" not in str(error)
        return
    assert set(clean) <= set(METADATA_FIELDS)
    if "config" in clean:
        TrainConfig.from_dict(clean["config"])


@EXAMPLES
@given(config_like, history_like)
def test_any_training_config_or_history_in_metadata_is_typed_or_refused(config, history):
    for value in ({"config": config}, {"history": history}):
        try:
            clean = validate_metadata(value, "upload.keras")
        except ModelFileError:
            continue
        assert clean.keys() == value.keys()


layer_like = st.fixed_dictionaries(
    {"class_name": st.sampled_from(LAYERS) | st.text(max_size=8),
     "config": st.dictionaries(st.sampled_from(["units", "batch_shape", "layer", "backward_layer", "merge_mode",
                                                "return_sequences", "use_bias", "reset_after"]),
                               json_values | st.integers(1, 600), max_size=5)}
)
model_config_like = st.one_of(
    json_values,
    st.fixed_dictionaries({"class_name": st.sampled_from(MODELS),
                           "config": st.fixed_dictionaries({"layers": st.lists(layer_like | json_values, max_size=6)})}),
)


@EXAMPLES
@given(model_config_like)
def test_any_model_config_is_counted_or_refused(value):
    caps = ModelCaps(max_hidden_units=256, max_layers=4)
    try:
        parameters = check_architecture(value, "upload.keras", caps)
    except ModelFileError:
        return
    assert 0 <= parameters <= caps.max_parameters


# ------------------------------------------------------------------ URL parameters

queries = st.dictionaries(st.sampled_from(list(QUERY_FIELDS)) | st.text(max_size=8),
                          st.text() | st.sampled_from(["1e999", "nan", "-0", "9" * 5000, "gpu", "deep", "٣"]),
                          max_size=len(QUERY_FIELDS) + 2)


@EXAMPLES
@given(queries, st.booleans())
def test_any_query_opens_a_working_page(query, gpus):
    config, problems = config_from_query(query, gpus_available=gpus)
    assert isinstance(config, TrainConfig)
    assert all(isinstance(problem, str) for problem in problems)
    assert len(problems) <= len(QUERY_FIELDS)

