"""A task's *setting*: what must be the same for results to be compared, whatever the mode.

The setting is the data (``--data``), the training and test image counts (``--train-images``,
``--test-images``) and the ``Config`` fields set for every task (``--set KEY=VALUE``). Every
task of one output folder has the folder's setting (:mod:`.folder`); the mode, the condition,
the seed and the epochs may differ (they are part of the task's path or its history).

``--set`` values are read with the type of their ``Config`` field: numbers, whole numbers,
``true``/``false``, ``None`` where the field allows it, names, and for the learning rates
``lr`` a comma-separated list (``--set lr=0.21,0.21``, one rate per weight layer).
"""

from __future__ import annotations

import dataclasses
import json
import math
import shlex
from collections.abc import Iterable

from segdend_lite.model.config import Config

#: The parts of a setting, in the order differences are named.
KEYS = ("data", "train_images", "test_images", "set")
#: How each part is given on the command line.
FLAGS = {
    "data": "--data",
    "train_images": "--train-images",
    "test_images": "--test-images",
    "set": "--set",
}
_TRUE, _FALSE, _NONE = ("true", "yes", "1"), ("false", "no", "0"), ("none", "null")


def make_setting(data, train_images, test_images, options: dict | None) -> dict:
    """The setting of tasks made with these arguments (``options``: the ``--set`` values), in
    the form it has in JSON files (tuples as lists)."""
    return json.loads(
        json.dumps(
            {
                "data": data,
                "train_images": train_images,
                "test_images": test_images,
                "set": dict(sorted((options or {}).items())),
            }
        )
    )


def parse_set(items: Iterable[str] | None) -> dict:
    """``--set KEY=VALUE`` items as ``Config`` field values (see the module docstring); a
    ValueError names the item, the field's type and an example."""
    fields = {f.name: f for f in dataclasses.fields(Config)}
    options = {}
    for item in items or ():
        if "=" not in item:
            raise ValueError(f"--set {item!r}: write KEY=VALUE, e.g. --set init=authors_code")
        key, text = (s.strip() for s in item.split("=", 1))
        if key == "mode":
            raise ValueError("--set mode: use --mode for the mode")
        if key not in fields:
            raise ValueError(
                f"--set {key}: not a Config field; the fields are "
                f"{', '.join(sorted(set(fields) - {'mode'}))}"
            )
        options[key] = parse_value(key, text, str(fields[key].type))
    return options


def parse_value(key: str, text: str, kind: str):
    """``text`` as a value of the ``Config`` field ``key`` of type ``kind`` (its annotation)."""
    low = text.lower()
    optional = kind.endswith("| None")
    if optional and low in _NONE:
        return None
    base = kind.removesuffix("| None").strip()
    if base == "str":
        return text
    if base == "bool":
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ValueError(f"--set {key}={text}: {key} is true or false")
    if base == "int":
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"--set {key}={text}: {key} is a whole number (e.g. 50)") from None
    if base == "float":
        return _number(key, text, "a number (e.g. 0.05)" + (" or None" if optional else ""))
    if base.startswith("tuple["):
        parts = [p for p in text.replace(" ", ",").split(",") if p]
        if not parts:
            raise ValueError(f"--set {key}={text}: give numbers separated by commas")
        return tuple(
            _number(
                key,
                p,
                "numbers separated by commas, one per weight layer, first hidden "
                "layer first (e.g. lr=0.21,0.21 for one hidden layer)",
            )
            for p in parts
        )
    raise ValueError(f"--set {key}: fields of type {kind} cannot be set from the command line")


def _number(key: str, text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"--set {key}={text}: {key} takes {what}") from None
    if not math.isfinite(value):
        raise ValueError(f"--set {key}={text}: {key} must be a finite number")
    return value


def setting_of(info: dict | None) -> dict | None:
    """The setting a task's ``task.json`` (parsed) records; for a task.json written before
    settings were recorded, the setting read from its identity (data, image counts) and from
    the ``--set`` options of the first ``reproduce`` command in its record (or, without one,
    the configuration fields that differ from the defaults of its condition). None if it
    cannot be told."""
    if not isinstance(info, dict):
        return None
    if isinstance(info.get("setting"), dict):
        return info["setting"]
    ident = info.get("identity")
    if not isinstance(ident, dict):
        return None
    options = _options_of_commands(info.get("runs") or [])
    if options is None:
        options = _options_of_config(info)
    return make_setting(
        ident.get("data"), ident.get("train_images"), ident.get("test_images"), options
    )


def _options_of_commands(runs) -> dict | None:
    for run in runs:
        command = run.get("command") if isinstance(run, dict) else None
        if not isinstance(command, str) or " reproduce " not in f" {command} ":
            continue
        try:
            words = shlex.split(command)
            items = [
                w.split("=", 1)[1] if w.startswith("--set=") else words[i + 1]
                for i, w in enumerate(words)
                if w == "--set" or w.startswith("--set=")
            ]
            return parse_set(items)
        except (ValueError, IndexError):
            return None
    return None


def _options_of_config(info: dict) -> dict | None:
    from segdend_lite.reproduce.registry import EXPERIMENTS

    try:
        cond = EXPERIMENTS[info["experiment"]].condition(info["condition"])
        have = info["identity"]["config"]
        default = json.loads(Config(mode=info["mode"], **dict(cond.options)).to_json())
    except (KeyError, TypeError, ValueError):
        return None
    return {k: v for k, v in have.items() if k not in dict(cond.options) and default.get(k) != v}


def differences(have: dict, want: dict, have_name: str, want_name: str) -> list[str]:
    """The parts in which two settings differ, one ``"--flag: A, B"`` each (``--set`` per
    field); a part None in either (not known) is not compared."""
    out = []
    for key in KEYS:
        a, b = have.get(key), want.get(key)
        if key == "set":
            if a is None or b is None:
                continue
            for k in sorted(set(a) | set(b)):
                if a.get(k) != b.get(k):
                    out.append(f"--set {k}: {have_name} {_show(a, k)}, {want_name} {_show(b, k)}")
        elif a != b:
            out.append(f"{FLAGS[key]}: {have_name} {_text(a)}, {want_name} {_text(b)}")
    return out


def _show(options: dict, key: str) -> str:
    return _text(options[key]) if key in options else "not set"


def _text(value) -> str:
    if value is None:
        return "not given"
    if isinstance(value, list):
        return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    return repr(value) if isinstance(value, str) else str(value)


__all__ = ["KEYS", "differences", "make_setting", "parse_set", "parse_value", "setting_of"]
