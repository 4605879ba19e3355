"""Configuration bounds and the six architectures' shapes and parameter counts."""

import numpy as np
import pytest

from rnn_demo.config import ARCHITECTURES, ConfigError, TrainConfig, positive_setting
from rnn_demo.engine.models import build_model

PARAMETER_COUNTS = {
    "rnn": 5_834,
    "birnn": 11_658,
    "deep": 66_314,
    "lstm": 21_386,
    "gru": 16_394,
    "bilstm": 42_762,
}


def test_chapter_defaults():
    config = TrainConfig()
    assert (config.hidden_units, config.learning_rate, config.batch_size, config.iterations) == (
        64, 0.01, 500, 100,
    )
    assert config.layers == 3 and config.recurrent_layers == 1
    assert TrainConfig(arch="deep").recurrent_layers == 3


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"hidden_units": 0}, "hidden_units must be between 1 and 512; got 0"),
        ({"hidden_units": 64.5}, "hidden_units must be a whole number"),
        ({"layers": 99}, "layers must be between 1 and 8"),
        ({"learning_rate": 0.0}, "learning_rate must be between"),
        ({"learning_rate": float("nan")}, "learning_rate must be between"),
        ({"learning_rate": "fast"}, "learning_rate must be a number"),
        ({"learning_rate": float("inf")}, "learning_rate must be between"),
        ({"learning_rate": 10**400}, "learning_rate must be between 1e-05 and 1; got 1000000000000000000000000000000000000\\.\\.\\."),
        ({"iterations": 10**5000}, "iterations must be between 1 and 20000; got a number too long to show"),
        ({"batch_size": -5}, "batch_size must be between 1 and 5000"),
        ({"iterations": 10**9}, "iterations must be between 1 and 20000"),
        ({"arch": "transformer"}, "arch must be one of rnn, birnn"),
        ({"device": "tpu"}, "device must be one of auto, cpu, gpu"),
        ({"dataset": "cifar"}, "dataset must be one of mnist, fashion"),
        ({"seed": True}, "seed must be a whole number"),
    ],
)
def test_bad_values_get_a_message_naming_field_and_value(changes, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        TrainConfig(**changes)


def test_round_trip_through_dict_ignores_unknown_keys():
    config = TrainConfig(arch="gru", hidden_units=32)
    assert TrainConfig.from_dict({**config.to_dict(), "extra": 1}) == config


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_parameter_counts_and_output_shape(arch):
    model = build_model(TrainConfig(arch=arch))
    assert model.count_params() == PARAMETER_COUNTS[arch]
    logits = np.asarray(model(np.zeros((2, 16, 16), np.float32)))
    assert logits.shape == (2, 10)


def test_deep_layers_each_have_their_own_weights():
    model = build_model(TrainConfig(arch="deep", layers=4))
    recurrent = [layer for layer in model.layers if layer.name.startswith("recurrent_")]
    assert [layer.name for layer in recurrent] == [f"recurrent_{i}" for i in range(1, 5)]
    kernels = [id(layer.cell.kernel) for layer in recurrent]
    assert len(set(kernels)) == 4


def test_bidirectional_head_reads_both_directions():
    model = build_model(TrainConfig(arch="birnn"))
    assert tuple(model.get_layer("logits").kernel.shape) == (128, 10)


@pytest.mark.parametrize(
    "raw, kind, expected",
    [(None, int, 7), ("", float, 7), (" 3 ", int, 3), ("2.5", float, 2.5)],
)
def test_a_host_setting_is_its_positive_number_or_the_default(monkeypatch, raw, kind, expected):
    if raw is None:
        monkeypatch.delenv("RNN_DEMO_TEST_SETTING", raising=False)
    else:
        monkeypatch.setenv("RNN_DEMO_TEST_SETTING", raw)
    assert positive_setting("RNN_DEMO_TEST_SETTING", kind, 7) == expected


@pytest.mark.parametrize("raw, kind", [("0", int), ("-1", float), ("2.5", int), ("lots", float), ("nan", float)])
def test_a_host_setting_that_is_not_a_positive_number_is_refused(monkeypatch, raw, kind):
    monkeypatch.setenv("RNN_DEMO_TEST_SETTING", raw)
    whole = "whole " if kind is int else ""
    with pytest.raises(ConfigError, match=f"RNN_DEMO_TEST_SETTING must be a {whole}number above 0; got '{raw}'"):
        positive_setting("RNN_DEMO_TEST_SETTING", kind, 7)
