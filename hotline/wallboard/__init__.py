"""The supervisor's live wallboard (监控大屏): what the wall shows, built from the live state
(waiting calls, agents, callbacks) and the KPIs of the stored records (``kpi/``).

- ``alerts``: the alert rules (``alerts.yaml``, validated) and the pure checks that turn
  figures into alerts (service level of the last 15 minutes, rolling 24-hour connect rate,
  hot topics, long waits);
- ``board``: pure assembly: KPI figures from the facts (through ``kpi.definitions``), then
  the snapshot (a JSON-able dict) from waiting calls, agent records, figures and rules;
- ``live``: ``LiveWallboard``, the snapshot over callables the composition root gives (the
  live state reader, the stored records' loader, the queue policies, a clock, a change feed),
  with the KPI part cached so a wall refreshing twice a second does not reload the day.

The HTTP API reads it through ``hotline.api.ports_wallboard.Wallboard``.
"""
