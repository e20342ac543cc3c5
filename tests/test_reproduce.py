"""`python -m segdend_lite reproduce`: tasks, resuming, local processes vs Dask, failures, report.

Tiny tasks on the bundled real subset (a few hundred images, one or two epochs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest

from segdend_lite.__main__ import main
from segdend_lite.model.config import Config
from segdend_lite.model.network import Network
from segdend_lite.model.training import fit, load_checkpoint, save_checkpoint
from segdend_lite.reproduce import (
    Task,
    TaskConflict,
    adopt,
    load_task_histories,
    make_tasks,
    run_task,
    run_tasks,
    write_report,
)

TINY = dict(data="small", train_images=300, test_images=200, probe_every=100)


def tiny_tasks(out, mode="rate", experiments=("fig6b",), seeds=(0, 1), epochs=1, **kw):
    tasks, _ = make_tasks(experiments, out, mode=mode, seeds=seeds, epochs=epochs, **{**TINY, **kw})
    return tasks


def spiking_task(out):
    (task,) = [
        t
        for t in tiny_tasks(out, "spiking", seeds=(0,), train_images=40, test_images=20)
        if t.condition == "h1"
    ]
    return task


def without_seconds(history):
    return {k: v for k, v in history.items() if k != "seconds"}


def same_weights(folder_a, folder_b):
    a, b = (
        load_checkpoint(folder_a / "checkpoint.npz"),
        load_checkpoint(folder_b / "checkpoint.npz"),
    )
    for name in ("W", "b", "Y"):
        for x, y in zip(getattr(a, name), getattr(b, name), strict=True):
            np.testing.assert_array_equal(x, y)
    assert a.rng.bit_generator.state == b.rng.bit_generator.state
    return a, b


def results_by_task(results):
    return {r["task"]: r for r in results}


# ------------------------------------------------------------------ tasks


def test_tasks_share_identical_conditions_and_skip_meaningless_ones(tmp_path):
    tasks, notes = make_tasks(["fig8", "fig6b", "fig6s1"], tmp_path, mode="rate", seeds=[0])
    keys = sorted(t.key for t in tasks)
    # Fig. 8's regular network and Fig. 6-S1's synchronous one are Fig. 6B's h1, trained once
    assert keys.count("fig6b/rate/h1/seed0") == 1
    assert "fig8/rate/regular/seed0" not in keys
    assert not any(k.startswith("fig6s1") for k in keys)
    assert any("fig6s1/random-plateaus" in n and "rate mode" in n for n in notes)
    epochs = {t.key: t.epochs for t in tasks}
    assert epochs["fig8/rate/sparse-no-gain/seed0"] == 20 and epochs["fig6b/rate/h0/seed0"] == 60
    (jac,) = make_tasks(["fig5s1"], tmp_path, mode="spiking", seeds=[0], epochs=60)[0]
    assert jac.epochs == 1 and jac.probe == "jacobian"  # defined over the first epoch


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(experiments=["fig99"]), "unknown experiment"),
        (dict(seeds=[0, 0]), "seeds"),
        (dict(epochs=0), "epochs"),
        (dict(options={"g_A": -1.0}), "g_A"),
        (dict(experiments=["fig9"], options={"g_A": 0.1}), "fig9/gA0.05 varies"),
    ],
)
def test_bad_requests_fail_before_anything_runs(tmp_path, kwargs, words):
    args = dict(experiments=["fig6b"], mode="rate", seeds=[0])
    args.update(kwargs)
    with pytest.raises(ValueError, match=words.replace("/", ".")):
        make_tasks(args.pop("experiments"), tmp_path, **args)
    assert not any(tmp_path.iterdir())


# ------------------------------------------------------------------ resuming


def in_workers(*tasks):
    """Run tasks in worker processes (one BLAS thread each, unlike this test process)."""
    results = run_tasks(tasks, "processes", workers=2, progress=False, log=lambda *a: None)
    assert all(r["status"] != "failed" for r in results), results
    return results


@pytest.mark.parametrize("kind", ["plain", "probes", "spiking"])
def test_resumed_task_equals_uninterrupted(tmp_path, kind):
    if kind == "spiking":
        task = spiking_task(tmp_path / "x")
    elif kind == "probes":
        (task,) = tiny_tasks(tmp_path / "x", experiments=["fig7a"], seeds=(0,))
    else:
        task = next(t for t in tiny_tasks(tmp_path / "x", seeds=(0,)) if t.condition == "h1")
    straight = replace(task, epochs=2, folder=str(tmp_path / "straight"))
    resumed = replace(task, epochs=1, folder=str(tmp_path / "resumed"))
    if kind == "spiking":
        assert in_workers(straight, resumed)[1]["epochs"] == 1
        (out,) = in_workers(replace(resumed, epochs=2))  # asked for 2 epochs: resumes
    else:
        run_task(straight)
        assert run_task(resumed)["epochs"] == 1
        out = run_task(replace(resumed, epochs=2))
    assert out["status"] == "finished" and out["epochs"] == 2
    a, b = same_weights(tmp_path / "straight", tmp_path / "resumed")
    assert without_seconds(a.history) == without_seconds(b.history)
    assert a.history["epoch"] == [0, 1, 2]
    if kind == "probes":
        pa = json.loads((tmp_path / "straight" / "probes.json").read_text())
        pb = json.loads((tmp_path / "resumed" / "probes.json").read_text())
        # before training, then every 100 images; one history entry each
        assert without_seconds(pa) == without_seconds(pb)
        assert pa["images"] == [0, 100, 200, 300, 400, 500, 600]
        assert pa["epoch"][:4] == [0, 1 / 3, 2 / 3, 1]
    info = json.loads((tmp_path / "resumed" / "task.json").read_text())
    assert [(r["from_epoch"], r["to_epoch"]) for r in info["runs"]] == [(0, 1), (1, 2)]
    assert run_task(replace(resumed, epochs=2))["status"].startswith("skipped")


def test_task_killed_mid_epoch_resumes_to_the_same_weights(tmp_path):
    task = next(
        t
        for t in tiny_tasks(tmp_path, seeds=(0,), train_images=2000, test_images=100, epochs=3)
        if t.condition == "h1"
    )
    run_task(replace(task, folder=str(tmp_path / "straight")))
    killed = replace(task, folder=str(tmp_path / "killed"))
    code = (
        "import sys, json; from segdend_lite.reproduce import Task, run_task; "
        "t = json.loads(sys.argv[1]); t['hidden'] = tuple(t['hidden']); run_task(Task(**t))"
    )
    import dataclasses

    proc = subprocess.Popen(
        [sys.executable, "-c", code, json.dumps(dataclasses.asdict(killed))],
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
    )
    history = tmp_path / "killed" / "history.json"
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        if history.exists() and json.loads(history.read_text())["epoch"][-1] >= 1:
            break
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    done = json.loads(history.read_text())["epoch"][-1]
    assert 1 <= done < 3, "the run was not interrupted before its end"
    assert run_task(killed)["epochs"] == 3
    a, b = same_weights(tmp_path / "straight", tmp_path / "killed")
    assert without_seconds(a.history) == without_seconds(b.history)


def test_training_in_probe_chunks_gives_the_weights_of_fit(tmp_path):
    (probe,) = tiny_tasks(tmp_path, experiments=["fig5s1"], seeds=(0,))
    plain = next(t for t in tiny_tasks(tmp_path, seeds=(0,)) if t.condition == "h1")
    run_task(probe)
    run_task(plain)
    a, b = same_weights(tmp_path / "fig5s1/rate/h1/seed0", tmp_path / "fig6b/rate/h1/seed0")
    ha, hb = a.history, b.history
    assert ha["test_error"] == hb["test_error"] and ha["images"] == hb["images"]
    np.testing.assert_allclose(ha["loss"][1:], hb["loss"][1:], rtol=1e-9)
    probes = json.loads((tmp_path / "fig5s1/rate/h1/seed0/probes.json").read_text())
    assert probes["images"] == [0, 100, 200, 300]
    assert all(np.isfinite(v) for v in probes["jacobian_max_eig"])


def test_folder_with_another_configuration_is_refused(tmp_path):
    task = next(t for t in tiny_tasks(tmp_path, seeds=(0,)) if t.condition == "h1")
    run_task(task)
    other = replace(task, options={"init": "authors_code"})
    with pytest.raises(TaskConflict, match=r"config\.init: folder 'design', task 'authors_code'"):
        run_task(other)
    with pytest.raises(TaskConflict, match="test_images"):
        run_task(replace(task, test_images=100))


def test_adopts_a_checkpoint_made_outside_the_command(tmp_path):
    """A run of `python -m segdend_lite train` (fit + checkpoint) copied into a task folder is
    continued; the same run copied under a task of another configuration is refused."""
    from segdend_lite.data import load_mnist

    task = next(t for t in tiny_tasks(tmp_path / "t", seeds=(0,), epochs=2) if t.condition == "h1")
    d = load_mnist("small", verbose=False)
    net = Network((500, 10), Config(), seed=0)
    folder = tmp_path / "adopted"
    fit(
        net,
        d.x_train[:300],
        d.y_train[:300],
        epochs=1,
        X_test=d.x_test[:200],
        y_test=d.y_test[:200],
        progress=False,
        checkpoint=folder / "checkpoint.npz",
    )
    out = run_task(replace(task, folder=str(folder)))
    assert out["epochs"] == 2
    assert "adopted" in json.loads((folder / "task.json").read_text())
    run_task(replace(task, folder=str(tmp_path / "straight")))
    same_weights(folder, tmp_path / "straight")
    h0 = next(t for t in tiny_tasks(tmp_path / "t", seeds=(0,)) if t.condition == "h0")
    elsewhere = tmp_path / "wrong"
    elsewhere.mkdir()
    save_checkpoint(net, elsewhere / "checkpoint.npz")
    with pytest.raises(TaskConflict, match=r"layer sizes: checkpoint \[500, 10\], task \[10\]"):
        run_task(replace(h0, folder=str(elsewhere)))
    # adopt(): checks first, copies, records provenance; refuses a mismatch and leaves nothing
    with pytest.raises(TaskConflict, match="layer sizes"):
        adopt(elsewhere, replace(h0, folder=str(tmp_path / "h0")))
    assert not (tmp_path / "h0" / "checkpoint.npz").exists()
    h1 = replace(task, folder=str(tmp_path / "h1"), epochs=2)
    adopt(elsewhere, h1, command="python -m segdend_lite train ...", commit="abc")
    info = json.loads((tmp_path / "h1" / "task.json").read_text())
    assert info["status"] == "adopted after 1 epochs" and info["runs"][0]["commit"] == "abc"
    assert run_task(h1)["epochs"] == 2
    same_weights(tmp_path / "h1", tmp_path / "straight")


# ------------------------------------------------------------------ where tasks run


def test_processes_and_dask_give_identical_results_and_failures_are_reported(tmp_path):
    """The same tiny tasks (rate mode, plus one spiking task and one broken task) through two
    local worker processes and through a Dask LocalCluster with two workers."""
    distributed = pytest.importorskip(
        "distributed", reason="dask.distributed is not installed (pip install '.[cluster]')"
    )
    assert distributed
    runs = {}
    for scheduler in ("processes", "local"):
        out = tmp_path / scheduler
        tasks = tiny_tasks(out) + [spiking_task(out)]
        broken = replace(
            tasks[0], condition="broken", options={"g_A": -1.0}, folder=str(out / "broken")
        )
        results = results_by_task(
            run_tasks(tasks + [broken], scheduler, workers=2, progress=False, log=lambda *a: None)
        )
        assert results[broken.key]["status"] == "failed"
        assert "g_A=-1.0" in results[broken.key]["error"]
        assert all(results[t.key]["status"] == "finished" for t in tasks)
        runs[scheduler] = (tasks, results)
    tasks, p = runs["processes"]
    _, d = runs["local"]
    assert len(tasks) == 7
    for t in tasks:
        assert without_seconds(p[t.key]["history"]) == without_seconds(d[t.key]["history"])
        rel = os.path.relpath(t.folder, tmp_path / "processes")
        same_weights(tmp_path / "processes" / rel, tmp_path / "local" / rel)
    assert p["fig6b/spiking/h1/seed0"]["history"]["hidden_rate_hz"][-1] > 0


def test_missing_dask_gives_a_clear_error(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name.startswith(("dask", "distributed")):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    with pytest.raises(RuntimeError, match=r"segdend-lite\[cluster\]"):
        run_tasks(tiny_tasks(tmp_path, seeds=(0,)), "local", progress=False)


def test_command_runs_skips_and_reports(tmp_path, capsys):
    out = tmp_path / "repro"
    args = [
        "reproduce",
        "fig6b",
        "fig5s1",
        "--mode",
        "rate",
        "--epochs",
        "1",
        "--seeds",
        "0",
        "--data",
        "small",
        "--train-images",
        "200",
        "--test-images",
        "100",
        "--probe-every",
        "100",
        "--workers",
        "1",
        "--no-progress",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "4 of 4 tasks done, 0 failed" in printed
    report = (out / "REPORT.md").read_text()
    assert "| one hidden layer (784-500-10) (`fig6b/rate/h1`) | 1 (60) | 0 |" in report
    assert "not comparable (1 of 60 epochs)" in report and "max eigenvalue" in report
    assert "python -m segdend_lite reproduce fig6b fig5s1" in report
    for name in ("fig6b_rate.png", "fig5s1_rate.png"):
        assert (out / "figures" / name).read_bytes()[:4] == b"\x89PNG"
    data = load_task_histories(out)
    assert sorted(data["fig6b"]["rate"]) == ["h0", "h1", "h2"]
    entry = data["fig6b"]["rate"]["h2"][0]
    assert entry["history"]["epoch"] == [0, 1] and entry["task"]["status"] == "finished"
    assert entry["task"]["runs"][0]["command"].startswith("python -m segdend_lite reproduce")
    assert data["fig5s1"]["rate"]["h1"][0]["probes"]["images"][0] == 0
    assert main(args) == 0  # again: everything is finished
    assert printed.count("finished") and "skipped" in capsys.readouterr().out
    assert main(args[:1] + ["fig6b", "--mode", "rate", "--set", "g_A", "--out", str(out)]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err


def test_report_marks_values_inside_and_outside_the_band(tmp_path):
    """Histories of 60 epochs written by hand-made tasks' folders (the report reads folders)."""
    for cond, final in (("h0", 8.5), ("h1", 5.0), ("h2", 3.1)):
        f = tmp_path / "fig6b" / "rate" / cond / "seed0"
        f.mkdir(parents=True)
        hist = {
            "epoch": list(range(61)),
            "test_error": [90.0] + [final] * 60,
            "seconds": [0.0] + [1.0] * 60,
            "images": list(range(61)),
        }
        (f / "history.json").write_text(json.dumps(hist))
    text = write_report(tmp_path, ["fig6b"], ["rate"]).read_text()
    assert "| 8.50 | 8.3 | 7.8–8.8 | yes |" in text
    assert "| 5.00 | 4.1 | 3.7–4.5 | no (0 of 1 seeds inside) |" in text
    assert "| 2 hidden layers beat 1 by >= 0.5 pp | h2 vs h1: 3.10 vs 5.00 | yes |" in text


def test_task_is_plain_data():
    t = Task("fig6b", "h1", 0, "rate", (500,))
    assert t.key == "fig6b/rate/h1/seed0" and t.identity()["layer_sizes"] == [500, 10]


def test_ctrl_c_stops_at_once_and_keeps_finished_epochs(tmp_path):
    import signal

    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "segdend_lite",
        "reproduce",
        "fig6b",
        "--mode",
        "rate",
        "--epochs",
        "3",
        "--seeds",
        "0",
        "--data",
        "small",
        "--train-images",
        "2000",
        "--test-images",
        "100",
        "--workers",
        "1",
        "--no-progress",
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(
        cmd,
        start_new_session=True,  # its own process group, like a terminal's foreground job
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        stderr=subprocess.PIPE,
        text=True,
    )
    history = out / "fig6b" / "rate" / "h0" / "seed0" / "history.json"
    deadline = time.time() + 120
    while not history.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does
    t0 = time.time()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "run the same command again" in err
    assert time.time() - t0 < 10
    assert not (out / "fig6b" / "rate" / "h1").exists()  # queued tasks were not started
    assert load_checkpoint(history.parent / "checkpoint.npz").history["epoch"][-1] >= 1


def test_one_condition_can_be_named(tmp_path):
    """``fig6b/h1`` makes the one-hidden-layer task of Fig. 6B only; a bad condition names the
    experiment's conditions; naming the experiment as well runs all its conditions."""
    from segdend_lite.reproduce import make_tasks

    tasks, _ = make_tasks(["fig6b/h1"], tmp_path, mode="spiking", seeds=(0,))
    assert [t.key for t in tasks] == ["fig6b/spiking/h1/seed0"]
    tasks, _ = make_tasks(["fig6b/h1", "fig6b"], tmp_path, mode="spiking", seeds=(0,))
    assert sorted(t.condition for t in tasks) == ["h0", "h1", "h2"]
    with pytest.raises(ValueError, match="h0, h1, h2"):
        make_tasks(["fig6b/h9"], tmp_path, seeds=(0,))


def test_a_task_folder_in_the_old_format_resumes_through_the_command(tmp_path):
    """A fig7a folder written before the one history format (probes.json a list of dicts with
    whole epochs and ``angle_deg``) is resumed by ``reproduce --out``, to the weights and
    probes of an uninterrupted run; scripts/convert_histories.py converts it the same way."""
    import importlib.util
    import math
    import shutil
    from pathlib import Path

    out = tmp_path / "results"
    (task,) = tiny_tasks(out, experiments=["fig7a"], seeds=(0,))
    run_task(replace(task, epochs=2, folder=str(tmp_path / "straight")))
    run_task(replace(task, epochs=1))
    folder = Path(task.folder)
    new = json.loads((folder / "probes.json").read_text())
    old = [
        {"epoch": math.ceil(e), "images": i, "angle_deg": a}
        for e, i, a in zip(new["epoch"], new["images"], new["angle_to_bp"])
    ]
    (folder / "probes.json").write_text(json.dumps(old))
    spec = importlib.util.spec_from_file_location(
        "convert", Path(__file__).resolve().parents[1] / "scripts" / "convert_histories.py"
    )
    convert = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(convert)
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    assert convert.main(["--check", str(copy)]) == 1
    assert convert.main([str(copy)]) == 0 and convert.main(["--check", str(copy)]) == 0
    converted = json.loads(next(copy.rglob("probes.json")).read_text())
    kept = ("epoch", "images", "angle_to_bp")  # what the old probes recorded
    assert all(converted[k] == new[k] for k in kept)
    args = ["reproduce", "fig7a", "--mode", "rate", "--seeds", "0", "--epochs", "2"]
    args += ["--data", "small", "--train-images", "300", "--test-images", "200"]
    args += ["--probe-every", "100", "--workers", "1", "--no-progress", "--out", str(out)]
    assert main(args) == 0
    same_weights(tmp_path / "straight", folder)
    a = json.loads((tmp_path / "straight" / "probes.json").read_text())
    b = json.loads((folder / "probes.json").read_text())
    assert all(a[k][:4] == b[k][:4] for k in kept) and len(b["images"]) == 7
    for k in a:  # epoch 2, all measured (the worker's one BLAS thread: angles to 1e-7)
        if k not in ("seconds", "angle_to_bp"):
            assert a[k][4:] == b[k][4:], k
    np.testing.assert_allclose(a["angle_to_bp"][4:], b["angle_to_bp"][4:], rtol=1e-7)


def test_the_registry_is_one_consistent_set_of_data():
    from segdend_lite.reproduce.registry import ALL, EXPERIMENTS, QUESTIONS, lookup, validate

    validate()
    assert "topology" in EXPERIMENTS and "topology" not in ALL  # not a result of the paper
    assert (
        QUESTIONS["sparse_feedback"].paper_text().startswith("80 % of Y zero, the rest x5: 3.7 %")
    )
    exp, cond = lookup("fig8/sparse")
    assert dict(cond.options) == {"sparse_feedback": 0.8} and cond.paper == (3.7, 0.4)
    # the report's relations are data: Fig. 9's, evaluated on numbers
    rel = {r.claim: r for r in EXPERIMENTS["fig9"].relations}
    assert rel["g_A = 0.05 within 0.3 pp of g_A = 0"].holds(3.4, 3.2)
    assert not rel["g_A = 0.6 >= 1 pp worse than g_A = 0"].holds(4.0, 3.2)


def test_estimate_measures_and_trains_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    args = ["reproduce", "fig6b/h0", "fig6b/h1", "--mode", "rate", "--seeds", "0"]
    args += ["--data", "small", "--estimate", "--estimate-images", "50", "--workers", "2"]
    assert main(args + ["--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "fig6b/rate/h0/seed0" in text and "fig6b/rate/h1/seed0" in text
    total = float(text.split("total: ")[1].split(" core-hours")[0])
    assert total > 0 and "wall time with 2 workers" in text and "train ms/img" in text
    assert not out.exists()  # nothing trained, no folder made


def test_docs_experiments_page_is_written_from_the_registry():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "write_experiments_doc.py"
    spec = importlib.util.spec_from_file_location("write_experiments_doc", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main(["--check"]) == 0, "run `make docs` and commit docs/experiments.md"
    assert "| 3.7 | 3.3–4.1 |" in mod.page()  # fig8/sparse, from experiments.json
