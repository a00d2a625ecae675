"""The controller's Prometheus endpoint and its structured logs on a real instance: after a
real call, ``GET /metrics`` (with the metrics token) shows the agents per state, the calls
waiting per line, the last 15 minutes' service level per line from the stored records, and
the controller's own state; without the token it is refused; the call's log lines carry its
call id."""
from __future__ import annotations

import os
import re

import httpx
import pytest

from hotline.metrics import load_metrics_token
from tests.integration.harness import Hotline

pytestmark = pytest.mark.asterisk


def test_metrics_after_a_real_call_and_the_call_id_on_its_log_lines(fresh: Hotline) -> None:
    fresh.agent_phone("2002")
    fresh.desk("log_in", "2002")
    caller = fresh.call("13700000901", digits="1", hold_ms=3000)
    assert caller.wait(timeout=60) == 0, caller.errors()
    rec = fresh.record("13700000901")
    url = f"http://127.0.0.1:{fresh.settings.http_port}/metrics"
    assert httpx.get(url, timeout=10).status_code == 401
    token = load_metrics_token(fresh.settings.var_dir, dict(os.environ))
    reply = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/plain"), reply.text
    text = reply.text
    on_shift = sum(float(v) for v in re.findall(r'^hotline_agents\{state="(?:available|wrap_up)"\} ([0-9.]+)$',
                                                 text, re.M))
    assert on_shift >= 1, text  # 2002 at least (earlier tests may have left others on shift)
    assert re.search(r"^hotline_ami_connected 1\.0$", text, re.M) and re.search(r"^hotline_router_leader 1\.0$",
                                                                                text, re.M)
    level = re.search(r'^hotline_service_level_15m\{line="main"\} ([0-9.]+)$', text, re.M)
    assert level and 0.0 < float(level.group(1)) <= 1.0, text  # our call answered at once is in it
    lines = [line for line in fresh.controller_log(tail=200_000).splitlines() if f"[{rec['call_id']}]" in line]
    assert any("call ended: answered" in line for line in lines), fresh.controller_log(tail=3000)
