"""recordings: file names and the Dial option that records from the answer."""
from __future__ import annotations

import pytest

from recordings import record_on_answer, recording_path


def test_recording_is_named_by_call_id_inside_the_instance() -> None:
    assert recording_path("/srv/hotline/main", "hotline-1700000000.12") == \
        "/srv/hotline/main/recordings/hotline-1700000000.12.wav"


@pytest.mark.parametrize("call_id", ["", "../etc", "a/b", ".hidden"])
def test_call_ids_that_would_escape_the_folder_are_refused(call_id: str) -> None:
    with pytest.raises(ValueError):
        recording_path("/srv/hotline/main", call_id)


def test_dial_option_runs_the_record_context_on_the_answering_leg() -> None:
    assert record_on_answer("/srv/h/recordings/x.1.wav") == "U(hotline-record^/srv/h/recordings/x.1.wav)"


@pytest.mark.parametrize("path", ["/a,b.wav", "/a)b.wav", "/a^b.wav", "/a|b.wav", "/a;b.wav", "/a.gsm"])
def test_paths_that_would_break_the_dial_string_are_refused(path: str) -> None:
    with pytest.raises(ValueError):
        record_on_answer(path)
