"""The reports' shell: PNG charts (``charts``) and the ``hotline report`` command's work
(``command``). The figures themselves are computed by the pure core in ``kpi/``."""
