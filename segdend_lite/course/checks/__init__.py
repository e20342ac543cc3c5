"""Self-checks for the course's exercises: ``check``, ``check_prediction``, ``hint``, ``progress``.

In a notebook, under the cell where you write a function::

    hidden_delta = check("hidden_delta", hidden_delta)

runs your function and the library's reference on several inputs and prints one line: passed;
"not attempted yet" for an untouched stub; or what is wrong, found by comparing your output with
known mistakes (a missing factor, a flipped sign, the wrong matrix). It returns your function if
it passes, otherwise the library's reference (and says so), so the later cells of the notebook
always run, and run *your* code once it is right.

Predict-then-run exercises: write a prediction before a run, then
``check_prediction("name", name, observed)`` compares it with what the run showed and explains.

``hint(name, level)`` prints tiered hints: 1, 2, then 3 = the solution, read from the course
notebook's ``### BEGIN SOLUTION`` / ``### END SOLUTION`` markers (via the generated
``solutions.json``, see ``scripts/build_exercises.py``). In the student notebooks
(``exercises/``, which call ``record_progress()``), attempts are remembered in a small JSON file
(``~/.segdend_lite/progress.json``, or ``$SEGDEND_PROGRESS_FILE``); ``progress()`` lists them.
Running the course notebooks (``notebooks/``, with their solutions) records nothing.

Strict mode (``SEGDEND_STRICT_CHECKS=1``, set by ``make test``): an attempted but wrong solution
raises ``AssertionError`` with the verdict, so a wrong solution in ``notebooks/`` fails the
suite; an untouched stub never raises, so the student notebooks still run to the end.

The exercises themselves (references, test inputs, known mistakes, hints) are declared in one
small file per notebook, ``segdend_lite/course/catalog/nbNN.py``, with :func:`register`. This
package holds only the machinery, no solutions and no copy of any equation, one concern per
module: :mod:`.registry` (what an exercise is, the catalogue), :mod:`.compare` (comparing a
result with the reference's, the generic mistakes), :mod:`.verdicts` (``check``,
``check_prediction``, strict mode), :mod:`.hints` and :mod:`.progress`.
"""

from segdend_lite.course.checks.compare import GENERIC_MISTAKES, same
from segdend_lite.course.checks.hints import hint, hint_text, solutions
from segdend_lite.course.checks.progress import progress, progress_file, record_progress
from segdend_lite.course.checks.registry import (
    Exercise,
    Prediction,
    Verdict,
    catalogue,
    register,
)
from segdend_lite.course.checks.verdicts import (
    FALLBACK,
    STRICT_ENV,
    check,
    check_prediction,
    strict,
    verdict,
)

__all__ = [
    "Exercise",
    "Prediction",
    "Verdict",
    "register",
    "catalogue",
    "check",
    "check_prediction",
    "verdict",
    "hint",
    "hint_text",
    "solutions",
    "progress",
    "progress_file",
    "record_progress",
    "same",
    "strict",
    "GENERIC_MISTAKES",
    "FALLBACK",
    "STRICT_ENV",
]
