"""recordings: one file per call, named by the call id."""
import pytest

from recordings import recording_path


def test_recording_path_is_one_file_per_call_and_refuses_odd_ids() -> None:
    assert recording_path("/srv/hotline/main", "hotline-main-1.5") == "/srv/hotline/main/recordings/hotline-main-1.5.wav"
    for bad in ("", "../etc/passwd", ".hidden"):
        with pytest.raises(ValueError):
            recording_path("/srv/hotline/main", bad)
