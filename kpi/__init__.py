"""Exact KPIs and reports of the 12345 hotline, computed from the stored call records and
their events, never from Asterisk's counters (issue 16, points 1 and 2).

Pure: no database, no clock, no file. ``kpi.facts`` turns stored rows (or the simulator's
``CallRecord`` and ``CallEvent`` objects: the same code path) into one frozen value per
call; ``kpi.definitions`` holds every KPI as data with its numerator, denominator and rule;
``kpi.report`` builds the daily or period report in the shape of the city's holiday report;
``kpi.export`` writes and reads it as JSON and CSV text. The shell loads the facts
(``hotline/store/kpi_source.py``) and draws the charts (``hotline/reports/charts.py``).
"""
