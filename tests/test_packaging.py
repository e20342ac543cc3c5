"""The set-up files agree with each other."""

from __future__ import annotations

import re
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    from pip._vendor import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _environment() -> list[str]:
    """Every entry under ``dependencies:`` in environment.yml, nested ``pip:`` entries included."""
    import yaml  # PyYAML comes with JupyterLab (jupyter-events)

    entries = []
    for dep in yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]:
        entries += [str(d) for d in dep["pip"]] if isinstance(dep, dict) else [str(dep)]
    return entries


def test_environment_yml_names_every_runtime_dependency():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    listed = {_name(entry) for entry in _environment()}
    missing = sorted(_name(d) for d in deps if _name(d) not in listed)
    assert not missing, f"environment.yml lacks {missing}; add them under dependencies"


def test_environment_yml_does_not_install_the_repository():
    # repo2docker builds this environment before the repository's files are in the image
    for entry in _environment():
        e = entry.strip()
        assert not (
            e.startswith(("-e", ".", "/", "file:", "git+"))
            or "segdend" in e.lower()
            or e in (".", "./")
        ), f"environment.yml installs the repository ({e!r}): leave that to postBuild"


def test_environment_yml_pins_one_python_minor_version():
    pythons = [e for e in _environment() if _name(e) == "python"]
    assert len(pythons) == 1, f"name python once in environment.yml, found {pythons}"
    found = re.fullmatch(r"python\s*=\s*3\.(\d+)", pythons[0].strip())
    assert found, f"{pythons[0]!r}: repo2docker needs one minor version, e.g. python=3.11"
    lowest = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert int(found.group(1)) >= int(lowest.split(".")[1]), f"below requires-python {lowest}"


def test_postbuild_installs_the_package():
    post = ROOT / "postBuild"
    assert post.is_file(), "Binder installs the package in a top-level postBuild"
    assert not (ROOT / "binder").exists(), (
        "a binder/ folder makes repo2docker ignore the top-level environment.yml and postBuild"
    )
    assert post.stat().st_mode & 0o111, "postBuild must be executable (chmod +x postBuild)"
    text = post.read_text()
    assert text.startswith("#!") and "set -e" in text
    commands = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    installs = [c for c in commands if re.search(r"pip install\b.*\s\.$", c)]
    assert installs, f"postBuild must `pip install` the repository (.): {commands}"
    assert all("--no-deps" in c for c in installs), "dependencies come from environment.yml"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make test" in ci
    assert "|| true" not in ci and "set -e" in ci
