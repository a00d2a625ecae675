"""hotline.asterisk.agi_protocol: FastAGI headers and result lines in, typed values out (no I/O)."""
from __future__ import annotations

import pytest

from hotline.asterisk.agi_protocol import (
    AgiProtocolError,
    AgiResult,
    build,
    parse_headers,
    parse_result,
    quote,
)

# What Asterisk 22 writes at the start of a FastAGI connection (note the empty accountcode:
# Asterisk still writes "agi_accountcode: " with the trailing space).
ASTERISK_HEADERS = (
    b"agi_network: yes\n"
    b"agi_network_script: call\n"
    b"agi_request: agi://127.0.0.1:4573/call\n"
    b"agi_channel: PJSIP/trunk-00000001\n"
    b"agi_language: en\n"
    b"agi_type: PJSIP\n"
    b"agi_uniqueid: 1700000000.5\n"
    b"agi_version: 22.0.0\n"
    b"agi_callerid: 13800000001\n"
    b"agi_calleridname: unknown\n"
    b"agi_dnid: 12345\n"
    b"agi_context: hotline-entry\n"
    b"agi_extension: s\n"
    b"agi_priority: 3\n"
    b"agi_enhanced: 0.0\n"
    b"agi_accountcode: \n"
    b"agi_threadid: 140210000000000\n"
    b"agi_arg_1: a: b\n"
    b"\n"
)


def test_parse_headers_of_a_real_request() -> None:
    headers = parse_headers(ASTERISK_HEADERS)
    assert headers["agi_network_script"] == "call"
    assert headers["agi_uniqueid"] == "1700000000.5"
    assert headers["agi_channel"] == "PJSIP/trunk-00000001"
    assert headers["agi_accountcode"] == ""
    assert headers["agi_arg_1"] == "a: b"  # only the first ": " separates key and value
    assert len(headers) == 18


def test_parse_headers_accepts_crlf_and_blank_lines() -> None:
    assert parse_headers(b"\r\nagi_network_script: x\r\nagi_uniqueid: 1.2\r\n\r\n") == {
        "agi_network_script": "x", "agi_uniqueid": "1.2"}


@pytest.mark.parametrize("block, problem", [
    (b"\xff\xfeagi_network_script: call\n\n", "not UTF-8"),
    (b"agi_network_script call\n\n", "malformed AGI header line"),
    (b"agi_network_script:call\n\n", "malformed AGI header line"),
    (b"GET / HTTP/1.1\nHost: x\n\n", "malformed AGI header line"),
    (b"agi_network_script: call\nHost: evil\n\n", "malformed AGI header line"),
    (b"agi_channel: PJSIP/x\nagi_uniqueid: 1.1\n\n", "no agi_network_script"),
    (b"\n\n", "no agi_network_script"),
])
def test_parse_headers_rejects(block: bytes, problem: str) -> None:
    with pytest.raises(AgiProtocolError, match=problem):
        parse_headers(block)


# line -> code, result, data, ok, channel_gone, digit
RESULTS = [
    ("200 result=0", 200, "0", "", True, False, ""),
    ("200 result=1\n", 200, "1", "", True, False, "\x01"),
    ("200 result=49", 200, "49", "", True, False, "1"),
    ("200 result=48 endpos=16000\r\n", 200, "48", "", True, False, "0"),
    ("200 result=42", 200, "42", "", True, False, "*"),
    ("200 result=35", 200, "35", "", True, False, "#"),
    ("200 result=0 endpos=16000", 200, "0", "", True, False, ""),
    ("200 result=200", 200, "200", "", True, False, ""),         # out of ASCII: no digit
    ("200 result=-1", 200, "-1", "", True, True, ""),
    ("200 result=-1 endpos=0", 200, "-1", "", True, True, ""),
    ("200 result=1 (hangup)", 200, "1", "hangup", True, True, "\x01"),
    ("200 result= (timeout)", 200, "", "timeout", True, False, ""),
    ("200 result=123 (timeout)", 200, "123", "timeout", True, False, "{"),  # .digit is for STREAM FILE only
    ("200 result=1 (some value with spaces)", 200, "1", "some value with spaces", True, False, "\x01"),
    ("200 result=0 (dtmf) endpos=1", 200, "0", "dtmf", True, False, ""),
    ("100 result=0 Trying...", 100, "", "", False, False, ""),
    ("510 Invalid or unknown command", 510, "", "", False, False, ""),
    ("511 Command Not Permitted on a dead channel or intercept routine", 511, "", "", False, True, ""),
    ("520 Invalid command syntax.  Proper usage not available.", 520, "", "", False, False, ""),
    ("520-Invalid command syntax.  Proper usage follows:", 520, "", "", False, False, ""),
]


@pytest.mark.parametrize("line, code, result, data, ok, gone, digit", RESULTS)
def test_parse_result(line: str, code: int, result: str, data: str, ok: bool, gone: bool, digit: str) -> None:
    parsed = parse_result(line)
    assert (parsed.code, parsed.result, parsed.data) == (code, result, data)
    assert parsed.ok is ok
    assert parsed.channel_gone is gone
    assert parsed.digit == digit


@pytest.mark.parametrize("line, text", [
    ("510 Invalid or unknown command", "Invalid or unknown command"),
    ("520-Invalid command syntax.  Proper usage follows:", "Invalid command syntax.  Proper usage follows:"),
    ("200 result=1 (x)", "result=1 (x)"),
])
def test_parse_result_keeps_the_text(line: str, text: str) -> None:
    assert parse_result(line).text == text


@pytest.mark.parametrize("line", [
    "", "   ", "HANGUP", "abc", "20 result=1", "2000 result=1", "200", "200result=1",
    "200 ", "200 foo=1", "200 Trying", "result=1", "x200 result=1",
])
def test_parse_result_rejects_malformed_lines(line: str) -> None:
    with pytest.raises(AgiProtocolError):
        parse_result(line)


@pytest.mark.parametrize("line", [
    "٢٠٠ result=1",           # Arabic-Indic digits: \d took them and int() read 200
    "２００ result=1",         # full-width
    "2٠0 result=1",
    "²⁰⁰ result=1",           # superscripts: \d refuses these too
])
def test_parse_result_takes_ascii_codes_only(line: str) -> None:
    with pytest.raises(AgiProtocolError, match="malformed AGI result line"):
        parse_result(line)


@pytest.mark.parametrize("result", ["²", "¹²", "٤٩", "４９", "49²", "-49", "1" * 5000])
def test_digit_of_a_non_ascii_or_odd_result_is_none(result: str) -> None:
    """str.isdigit() passed "²" and int() then raised a bare ValueError (and int() refuses
    more than 4300 digits); such a result is no key press."""
    assert AgiResult(code=200, result=result).digit == ""
    assert parse_result(f"200 result={result}").digit == ""


def test_digit_only_for_success() -> None:
    assert AgiResult(code=510, result="49").digit == ""
    assert AgiResult(code=200, result="49").digit == "1"
    assert AgiResult(code=200, result="").digit == ""


@pytest.mark.parametrize("arg, quoted", [
    ("plain", '"plain"'),
    ("two words", '"two words"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("line1\nline2", '"line1 line2"'),
    ("cr\r\nlf", '"cr  lf"'),
    ("C:\\dir", '"C:\\\\dir"'),
    ('\\"', '"\\\\\\""'),
    ("", '""'),
    (5, '"5"'),
])
def test_quote(arg: object, quoted: str) -> None:
    assert quote(arg) == quoted  # type: ignore[arg-type]


@pytest.mark.parametrize("args, line", [
    (("ANSWER",), "ANSWER"),
    (("STREAM FILE", "/x/welcome", "0123456789*#"), 'STREAM FILE "/x/welcome" "0123456789*#"'),
    (("GET VARIABLE", "X"), 'GET VARIABLE "X"'),
    (("SET VARIABLE", "NOTE", 'he said "no"\nthen left'), 'SET VARIABLE "NOTE" "he said \\"no\\" then left"'),
    (("WAIT FOR DIGIT", 5000), 'WAIT FOR DIGIT "5000"'),
])
def test_build(args: tuple[object, ...], line: str) -> None:
    built = build(*args)  # type: ignore[arg-type]
    assert built == line
    assert "\n" not in built and "\r" not in built


def test_every_command_but_an_application_has_a_time_limit() -> None:
    """A stalled (or fake) FastAGI peer must not hold a call or an agent for an hour."""
    from hotline.asterisk.agi_protocol import QUICK_COMMAND_TIMEOUT, timeout_for

    assert timeout_for("ANSWER") == timeout_for("SET VARIABLE", "X", "1") == QUICK_COMMAND_TIMEOUT
    assert timeout_for("CHANNEL STATUS") == QUICK_COMMAND_TIMEOUT
    assert timeout_for("WAIT FOR DIGIT", 8000) == 8.0 + QUICK_COMMAND_TIMEOUT
    assert timeout_for("WAIT FOR DIGIT", "junk") == QUICK_COMMAND_TIMEOUT
    assert timeout_for("STREAM FILE", "welcome", "") == 300.0
    assert timeout_for("EXEC", "Dial", "PJSIP/2001,12") is None  # the conversation itself
