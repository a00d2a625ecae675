"""Property-based: hotline.asterisk.agi_protocol takes any bytes a peer may send without a stray
exception (only AgiProtocolError), and reads well-formed FastAGI lines back exactly."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.asterisk.agi_protocol import (
    AgiProtocolError,
    AgiResult,
    build,
    parse_headers,
    parse_result,
    quote,
)

AGI = settings(max_examples=200, deadline=None)

# Text on one line: no control characters (\r, \n, \x1c..., \x85) nor line/paragraph separators,
# which str.splitlines() would break on.
one_line = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=40)
# What Asterisk writes: ASCII digits; plus the digits, superscripts and letters int() and
# str.isdigit() disagree about.
tricky = st.text(alphabet="0123456789 -=()²³¹٠١٢٣٤٥٦٧٨٩０１２３４５６７８９\u3000\t\r\nresultHANGUP", max_size=30)


def read(line: str) -> AgiResult | None:
    """parse_result, with the one error it may raise; the result's properties are read too."""
    try:
        result = parse_result(line)
    except AgiProtocolError:
        return None
    assert isinstance(result.ok, bool) and isinstance(result.channel_gone, bool)
    assert result.digit == "" or (len(result.digit) == 1 and result.digit.isascii())
    return result


@AGI
@given(line=st.one_of(st.text(max_size=80), tricky, tricky.map(lambda t: "200 result=" + t)))
def test_any_result_line_is_a_result_or_a_protocol_error(line: str) -> None:
    result = read(line)
    if result is not None:
        assert 100 <= result.code <= 999
        assert line.strip()[:3] == str(result.code)


@AGI
@given(raw=st.binary(max_size=120))
def test_any_bytes_read_as_the_server_does_are_a_result_or_a_protocol_error(raw: bytes) -> None:
    read(raw.decode("utf-8", "replace").rstrip("\r\n"))


@AGI
@given(block=st.one_of(st.binary(max_size=200),
                       st.lists(st.sampled_from([b"agi_network_script: call", b"agi_x: y", b"", b"\xff",
                                                 b"Host: x", b"agi_a:b", b"agi_", b"\r"]),
                                max_size=8).map(b"\n".join)))
def test_any_header_block_is_headers_or_a_protocol_error(block: bytes) -> None:
    try:
        headers = parse_headers(block)
    except AgiProtocolError:
        return
    assert "agi_network_script" in headers
    assert all(key.startswith("agi_") for key in headers)


@AGI
@given(code=st.integers(-1, 255), data=st.none() | st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"),
                                                                       blacklist_characters=")"), max_size=30),
       endpos=st.none() | st.integers(0, 10**9), eol=st.sampled_from(["", "\n", "\r\n"]))
def test_well_formed_200_lines_round_trip(code: int, data: str | None, endpos: int | None, eol: str) -> None:
    line = f"200 result={code}"
    if data is not None:
        line += f" ({data})"
    if endpos is not None:
        line += f" endpos={endpos}"
    result = parse_result(line + eol)
    assert (result.code, result.result) == (200, str(code))
    assert result.data == (data or "")
    assert result.digit == (chr(code) if 0 < code < 128 else "")
    assert result.channel_gone is (code == -1 or result.data == "hangup")


@AGI
@given(code=st.integers(100, 999).filter(lambda c: c != 200), sep=st.sampled_from([" ", "-"]),
       text=one_line.filter(str.strip))  # Asterisk always says something after the code
def test_other_codes_round_trip_with_their_text(code: int, sep: str, text: str) -> None:
    result = parse_result(f"{code}{sep}{text}\n")
    assert (result.code, result.result, result.ok) == (code, "", False)
    assert result.text == (f"{code}{sep}{text}".strip())[4:]


@AGI
@given(headers=st.dictionaries(st.from_regex(r"agi_[a-z0-9_]{1,12}", fullmatch=True), one_line, max_size=12),
       script=one_line, eol=st.sampled_from(["\n", "\r\n"]))
def test_well_formed_header_blocks_round_trip(headers: dict[str, str], script: str, eol: str) -> None:
    headers = {**headers, "agi_network_script": script}
    block = "".join(f"{key}: {value}{eol}" for key, value in headers.items()) + eol
    assert parse_headers(block.encode()) == headers


@AGI
@given(args=st.lists(st.text(max_size=20), max_size=4))
def test_built_commands_are_one_line_and_unquote_to_their_args(args: list[str]) -> None:
    line = build("EXEC", *args)
    assert "\n" not in line and "\r" not in line
    for arg in args:
        quoted = quote(arg)
        assert quoted[0] == quoted[-1] == '"'
        unquoted = quoted[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        assert unquoted == arg.replace("\n", " ").replace("\r", " ")
