"""The package's structure: no import cycles (function-level imports included), no module using
another module's private (underscore) names, each equation of the learning rule in one place."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import segdend_lite

PACKAGE = Path(segdend_lite.__file__).parent
ROOT = PACKAGE.parent


def _modules() -> dict[str, Path]:
    """Module name -> file, for every module of the package."""
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(path: Path, name: str, modules) -> list[tuple[str, list[str]]]:
    """(imported package module, names taken from it) for every import statement in the file,
    at any depth (functions included); relative imports resolved."""
    out = []
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names if a.name.startswith("segdend_lite")]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")
                base = ".".join(up[: len(up) - node.level + 1] + ([base] if base else []))
            if not base.startswith("segdend_lite"):
                continue
            for a in node.names:  # "from pkg import module" imports the module itself
                sub = f"{base}.{a.name}"
                out.append((sub, []) if sub in modules else (base, [a.name]))
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {m: set() for m in modules}
    for name, path in modules.items():
        for target, _ in _imports(path, name, modules):
            if target in modules and target != name:
                graph[name].add(target)
    return graph


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                return stack[stack.index(n) :] + [n]
            if n not in state:
                found = visit(n)
                if found:
                    return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return None


def test_no_import_cycles():
    graph = _graph()
    assert "segdend_lite.model.network" in graph and graph["segdend_lite.model.network"]
    cycle = _find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_cycle_finder_finds_a_cycle():
    """The checker itself can fail: a made-up graph with a cycle through a lazy import."""
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_imports_private_names_of_another():
    modules = _modules()
    bad = []
    for name, path in modules.items():
        for target, names in _imports(path, name, modules):
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if target != name and (private or target.rpartition(".")[2].startswith("_")):
                bad.append(f"{name} imports {private or target} from {target}")
        # attribute access on another object, obj._name (self._x and cls._x are an object's
        # own; numpy's internals are not ours)
        text = path.read_text()
        for m in re.finditer(r"\b(?!self\b|cls\b|np\b|numpy\b)([A-Za-z_]\w*)\._[a-z]\w*", text):
            bad.append(f"{name}: {m.group(0)}")
    assert not bad, "\n".join(bad)


def test_output_error_formula_is_written_once_in_the_package():
    """``phi_max (r_t - phi_max sigma(V_f))``-style output error: only learning.py writes it."""
    pattern = re.compile(r"k_D\s*\*\s*phi(_max)?\s*\*\s*\(")
    found = [p.name for p in PACKAGE.rglob("*.py") if pattern.search(p.read_text())]
    allowed = {"learning.py"}
    assert set(found) <= allowed and "learning.py" in found, found


# ------------------------------------------------------- one spiking loop, the fast engine apart

ENGINE = ("fast", "coupled", "draws", "blocks")  # the fast engine's modules (segdend_lite.model)
#: The equations the step loop applies once per step; an engine calling them copies the loop.
PER_STEP = {
    "euler_soma_step",
    "euler_output_step",
    "teaching_current",
    "basal_potential",
    "apical_potential",
    "feedback_signal",
    "simulate_phase",
}


def _normalized_lines(fn: ast.FunctionDef) -> set[str]:
    """The statements of a function as text, each variable name replaced by ``_`` (attribute
    and called names kept), so that a copy with renamed variables still matches; statements
    shorter than 12 characters (``t += 1``) are left out."""

    class Rename(ast.NodeTransformer):
        def visit_Name(self, node):
            return ast.copy_location(ast.Name(id="_", ctx=node.ctx), node)

    out = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.stmt) and not isinstance(
            node, (ast.FunctionDef, ast.For, ast.If, ast.While, ast.With)
        ):
            text = ast.unparse(Rename().visit(ast.parse(ast.unparse(node))))
            if len(text) >= 12:
                out.add(text)
    return out


def _functions(module: str) -> dict[str, ast.FunctionDef]:
    tree = ast.parse((PACKAGE / "model" / f"{module}.py").read_text())
    return {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}


def _shared_with_step_loop(module: str) -> dict[str, set[str]]:
    loop = _normalized_lines(_functions("step")["simulate_phase"])
    return {name: loop & _normalized_lines(fn) for name, fn in _functions(module).items()}


def test_the_fast_engine_has_no_copy_of_the_step_loop():
    """The step loop (``step.simulate_phase``) is written once: no function of the fast engine
    shares more than 3 of its statements (variables renamed alike), nor calls the equations the
    loop applies per step."""
    for module in ENGINE:
        for name, shared in _shared_with_step_loop(module).items():
            assert len(shared) <= 3, f"{module}.{name} repeats the step loop: {sorted(shared)}"
        called = {
            n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", "")
            for fn in _functions(module).values()
            for n in ast.walk(fn)
            if isinstance(n, ast.Call)
        }
        assert not called & PER_STEP, f"{module} calls {sorted(called & PER_STEP)}"


def test_the_copy_finder_finds_a_copy():
    """The checker itself can fail: the step loop with its variables renamed is found."""
    src = ast.unparse(_functions("step")["simulate_phase"])
    for old, new in (("st", "state"), ("V_b", "basal"), ("s_t", "psps"), ("counts", "n_spk")):
        src = re.sub(rf"\b{old}\b", new, src)
    copy = ast.parse(src).body[0]
    loop = _normalized_lines(_functions("step")["simulate_phase"])
    assert len(loop & _normalized_lines(copy)) > 20


def test_the_model_does_not_import_the_fast_engine():
    """The fast engine imports from the model, never the reverse: only the dispatcher
    ``spiking`` (the engines' entry points) imports it."""
    graph = _graph()
    engine = {f"segdend_lite.model.{m}" for m in ENGINE}
    for module in ("step", "neuron", "spiking_state", "learning", "network", "rate", "config"):
        name = f"segdend_lite.model.{module}"
        assert not graph[name] & engine, f"{module} imports {sorted(graph[name] & engine)}"
    assert "segdend_lite.model.step" not in graph["segdend_lite.model.fast"]
