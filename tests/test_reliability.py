"""Nothing silent: diverged training stops loudly, bad values get a clear error (the model's API).

Each test is one fault or bad input that used to pass silently, give a wrong result or crash with
an unrelated error."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

from segdend_lite import Config, Network
from segdend_lite.model import training
from segdend_lite.model.training import load_checkpoint, save_checkpoint


@pytest.fixture(scope="module")
def small(mnist_small):
    return mnist_small


# ---------------------------------------------------------------- divergence


def test_the_exception_reproduce_catches():
    assert issubclass(training.TrainingDiverged, RuntimeError)
    assert issubclass(training.SaturationWarning, RuntimeWarning)


def test_spiking_divergence_stops_fit_and_keeps_the_last_good_checkpoint(small, tmp_path):
    """NaN hidden voltages fire no spikes, so the output (and the loss) stayed finite and fit
    went on, saving NaN weights."""
    ckpt = tmp_path / "checkpoint.npz"
    net = Network((20, 10), Config(mode="spiking"), seed=0)
    net.fit(small.x_train[:20], small.y_train[:20], progress=False, checkpoint=ckpt)
    good = ckpt.read_bytes()
    net.config = net.config.replace(g_A=1e6)  # an apical conductance far too large
    with (
        np.errstate(all="ignore"),
        pytest.raises(
            training.TrainingDiverged, match=r"training diverged at image 1 of epoch 2 \(layer 0"
        ),
    ):
        net.fit(small.x_train[:20], small.y_train[:20], progress=False, checkpoint=ckpt)
    assert ckpt.read_bytes() == good  # the last good checkpoint is intact
    back = load_checkpoint(ckpt)
    assert [e for e in back.history["epoch"]] == [1]
    assert all(np.isfinite(a).all() for a in [*back.W, *back.b, *back.spiking.V])


def test_train_step_raises_when_spiking_state_diverges(small):
    net = Network((20, 10), Config(mode="spiking", g_A=1e6), seed=0)
    with np.errstate(all="ignore"), pytest.raises(training.TrainingDiverged) as err:
        net.train_step(small.x_train[0], int(small.y_train[0]))
    msg = str(err.value)
    assert msg.startswith("training diverged at image 1 (layer 0")
    assert "V0" in msg and msg.endswith("lower the learning rates or g_A")
    assert err.value.image == 1 and err.value.epoch is None
    assert "NaN" in {kind for _, _, kind in err.value.problems}


def test_train_step_on_nan_weights_raises_instead_of_returning_nan(small):
    net = Network((20, 10), seed=0)
    net.W[0][0, :] = np.nan
    with pytest.raises(training.TrainingDiverged, match="NaN in W0"):
        net.train_step(small.x_train[0], int(small.y_train[0]))


def test_rate_divergence_names_image_and_epoch_and_writes_no_checkpoint(small, tmp_path):
    net = Network((20, 10), Config(lr=(1e38, 1e38)), seed=0)
    with (
        np.errstate(all="ignore"),
        pytest.raises(training.TrainingDiverged, match=r"at image \d+ of epoch 1"),
    ):
        net.fit(
            small.x_train[:50], small.y_train[:50], progress=False, checkpoint=tmp_path / "c.npz"
        )
    assert not (tmp_path / "c.npz").exists()


def test_predict_and_evaluate_refuse_non_finite_weights(small):
    """They gave class 0 for every image (about 90 % error) before."""
    net = Network((20, 10), seed=0)
    net.W[1][...] = np.inf
    with pytest.raises(training.TrainingDiverged, match="inf in W1"):
        net.predict(small.x_test[:5])
    with pytest.raises(training.TrainingDiverged):
        net.evaluate(small.x_test[:5], small.y_test[:5])


def test_every_array_is_checked_every_full_every_images(small):
    """An infinite weight that leaves the loss finite is found by the periodic full check."""
    from segdend_lite.model import divergence

    net = Network((20, 10), seed=0)
    net.W[0][3, 4] = np.inf
    watch = divergence.Watch(net, epoch=1, full_every=100)
    watch.after(0.5, 99)  # the cheap per-image check does not look at W
    with pytest.raises(
        training.TrainingDiverged, match=r"image 100 of epoch 1 \(layer 0, inf in W0\)"
    ):
        watch.after(0.5, 100)


def test_saturation_warns_and_normal_training_does_not(small):
    X, y = small.x_train[:600], small.y_train[:600]
    test = dict(X_test=small.x_test[:200], y_test=small.y_test[:200])
    with pytest.warns(training.SaturationWarning, match="epoch 1: the network gives class"):
        Network((20, 10), Config(lr=(1e3, 1e3)), seed=0).fit(X, y, progress=False, **test)
    # without a test set: judged on the training images (every image one class in epoch 2)
    with pytest.warns(training.SaturationWarning, match="epoch 2"):
        Network((20, 10), Config(lr=(1e3, 1e3)), seed=0).fit(X, y, epochs=2, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", training.SaturationWarning)
        Network((20, 10), seed=0).fit(X, y, progress=False, **test)


# ---------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    "field, value",
    [
        ("E_E", "8"),
        ("E_E", math.nan),
        ("E_I", -math.inf),
        ("E_E", -9.0),  # below E_I
        ("g_A", True),
        ("phi_max", True),
        ("lr", 0.1),
        ("lr", "0.1"),
        ("lr", (True, 0.1)),
        ("lr", (0.1, math.nan)),
        ("P_hidden", "x"),
        ("sparse_feedback", "abc"),
        ("sparse_feedback", True),
        ("plateau_sd", "x"),
        ("plateau_sd", math.inf),
        ("phase_length", 50.5),
        ("kernel", 1),
    ],
)
def test_config_names_the_bad_field(field, value):
    with pytest.raises(ValueError, match=f"Config.{field}"):
        Config(**{field: value})


def test_config_takes_numpy_numbers_and_whole_floats():
    cfg = Config(g_A=np.float32(0.25), phase_length=np.int64(60), test_length=400.0)
    assert (cfg.g_A, cfg.phase_length, cfg.test_length) == (0.25, 60, 400)
    assert type(cfg.g_A) is float and type(cfg.phase_length) is int
    assert Config.from_json(cfg.to_json()) == cfg


def test_preset_fills_only_the_options_not_given():
    code = Config(preset="authors_code")
    assert (code.window, code.test_length, code.init, code.plateau_sd) == (
        "code",
        250,
        "authors_code",
        3.0,
    )
    assert Config(preset="authors_code", kernel="full").kernel == "full"
    assert Config(preset="authors_code", window="paper").window == "paper"
    assert code.replace(test_length=500).test_length == 500  # was ignored
    assert code.replace(init="design").init == "design"
    paper = Config()
    assert (paper.kernel, paper.window, paper.test_length, paper.init) == (
        "truncated",
        "paper",
        500,
        "design",
    )
    assert paper.plateau_sd == math.sqrt(3.0)
    assert Config.from_json(code.to_json()) == code


# ---------------------------------------------------------------- the network's API


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(layer_sizes=(20.7, 10)), "whole number"),
        (dict(layer_sizes=(True, 10)), "whole number"),
        (dict(layer_sizes=10), "as a tuple"),
        (dict(layer_sizes="500"), "as a tuple"),
        (dict(layer_sizes=()), "whole number"),
        (dict(layer_sizes=(10,), n_input=0), "n_input=0"),
        (dict(layer_sizes=(10,), seed=-1), "seed=-1"),
        (dict(layer_sizes=(10,), seed=1.5), "seed=1.5"),
    ],
)
def test_network_refuses_bad_shapes_and_seeds(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Network(**kwargs)


def test_switching_a_networks_config(small):
    net = Network((20, 10), seed=0)
    net.config = net.config.replace(mode="spiking")  # crashed in train_step before
    loss, _ = net.train_step(small.x_train[0], int(small.y_train[0]))
    assert np.isfinite(loss) and net.spiking is not None
    net.config = net.config.replace(mode="rate", lr=(0.1, 0.1))
    assert net.spiking is None and net.lr == (0.1, 0.1)
    with pytest.raises(ValueError, match="dtype"):
        net.config = net.config.replace(dtype="float64")
    with pytest.raises(ValueError, match="Config.lr has 3 rates"):
        net.config = net.config.replace(lr=(0.1, 0.1, 0.1))
    deep = Network((20, 20, 10), seed=0)
    with pytest.raises(ValueError, match="feedback"):
        deep.config = deep.config.replace(feedback="layerwise")


def test_output_voltage_chunk(small):
    net = Network((20, 10), seed=0)
    for chunk in (-1, 0, 2.5):
        with pytest.raises(ValueError, match="chunk"):
            net.output_voltage(small.x_test[:5], chunk=chunk)
    np.testing.assert_allclose(
        net.output_voltage(small.x_test[:5], chunk=2),
        net.output_voltage(small.x_test[:5]),
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.parametrize(
    "labels, match",
    [
        (["1", "2", "3"], "strings"),
        (None, "None"),
        ([True, False, True], "booleans"),
        ([1 + 0j, 2 + 0j, 3 + 0j], "complex"),
    ],
)
def test_labels_must_be_whole_numbers(small, labels, match):
    net = Network((20, 10), seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "discards the imaginary part" either
        with pytest.raises(ValueError, match=match):
            net.evaluate(small.x_test[:3], labels)


def test_fit_checks_every_image_before_training(small):
    """A NaN in image 1100 (in the second block of 1000) stopped fit after 1000 updates."""
    net = Network((20, 10), seed=0)
    X = small.x_train[:1200].astype(np.float32) / 255
    X[1100, 7] = np.nan
    W0 = net.W[0].copy()
    with pytest.raises(ValueError, match="training image 1100: images contain NaN"):
        net.fit(X, small.y_train[:1200], progress=False)
    assert net.images_seen == 0
    np.testing.assert_array_equal(net.W[0], W0)
    with pytest.raises(ValueError, match="test image 2"):
        bad = small.x_test[:5].astype(np.float32) * 2.0 / 255
        bad[:2] /= 2.0
        net.fit(small.x_train[:5], small.y_train[:5], X_test=bad, y_test=small.y_test[:5])


def test_checkpoint_without_an_array_names_it(tmp_path):
    net = Network((20, 10), seed=0)
    path = save_checkpoint(net, tmp_path / "c.npz")
    with np.load(path) as f:
        files = {k: f[k] for k in f.files if k != "W1"}
    np.savez(tmp_path / "broken.npz", **files)
    with pytest.raises(ValueError, match="lacks W1"):
        load_checkpoint(tmp_path / "broken.npz")
    files["meta_json"] = np.array("{not json")
    np.savez(tmp_path / "meta.npz", **files)
    with pytest.raises(ValueError, match="meta.npz: its configuration or metadata"):
        load_checkpoint(tmp_path / "meta.npz")
    meta = json.loads(str(np.load(path)["meta_json"]))
    assert meta["layer_sizes"] == [20, 10]
