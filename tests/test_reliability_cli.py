"""The command line: every expected failure is one line ``error: ...`` and exit code 2, never a
traceback; ``train --resume`` refuses options that differ from the run it continues."""

from __future__ import annotations

import json

import numpy as np
import pytest

from segdend_lite.__main__ import main
from segdend_lite.data import FILES
from segdend_lite.data.idx import write_idx


def _idx_folder(folder, data, n_train: int, n_test: int) -> str:
    """The first images of ``data`` as a folder of IDX files (what ``--data`` takes)."""
    for name, stem in FILES:
        arr = getattr(data, name)[: n_train if "train" in name else n_test]
        write_idx(folder / stem, arr.reshape(-1, 28, 28) if name.startswith("x") else arr)
    return str(folder)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, mnist_small):
    """600 training and 100 test images of the bundled subset."""
    return _idx_folder(tmp_path_factory.mktemp("tiny_idx"), mnist_small, 600, 100)


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_expected_failures_are_one_error_line(tmp_path, tiny, capsys):
    (tmp_path / "afile").write_text("not a folder")
    base = ["train", "--hidden", "5", "--no-progress", "--data", tiny]
    cases = [
        (["train", "--data", "nosuch", "--out", str(tmp_path / "a")], "neither a source"),
        (base + ["--out", str(tmp_path / "afile")], "is a file"),
        (base + ["--out", str(tmp_path / "afile" / "sub")], "Not a directory"),
        (base + ["--lr", "1e38", "1e38", "--out", str(tmp_path / "b")], "training diverged"),
        (
            ["reproduce", "fig6b", "--mode", "rate", "--set", "lr=0.1", "--report-only"]
            + ["--out", str(tmp_path / "r")],
            "lr=0.1",
        ),
        (
            ["reproduce", "fig6b", "--mode", "rate", "--set", "sparse_feedback=abc"]
            + ["--report-only", "--out", str(tmp_path / "r")],
            "sparse_feedback",
        ),
        (
            ["reproduce", "fig6b/h1", "--mode", "rate", "--seeds", "0", "--report-only"]
            + ["--adopt", f"h1={tmp_path / 'missing'}", "--out", str(tmp_path / "r")],
            "no checkpoint.npz to adopt",
        ),
    ]
    for argv, words in cases:
        with np.errstate(all="ignore"):
            assert main(argv) == 2, argv
        assert words in _one_error_line(capsys), argv


def test_bad_numbers_are_refused_by_the_parser(tmp_path, capsys):
    for flag, value in (("--epochs", "-1"), ("--hidden", "0"), ("--batch-size", "0")):
        with pytest.raises(SystemExit) as stop:
            main(["train", flag, value, "--out", str(tmp_path)])
        assert stop.value.code == 2
        assert f"argument {flag}" in capsys.readouterr().err


def test_diverged_spiking_run_exits_2_and_saves_no_nan(tmp_path, mnist_small, capsys):
    out = tmp_path / "run"
    data = _idx_folder(tmp_path, mnist_small, 20, 2)  # spiking test phases are slow at g_A > 0
    argv = ["train", "--mode", "spiking", "--g-A", "1e6", "--hidden", "5", "--data", data]
    with np.errstate(all="ignore"):
        assert main(argv + ["--out", str(out), "--no-progress"]) == 2
    line = _one_error_line(capsys)
    assert "training diverged at image 1 of epoch 1 (layer 0" in line
    assert "lower the learning rates or g_A (no epoch was saved)" in line
    assert not (out / "checkpoint.npz").exists() and not (out / "history.json").exists()


def test_resume_refuses_options_that_differ(tmp_path, tiny, capsys):
    out = str(tmp_path / "run")
    argv = ["train", "--hidden", "5", "--data", tiny, "--out", out, "--no-progress"]
    assert main(argv) == 0
    assert json.loads((tmp_path / "run" / "train.json").read_text())["data"] == tiny
    capsys.readouterr()
    other = ["--mode", "spiking", "--hidden", "20", "--lr", "5", "5", "--seed", "7"]
    resume = ["train", "--resume", "--epochs", "2", "--out", out, "--no-progress"]
    assert main(resume + other + ["--batch-size", "4"]) == 2
    line = _one_error_line(capsys)
    for diff in (
        "--mode spiking (run: rate)",
        "--hidden 20 (run: 5)",
        "--lr 5.0 5.0 (run: 0.21 0.21)",
        "--seed 7 (run: 0)",
        "--batch-size 4 (run: 1)",
    ):
        assert diff in line
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert history["epoch"] == [0, 1]  # untouched
    assert main(resume + ["--hidden", "5", "--seed", "0", "--mode", "rate"]) == 0  # the same
    assert json.loads((tmp_path / "run" / "history.json").read_text())["epoch"] == [0, 1, 2]


def test_epochs_zero_writes_and_claims_nothing(tmp_path, tiny, capsys):
    out = tmp_path / "run"
    assert main(["train", "--epochs", "0", "--data", tiny, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "nothing to train" in printed and "wrote" not in printed
    assert not out.exists()


def test_saturation_is_a_warning_line(tmp_path, tiny, capsys):
    argv = ["train", "--hidden", "5", "--lr", "1000", "1000", "--data", tiny, "--no-progress"]
    assert main(argv + ["--out", str(tmp_path / "run")]) == 0
    err = capsys.readouterr().err
    assert "warning: epoch 1: the network gives class" in err and "Traceback" not in err
