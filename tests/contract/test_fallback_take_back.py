"""Callers waiting in the fallback queue are taken back by a live controller, oldest first,
each once (hotline/sessions/take_back.py); one never saved is put in line at its arrival."""
from __future__ import annotations

import calls
from hotline.sessions.take_back import FallbackTakeBack, order_of, unsaved_call


def test_the_order_is_the_channel_creation_then_its_sequence() -> None:
    assert order_of("hotline-itest-1796016370.6") == (1796016370.0, 6)
    ids = ["hotline-x-1796016371.2", "hotline-x-1796016370.12", "hotline-x-1796016370.9", "junk"]
    assert sorted(ids, key=order_of) == ["hotline-x-1796016370.9", "hotline-x-1796016370.12",
                                         "hotline-x-1796016371.2", "junk"]


def test_a_call_never_saved_waits_on_its_flows_fallback_queue_from_its_arrival() -> None:
    from hotline.config import load_config
    from hotline.settings import from_env

    flows = load_config(from_env({})).flows
    call = unsaved_call("hotline-x-1796016370.6", "13800000001", "12349", flows)
    assert (call.state, call.queue, call.queued_at, call.arrived_at) == (calls.CallState.QUEUED, "main",
                                                                          1796016370.0, 1796016370.0)


async def test_every_waiting_caller_is_taken_back_oldest_first_and_once() -> None:
    waiting = {"h-1796016372.3": "PJSIP/trunk-3", "h-1796016370.1": "PJSIP/trunk-1"}
    moved: list[str] = []

    async def in_fallback() -> dict[str, str]:
        return dict(waiting)

    async def redirect(channel: str) -> None:
        moved.append(channel)

    take = FallbackTakeBack(in_fallback, redirect)
    assert await take.sweep() == 2 and moved == ["PJSIP/trunk-1", "PJSIP/trunk-3"]
    waiting["h-1796016375.4"] = "PJSIP/trunk-4"
    assert await take.sweep() == 1 and moved[-1] == "PJSIP/trunk-4"  # the others not again


async def test_a_refused_redirect_or_an_unknown_list_changes_nothing_else() -> None:
    async def broken() -> dict[str, str]:
        raise ConnectionError("AMI away")

    async def refuse(channel: str) -> None:
        raise RuntimeError("no such channel")

    async def one() -> dict[str, str]:
        return {"h-1.1": "PJSIP/trunk-1"}

    assert await FallbackTakeBack(broken, refuse).sweep() == 0
    assert await FallbackTakeBack(one, refuse).sweep() == 0
