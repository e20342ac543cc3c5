"""The command line, end to end on the bundled subset."""

from __future__ import annotations

import json

from segdend_lite.__main__ import main


def test_train_writes_history_checkpoint_plot_and_resumes(tmp_path, capsys):
    out = tmp_path / "run"
    args = [
        "train",
        "--hidden",
        "30",
        "--epochs",
        "1",
        "--data",
        "small",
        "--out",
        str(out),
        "--no-progress",
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "epoch   1  test error" in printed
    history = json.loads((out / "history.json").read_text())
    assert history["epoch"] == [0, 1] and history["test_error"][1] < history["test_error"][0]
    assert (out / "checkpoint.npz").stat().st_size > 0
    assert (out / "learning_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert main(args) == 2  # refuses to overwrite a run
    assert "--resume" in capsys.readouterr().err
    assert main(args[:4] + ["2"] + args[5:] + ["--resume"]) == 0
    assert json.loads((out / "history.json").read_text())["epoch"] == [0, 1, 2]


def test_bad_option_gives_a_clear_error(tmp_path, capsys):
    code = main(["train", "--sparse-feedback", "1.5", "--data", "small", "--out", str(tmp_path)])
    assert code == 2 and "sparse_feedback" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_spiking_options_reach_the_configuration(tmp_path, capsys):
    from segdend_lite.model.training import load_checkpoint

    out = tmp_path / "spiking"
    args = ["train", "--mode", "spiking", "--hidden", "20", "--epochs", "1", "--data", "small"]
    args += ["--rate-feedback", "--random-plateau-times", "--preset", "authors_code"]
    assert main(args + ["--out", str(out), "--no-progress"]) == 0
    cfg = load_checkpoint(out / "checkpoint.npz").config
    assert cfg.mode == "spiking" and not cfg.spiking_feedback and cfg.random_plateau_times
    assert (cfg.kernel, cfg.window, cfg.test_length) == ("truncated", "code", 250)
    history = json.loads((out / "history.json").read_text())
    assert history["test_error"][1] < 80.0 and history["hidden_rate_hz"][1] > 0
