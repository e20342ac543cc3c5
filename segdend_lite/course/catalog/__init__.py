"""The exercises of each course notebook, one small file per notebook (``nb01.py``, ...).

Each file calls :func:`segdend_lite.course.checks.register` with the notebook's exercises: the
library function that is the reference, test inputs, the known mistakes (as small functions over
the library's, with one sentence each) and two levels of hints. :func:`~segdend_lite.course.checks
.catalogue` imports these files on first use, so nothing here runs at ``import segdend_lite``.
"""
