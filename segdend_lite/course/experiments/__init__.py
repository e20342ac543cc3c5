"""The paper's experiments as short runs a student can change (notebooks 07 and 08).

The questions a student explores are :data:`QUESTIONS` of the one experiment registry
(``segdend_lite.reproduce.registry``): each names the :class:`~segdend_lite.Config` option it
varies, the values the paper used (each selecting a condition such as ``fig8/sparse``, with
its network, options, the paper's result and its stored run). :func:`make_network` builds the
network for one value, :func:`run_curve` trains it for a number of images, chunk by chunk
(``segdend_lite.runs.train_chunks``, the loop ``reproduce`` uses too), and records a learning
curve; :func:`load_stored` reads a stored run (with its provenance) from the package's results
(``segdend_lite.runs.store``); :func:`experiment_widget` puts the three together.

The modules, one idea each: :mod:`.questions` (a question's value as a network),
:mod:`.curves` (learning curves: recorded, drawn), :mod:`.stored` (the stored runs),
:mod:`.soma` (Fig. 9's mechanism), :mod:`.widget` (notebook 08's widget) and
:mod:`.representation_widget` (notebook 07's). The notebooks use them through this package.
"""

from segdend_lite.course.experiments.curves import (
    curves_figure,
    last_test,
    run_curve,
    smooth,
)
from segdend_lite.course.experiments.questions import (
    as_question,
    experiment_config,
    layer_sizes,
    make_network,
    value_label,
)
from segdend_lite.course.experiments.representation_widget import (
    embedding_figure,
    field_pair_figure,
    representation_widget,
)
from segdend_lite.course.experiments.soma import (
    soma_traces,
    soma_traces_figure,
)
from segdend_lite.course.experiments.stored import (
    KERNEL_LABELS,
    describe,
    show_stored,
    stored_run,
)
from segdend_lite.course.experiments.widget import (
    experiment_figure,
    experiment_run,
    experiment_widget,
)
from segdend_lite.reproduce.registry import QUESTIONS, Question
from segdend_lite.runs.store import load_stored, stored_epochs, stored_names

__all__ = [
    "KERNEL_LABELS",
    "QUESTIONS",
    "Question",
    "as_question",
    "curves_figure",
    "describe",
    "embedding_figure",
    "experiment_config",
    "experiment_figure",
    "experiment_run",
    "experiment_widget",
    "field_pair_figure",
    "last_test",
    "layer_sizes",
    "load_stored",
    "make_network",
    "representation_widget",
    "run_curve",
    "show_stored",
    "smooth",
    "soma_traces",
    "soma_traces_figure",
    "stored_epochs",
    "stored_names",
    "stored_run",
    "value_label",
]
