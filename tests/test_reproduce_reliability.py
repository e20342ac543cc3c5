"""`reproduce` under faults and bad input: diverged training, killed workers and parents, a
folder of one setting, a lock, probes and corrupt result files, and the command line's errors.

Tiny tasks on the bundled real subset (rate mode unless the fault needs spiking)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from segdend_lite.__main__ import main
from segdend_lite.model import rate
from segdend_lite.model.network import Network
from segdend_lite.model.training import load_checkpoint, save_checkpoint
from segdend_lite.reproduce import load_task_histories, make_tasks, run_task, run_tasks
from segdend_lite.reproduce import write_report
from segdend_lite.reproduce.folder import check_setting
from segdend_lite.reproduce.settings import make_setting, parse_set
from segdend_lite.runs.store import results_folder

TINY = dict(data="small", train_images=300, test_images=100, probe_every=100)
SMALL_ARGS = ["--data", "small", "--train-images", "300", "--test-images", "100"]


def tiny(out, experiments=("fig6b",), seeds=(0,), epochs=1, mode="rate", **kw):
    return make_tasks(experiments, out, mode=mode, seeds=seeds, epochs=epochs, **{**TINY, **kw})[0]


def one(out, condition="h1", **kw):
    (task,) = [t for t in tiny(out, **kw) if t.condition == condition]
    return task


def quiet(*args):
    pass


def cli(out, *args, experiments=("fig6b",)):
    return [
        "reproduce",
        *experiments,
        "--mode",
        "rate",
        "--seeds",
        "0",
        "--epochs",
        "1",
        *SMALL_ARGS,
        "--workers",
        "1",
        "--no-progress",
        "--out",
        str(out),
        *args,
    ]


def command(out, *args, epochs="3", train_images="3000", experiments=("fig6b",)):
    """The command line of a subprocess, long enough to be stopped in the middle."""
    return [
        sys.executable,
        "-m",
        "segdend_lite",
        "reproduce",
        *experiments,
        "--mode",
        "rate",
        "--epochs",
        epochs,
        "--seeds",
        "0",
        "--data",
        "small",
        "--train-images",
        train_images,
        "--test-images",
        "100",
        "--no-progress",
        "--out",
        str(out),
        *args,
    ]


def wait_for(check, timeout=120.0, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the process ended early: {proc.communicate()}")
        time.sleep(0.05)
    raise AssertionError("timed out")


def task_json(folder) -> dict | None:
    try:
        return json.loads((Path(folder) / "task.json").read_text())
    except (OSError, ValueError):
        return None


def running_pid(folder):
    info = task_json(folder)
    if info and info.get("status") == "running" and info["runs"][-1].get("pid"):
        return info["runs"][-1]["pid"]
    return None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (ended, not yet collected by its parent) counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return True


def all_finite(path) -> bool:
    with np.load(path, allow_pickle=False) as f:
        return all(np.isfinite(f[k]).all() for k in f.files if f[k].dtype.kind == "f")


# ------------------------------------------------------------------ 1. divergence


def test_a_diverging_spiking_task_fails_and_the_command_says_so(tmp_path, capsys):
    """Issue: ``reproduce fig6b --mode spiking ... --set g_A=1e6`` reported every task
    "finished", with NaN W0, b0, V0 in the checkpoints. Now the task fails with the divergence
    message, the command exits non-zero and no checkpoint holds NaN."""
    out = tmp_path / "out"
    args = cli(out, "--set", "g_A=1e6", "--epochs", "2", experiments=["fig6b/h1"])
    args[args.index("rate")] = "spiking"
    args[args.index("--train-images") + 1] = "20"
    args[args.index("--test-images") + 1] = "10"
    assert main(args) == 1
    printed = capsys.readouterr().out
    # the model's own check (segdend_lite.model.divergence) stops fit at the first image
    assert (
        "FAILED fig6b/spiking/h1/seed0: TrainingDiverged: training diverged at image 1 of epoch 1"
        in printed
    )
    assert "lower the learning rates or g_A" in printed
    folder = out / "fig6b" / "spiking" / "h1" / "seed0"
    assert task_json(folder)["status"].startswith("failed: TrainingDiverged")
    assert not (folder / "checkpoint.npz").exists() or all_finite(folder / "checkpoint.npz")
    assert "## Failed tasks of this invocation" in (out / "REPORT.md").read_text()


def test_divergence_in_a_later_epoch_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    """Weights that turn NaN during epoch 2 (of 3): the task fails, checkpoint.npz keeps
    epoch 1 and holds no NaN, history.json has epoch 1, the status names the kept epoch."""
    task = one(tmp_path / "out", epochs=3)
    learn_one = rate.learn_one
    n_train = TINY["train_images"]

    def poisoned(net, x, label):
        out = learn_one(net, x, label)
        if net.images_seen > n_train + 50:  # in epoch 2
            net.W[0][0, 0] = np.nan
        return out

    monkeypatch.setattr(rate, "learn_one", poisoned)
    with pytest.raises(RuntimeError, match="training diverged") as caught:
        run_task(task)
    assert type(caught.value).__name__ == "TrainingDiverged"
    assert "checkpoint.npz keeps epoch 1" in str(caught.value)
    folder = Path(task.folder)
    net = load_checkpoint(folder / "checkpoint.npz")
    assert net.history["epoch"] == [0, 1] and all_finite(folder / "checkpoint.npz")
    assert json.loads((folder / "history.json").read_text())["epoch"] == [0, 1]
    info = task_json(folder)
    assert (
        info["status"].startswith("failed: TrainingDiverged") and "keeps epoch 1" in info["status"]
    )


# ------------------------------------------------------------------ 2. task isolation


def test_a_killed_worker_fails_only_its_task_and_is_replaced(tmp_path):
    """kill -9 of the worker of one task (as the out-of-memory killer would): that task fails
    with "killed by SIGKILL" and its task.json says so; the others, queued after it, run on a
    new worker; the killed task resumes from its checkpoint afterwards."""
    long = one(tmp_path, condition="h1", epochs=3, train_images=3000)
    short = [t for t in tiny(tmp_path, seeds=(1,)) if t.condition in ("h0", "h2")]
    tasks = [long, *short]
    killed = []

    def killer():
        pid = wait_for(
            lambda: (
                running_pid(long.folder) if (Path(long.folder) / "history.json").exists() else None
            )
        )
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    results = run_tasks(tasks, workers=1, progress=False, log=quiet)
    thread.join(5)
    assert killed
    by_task = {r["task"]: r for r in results}
    assert by_task[long.key]["status"] == "failed"
    assert "killed by SIGKILL" in by_task[long.key]["error"]
    assert all(by_task[t.key]["status"] == "finished" for t in short)
    info = task_json(long.folder)
    assert info["status"].startswith("failed: WorkerDied") and info["runs"][-1]["finished"]
    assert run_task(replace(long, epochs=1))["status"] == "skipped (finished before)"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_parent_stops_its_workers_and_leaves_no_task_running(tmp_path, signum):
    """SIGTERM (or SIGINT) to the parent alone: it stops its worker at once, the finished
    epochs are kept, the task is marked interrupted, no queued task starts."""
    out = tmp_path / "out"
    # A shell starts background jobs with Ctrl-C ignored, and Python then keeps it ignored:
    # the command gets the default disposition back, as in a terminal. 40 epochs: still
    # training when the signal comes.
    proc = subprocess.Popen(
        command(out, "--workers", "1", epochs="40", experiments=["fig6b/h1", "fig6b/h2"]),
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    folder = out / "fig6b" / "rate" / "h1" / "seed0"
    wait_for(lambda: (folder / "history.json").exists(), proc=proc)
    worker = running_pid(folder)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum and "run the same command again" in err
    wait_for(lambda: not alive(worker), timeout=10)
    info = task_json(folder)
    assert info["status"].startswith("interrupted")
    assert load_checkpoint(folder / "checkpoint.npz").history["epoch"][-1] >= 1
    assert not (out / "fig6b" / "rate" / "h2").exists()


def test_a_worker_ends_with_its_killed_parent_and_the_task_resumes(tmp_path):
    """kill -9 of the parent: its worker ends by itself (no orphan trains on); the task.json
    left "running" is recognised on the next start and the task resumes to the end."""
    out = tmp_path / "out"
    # six epochs: the kill lands well before the end even on a busy machine
    cmd = command(out, "--workers", "1", epochs="6", experiments=["fig6b/h0"])
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    folder = out / "fig6b" / "rate" / "h0" / "seed0"
    wait_for(lambda: (folder / "history.json").exists(), proc=proc)
    worker = running_pid(folder)
    proc.kill()
    proc.wait()
    wait_for(lambda: not alive(worker), timeout=10)
    assert task_json(folder)["status"] == "running"
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "ended without a record" in done.stdout
    info = task_json(folder)
    assert info["status"] == "finished" and "without a record" in info["runs"][0]["ended"]
    assert load_checkpoint(folder / "checkpoint.npz").history["epoch"][-1] == 6


# ------------------------------------------------------------------ 3. one setting per folder


def test_a_folder_holds_one_setting_and_the_mode_may_differ(tmp_path, capsys):
    """Issue: fig6b, then fig8 --set init=authors_code into the same folder made a report
    comparing the two. Now the second run is refused, naming the difference."""
    out = tmp_path / "out"
    assert main(cli(out, experiments=["fig6b/h0"])) == 0
    capsys.readouterr()
    for args, words in (
        (["--set", "init=authors_code"], "--set init: folder not set, this run 'authors_code'"),
        (["--test-images", "50"], "--test-images: folder 100, this run 50"),
    ):
        assert main(cli(out, *args, experiments=["fig6b/h0"])) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and words in err and "another --out" in err
    assert not (out / "fig8").exists()
    assert json.loads((out / "reproduce.json").read_text())["setting"]["set"] == {}
    # the same setting in spiking mode is welcome
    check_setting(out, make_setting("small", 300, 100, {}))


def test_the_report_compares_only_tasks_of_the_folders_setting(tmp_path):
    out = tmp_path / "out"
    assert main(cli(out, experiments=["fig6b/h1"])) == 0
    other = replace(
        one(out, options={"init": "authors_code"}, seeds=(1,)),
        overrides={"init": "authors_code"},
    )
    run_task(other)  # through the API, which does not check the folder
    text = write_report(out, ["fig6b"], ["rate"]).read_text()
    assert "## Tasks of another setting (not compared)" in text
    assert "`fig6b/rate/h1/seed1`: --set init: this task 'authors_code', compared not set" in text
    row = next(line for line in text.splitlines() if "(`fig6b/rate/h1`)" in line)
    assert "| 1 (60) | 0 |" in row  # seed 0 only


def test_the_stored_results_folder_still_resumes_and_reports(tmp_path, capsys):
    """The package's results folder (rate tasks, a spiking task and course runs, from before
    folders recorded their setting): the stored setting (full MNIST, no --set) is accepted
    in any mode, another is refused, and --report-only works."""
    copy = tmp_path / "results"
    shutil.copytree(results_folder(), copy)
    for path in copy.rglob("reproduce.json"):
        path.unlink()
    check_setting(copy, make_setting("auto", None, None, {}))
    with pytest.raises(ValueError, match=r"--data: task fig6b/rate/h\d/seed0 'auto', this run"):
        check_setting(copy, make_setting("small", None, None, {}))
    with pytest.raises(ValueError, match="--set init"):
        check_setting(copy, make_setting("auto", None, None, {"init": "authors_code"}))
    args = ["reproduce", "fig6b", "--report-only", "--out", str(copy)]
    assert main(args) == 0
    text = (copy / "REPORT.md").read_text()
    assert "(`fig6b/rate/h1`)" in text and "Tasks of another setting" not in text
    assert "could not be read" not in text


def test_a_second_reproduce_on_the_same_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from segdend_lite.reproduce.folder import folder_lock\n"
            "with folder_lock(sys.argv[1], 'python -m segdend_lite reproduce (first)'):\n"
            "    print('holding', flush=True)\n"
            "    time.sleep(60)\n",
            str(out),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        assert main(cli(out, experiments=["fig6b/h0"])) == 2
        err = capsys.readouterr().err
        assert f"in use by another reproduce (process {holder.pid}" in err
        assert "(first)" in err and not (out / "fig6b").exists()
    finally:
        holder.kill()  # as kill -9: the lock goes with the process
        holder.wait()
    assert main(cli(out, experiments=["fig6b/h0"])) == 0


# ------------------------------------------------------------------ 4. probes


@pytest.fixture(scope="module")
def probed_straight(tmp_path_factory):
    """A fig7a task of three epochs, run without interruption."""
    out = tmp_path_factory.mktemp("straight")
    task = one(out, condition="rate-feedback", experiments=["fig7a"], epochs=3)
    run_task(task)
    return task


@pytest.mark.parametrize("crash_at", ["probes.json", "checkpoint.npz"])
def test_probes_survive_a_crash_between_the_writes_of_an_epoch(
    tmp_path, monkeypatch, crash_at, probed_straight
):
    """Issue: a crash between the checkpoint save and the probes.json write lost that epoch's
    probes for good (resumed probes: epochs 0, 1, 3). A crash at either write of epoch 2 now
    resumes to the probes of an uninterrupted run."""
    from segdend_lite.reproduce import train

    straight = probed_straight
    task = replace(straight, folder=str(tmp_path / "crashed"))
    attr = {"probes.json": "write_json", "checkpoint.npz": "save_checkpoint"}[crash_at]
    real = getattr(train, attr)
    calls = []

    def crash_at_epoch_2(*args):
        path = next(Path(a) for a in args if isinstance(a, (str, os.PathLike)))
        if path.name == crash_at:
            calls.append(path)
            if len(calls) == 2:
                raise OSError("simulated crash")
        return real(*args)

    monkeypatch.setattr(train, attr, crash_at_epoch_2)
    with pytest.raises(OSError, match="simulated crash"):
        run_task(task)
    monkeypatch.setattr(train, attr, real)
    run_task(task)

    def probes(folder):
        p = json.loads((Path(folder) / "probes.json").read_text())
        return {k: v for k, v in p.items() if k != "seconds"}

    assert probes(task.folder) == probes(straight.folder)
    assert sorted({int(np.ceil(e)) for e in probes(task.folder)["epoch"]}) == [0, 1, 2, 3]


# ------------------------------------------------------------------ 5. corrupt result files


def test_corrupt_result_files_are_named_and_the_rest_goes_on(tmp_path, capsys):
    """Issue: a corrupt history.json or task.json stopped the whole report with a
    JSONDecodeError naming no file. Now: the file is named with what to do, the other tasks
    and the report go on, a finished task's history is rebuilt from its checkpoint."""
    out = tmp_path / "out"
    args = cli(out, experiments=["fig6b", "fig7a/rate-feedback"])
    args[args.index("--out") : args.index("--out")] = ["--probe-every", "100"]
    assert main(args) == 0
    capsys.readouterr()
    base = out / "fig6b" / "rate"
    (base / "h0" / "seed0" / "history.json").write_text('{"epoch": [0, 1], "test_err')
    (base / "h1" / "seed0" / "task.json").write_bytes(b"\xff\xfe not json")
    probes = out / "fig7a" / "rate" / "rate-feedback" / "seed0" / "probes.json"
    probes.write_text("[")
    (base / "h2" / "seed0" / "history.json").unlink()
    data = load_task_histories(out)
    h0 = data["fig6b"]["rate"]["h0"][0]
    ckpt_history = load_checkpoint(base / "h0" / "seed0" / "checkpoint.npz").history
    assert h0["history"]["test_error"] == ckpt_history["test_error"]
    assert any("history.json cannot be read" in p and "rebuilt" in p for p in h0["problems"])
    assert data["fig6b"]["rate"]["h2"][0]["history"]["epoch"] == [0, 1]
    assert data["fig6b"]["rate"]["h1"][0]["task"] is None
    assert main(args) == 1  # the task with the unreadable task.json fails, the others go on
    printed = capsys.readouterr().out
    assert (
        f"FAILED fig6b/rate/h1/seed0: ResultFileError: {base / 'h1' / 'seed0' / 'task.json'}"
        in printed
    )
    assert "move it away" in printed
    assert "skipped" in printed and "rewritten from checkpoint.npz" in printed
    report = (out / "REPORT.md").read_text()
    assert "## Result files that could not be read" in report
    assert str(probes) in report and str(base / "h1" / "seed0" / "task.json") in report
    assert json.loads((base / "h0" / "seed0" / "history.json").read_text())["epoch"] == [0, 1]
    assert json.loads((base / "h2" / "seed0" / "history.json").read_text())["epoch"] == [0, 1]


# ------------------------------------------------------------------ 6. the command line


def checkpoint_without_w1(folder: Path) -> Path:
    net = Network((500, 10), seed=0)
    save_checkpoint(net, folder / "full.npz")
    with np.load(folder / "full.npz", allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files if k != "W1"}
    (folder / "run").mkdir()
    np.savez(folder / "run" / "checkpoint.npz", **arrays)
    return folder / "run"


@pytest.mark.parametrize(
    "case",
    [
        "data",
        "out-file",
        "out-under-file",
        "adopt-missing",
        "adopt-no-w1",
        "set-field",
        "set-number",
        "set-whole",
        "set-nan",
        "set-bool",
        "set-lr-depth",
        "workers",
    ],
)
def test_expected_failures_are_one_error_line(tmp_path, capsys, case):
    (tmp_path / "file").write_text("x")
    out = tmp_path / "out"
    extra, words = {
        "data": (["--data", "nowhere"], "data='nowhere': use auto, small"),
        "out-file": (["--out", str(tmp_path / "file")], "is a file: give a folder"),
        "out-under-file": (["--out", str(tmp_path / "file" / "x")], "cannot write in"),
        "adopt-missing": (["--adopt", f"h1={tmp_path / 'nothing'}"], "has no checkpoint.npz"),
        "adopt-no-w1": (["--adopt", "h1=RUN"], "W1"),
        "set-field": (["--set", "colour=red"], "--set colour: not a Config field"),
        "set-number": (["--set", "sparse_feedback=abc"], "sparse_feedback takes a number"),
        "set-whole": (["--set", "kernel_taps=20.7"], "kernel_taps is a whole number"),
        "set-nan": (["--set", "E_E=nan"], "E_E must be a finite number"),
        "set-bool": (["--set", "symmetric_feedback=maybe"], "is true or false"),
        "set-lr-depth": (["--set", "lr=0.1,0.1"], "gives 2 learning rate(s), but fig6b/h0 has 1"),
        "workers": (["--workers", "0"], "workers=0"),
    }[case]
    if case == "adopt-no-w1":
        extra = ["--adopt", f"h1={checkpoint_without_w1(tmp_path)}"]
    experiments = ["fig6b/h1"] if case.startswith("adopt") else ["fig6b"]
    assert main(cli(out, *extra, experiments=experiments)) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in err, err
    assert "Traceback" not in err
    assert not (out / "fig6b").exists() or case == "adopt-no-w1"


def test_learning_rates_can_be_set(tmp_path):
    """Issue: learning rates could not be set through --set at all (lr=0.1 failed with
    "'float' object is not iterable"). One rate per weight layer, comma-separated."""
    assert parse_set(["lr=0.3,0.25"]) == {"lr": (0.3, 0.25)}
    assert parse_set(["lr=0.3"]) == {"lr": (0.3,)}
    assert parse_set(["P_hidden=None", "random_phase_lengths=false"]) == {
        "P_hidden": None,
        "random_phase_lengths": False,
    }
    out = tmp_path / "out"
    assert main(cli(out, "--set", "lr=0.3,0.25", experiments=["fig6b/h1"])) == 0
    net = load_checkpoint(out / "fig6b" / "rate" / "h1" / "seed0" / "checkpoint.npz")
    assert net.config.lr == (0.3, 0.25)
    assert json.loads((out / "reproduce.json").read_text())["setting"]["set"] == {"lr": [0.3, 0.25]}
