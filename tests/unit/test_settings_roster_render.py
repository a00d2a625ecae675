"""hotline.settings (secrets), agents.roster (validation) and asterisk_conf.render (the
Asterisk configuration), the rendered files checked through pyst2's config parser."""
from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest
from asterisk.config import Config, ParseError

from agents.roster import RosterAgent, RosterError, load_roster
from agents import sip_credentials
from agents.sip_credentials import FILE_NAME, CredentialError, locked_password, md5_cred, store
from asterisk_conf.render import render_all
from hotline.settings import PROJECT_ROOT, Settings, from_env, load_secrets

KEYS = ("HOTLINE_AMI_SECRET", "HOTLINE_SIP_SECRET", "HOTLINE_WEB_TOKEN", "HOTLINE_AGI_SECRET")


# -- settings: secrets -----------------------------------------------------------------

def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_secrets_generated_once_and_persisted_0600(tmp_path: Path) -> None:
    var = tmp_path / "var"
    first = load_secrets(var, {})
    path = var / "secrets.env"
    assert set(first) == set(KEYS)
    assert len(set(first.values())) == len(KEYS) and all(len(v) >= 20 for v in first.values())
    assert mode(path) == 0o600
    assert path.read_text() == "".join(f"{k}={first[k]}\n" for k in sorted(KEYS))
    written = path.stat().st_mtime_ns
    assert load_secrets(var, {}) == first  # read back, not generated again
    assert path.stat().st_mtime_ns == written


def test_secrets_file_is_0600_even_with_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        load_secrets(tmp_path, {})
    finally:
        os.umask(old)
    assert mode(tmp_path / "secrets.env") == 0o600


def test_env_wins_over_the_file(tmp_path: Path) -> None:
    stored = load_secrets(tmp_path, {})
    env = {"HOTLINE_AMI_SECRET": "from-env", "HOTLINE_WEB_TOKEN": ""}  # empty counts as unset
    got = load_secrets(tmp_path, env)
    assert got == {**stored, "HOTLINE_AMI_SECRET": "from-env"}
    assert "from-env" not in (tmp_path / "secrets.env").read_text()


def test_all_secrets_in_env_writes_no_file(tmp_path: Path) -> None:
    env = {k: f"v-{k}" for k in KEYS}
    assert load_secrets(tmp_path / "var", env) == env
    assert not (tmp_path / "var" / "secrets.env").exists()


def test_missing_secret_is_added_and_the_rest_kept(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    path.write_text("HOTLINE_AMI_SECRET=kept-ami\n# comment\nHOTLINE_SIP_SECRET = kept-sip \n")
    path.chmod(0o644)
    got = load_secrets(tmp_path, {})
    assert got["HOTLINE_AMI_SECRET"] == "kept-ami" and got["HOTLINE_SIP_SECRET"] == "kept-sip"
    assert got["HOTLINE_WEB_TOKEN"] and "HOTLINE_WEB_TOKEN=" + got["HOTLINE_WEB_TOKEN"] in path.read_text()
    assert mode(path) == 0o600


def test_from_env_builds_settings(tmp_path: Path) -> None:
    env = {"HOTLINE_VAR_DIR": str(tmp_path), "HOTLINE_INSTANCE": "t1", "HOTLINE_SIP_PORT": "15060",
           "HOTLINE_AMI_PORT": "15038", "HOTLINE_AGI_PORT": "14573", "HOTLINE_AMI_SECRET": "ami-x",
           "REDIS_URL": "redis://127.0.0.1:6379/0", "HOTLINE_AGI_PEERS": "10.0.0.1:4573, ,10.0.0.2:4573"}
    s = from_env(env, http_port=18345)
    assert (s.instance, s.var_dir, s.sip_port, s.ami_port, s.agi_port, s.http_port) == (
        "t1", tmp_path, 15060, 15038, 14573, 18345)
    assert s.ami_secret == "ami-x"
    assert s.sip_secret and s.web_token and s.sip_secret != s.web_token
    assert s.agi_endpoints == ("10.0.0.1:4573", "10.0.0.2:4573")
    assert s.database_url == f"sqlite:///{tmp_path / 't1.sqlite3'}"
    assert "ami-x" not in repr(s) and s.sip_secret not in repr(s)
    assert from_env({"HOTLINE_VAR_DIR": str(tmp_path)}).agi_endpoints == ("127.0.0.1:4573",)
    assert from_env({"HOTLINE_VAR_DIR": str(tmp_path)}).sip_secret == s.sip_secret  # same var dir


# -- roster ----------------------------------------------------------------------------

GOOD = {"id": "1001", "name": "Wang Fang", "languages": ["zh"], "skills": {"housing": 3},
        "contact": "sip:1001@127.0.0.1:6001"}


def roster_file(tmp_path: Path, *agents: dict[str, object]) -> Path:
    import yaml
    path = tmp_path / "roster.yaml"
    path.write_text(yaml.safe_dump({"agents": list(agents)}))
    return path


def test_shipped_roster_loads() -> None:
    agents = load_roster(PROJECT_ROOT / "agents" / "roster.yaml")
    assert [a.agent_id for a in agents] == ["1001", "1002", "1003", "1004"]
    assert agents[2].languages == frozenset({"zh", "en"})
    assert agents[0].skills == (("housing", 3), ("social_insurance", 5))
    assert agents[0].endpoint == "PJSIP/1001" and agents[0].login is True


def test_minimal_agent_defaults(tmp_path: Path) -> None:
    (agent,) = load_roster(roster_file(tmp_path, {"id": 2001, "languages": ["en"]}))
    assert agent == RosterAgent("2001", "2001", frozenset({"en"}), (), None, False)


def test_a_seat_may_take_only_some_lines(tmp_path: Path) -> None:
    (agent,) = load_roster(roster_file(tmp_path, {**GOOD, "queues": ["province", "main"]}))
    assert agent.queues == frozenset({"province", "main"})


def test_a_seat_on_an_unknown_line_is_refused_at_start_up(tmp_path: Path) -> None:
    import shutil

    from hotline.config import load_config
    from hotline.settings import PROJECT_ROOT, Settings

    shutil.copytree(PROJECT_ROOT / "queues", tmp_path / "queues")
    shutil.copytree(PROJECT_ROOT / "ivr", tmp_path / "ivr")
    (tmp_path / "agents").mkdir()
    roster_file(tmp_path / "agents", {**GOOD, "queues": ["provinse"]})
    with pytest.raises(ValueError, match="agent 1001 takes unknown queue.s. provinse"):
        load_config(Settings(config_dir=tmp_path))


@pytest.mark.parametrize("agents, where, problem", [
    ([{**GOOD, "id": "12"}], "agents[0]", "'12' must be 3 to 8 digits"),
    ([GOOD, {**GOOD, "id": "10x1"}], "agents[1]", "'10x1' must be 3 to 8 digits"),
    ([{**GOOD, "id": "123456789"}], "agents[0]", "must be 3 to 8 digits"),
    ([{k: v for k, v in GOOD.items() if k != "id"}], "agents[0]", "must be 3 to 8 digits"),
    ([{**GOOD, "languages": ["zh", "xx"]}], "agent 1001", "languages ['xx', 'zh']"),
    ([{**GOOD, "languages": []}], "agent 1001", "non-empty subset"),
    ([{**GOOD, "skills": {"housing": 0}}], "agent 1001", "skill 'housing' has level 0"),
    ([{**GOOD, "skills": {"traffic": 2, "housing": 6}}], "agent 1001", "skill 'housing' has level 6"),
    ([{**GOOD, "skills": {"housing": "high"}}], "agent 1001", "'high'"),
    ([{**GOOD, "skills": {"housing": True}}], "agent 1001", "level True"),
    ([{**GOOD, "skills": ["housing"]}], "agent 1001", "skills must map"),
    ([GOOD, {**GOOD, "name": "Someone Else"}], "agent 1001", "listed twice"),
    ([{**GOOD, "contact": "1001@127.0.0.1"}], "agent 1001", "contact '1001@127.0.0.1'"),
    ([{**GOOD, "contact": "sip:1001@127.0.0.1:port"}], "agent 1001", "is not a sip:user@host"),
    ([{**GOOD, "contact": "sip:@127.0.0.1"}], "agent 1001", "is not a sip:user@host"),
    ([{**GOOD, "contact": 6001}], "agent 1001", "contact 6001"),
    ([{**GOOD, "queues": "province"}], "agent 1001", "queues must be a non-empty list"),
    ([{**GOOD, "queues": []}], "agent 1001", "queues must be a non-empty list"),
    (["1001"], "agents[0]", "expected a mapping"),
    ([{**{k: v for k, v in GOOD.items() if k != "skills"}, "skils": {"housing": 3}}], "agent 1001",
     "unknown key(s) skils"),
])
def test_roster_errors_name_file_and_agent(tmp_path: Path, agents: list[dict[str, object]], where: str, problem: str) -> None:
    path = roster_file(tmp_path, *agents)
    with pytest.raises(RosterError) as info:
        load_roster(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {where}")
    assert problem in message


@pytest.mark.parametrize("content, problem", [
    ("agents: [\n", "cannot read roster"),
    ("- id: '1001'\n", "expected a mapping with a list under 'agents'"),
    ("agents: {id: '1001'}\n", "expected a mapping with a list under 'agents'"),
    ("", "expected a mapping"),
])
def test_roster_file_level_errors(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "roster.yaml"
    path.write_text(content)
    with pytest.raises(RosterError, match=re.escape(problem)) as info:
        load_roster(path)
    assert str(path) in str(info.value)


def test_missing_roster_file(tmp_path: Path) -> None:
    with pytest.raises(RosterError, match="cannot read roster") as info:
        load_roster(tmp_path / "nope.yaml")
    assert "nope.yaml" in str(info.value)


# -- rendering -------------------------------------------------------------------------

AGENTS = (
    RosterAgent("1001", "Wang Fang", frozenset({"zh"}), (("housing", 3),), "sip:1001@127.0.0.1:6001"),
    RosterAgent("1002", "Li Wei", frozenset({"zh"}), ()),
    RosterAgent("20003", "Emily Zhao", frozenset({"zh", "en"}), (("education", 3),), "sip:20003@127.0.0.1:6003"),
)
NUMBERS = ["12345", "12319", "12345", "96789"]
SETTINGS = Settings(ami_port=15038, sip_port=15060, agi_port=14573, ami_secret="ami-s3cret-xyz",
                    sip_secret="sip-s3cret-xyz", web_token="tok", agi_secret="agi-s3cret", instance="t1")


@pytest.fixture
def rendered(tmp_path: Path) -> dict[str, Path]:
    files = render_all(SETTINGS, AGENTS, NUMBERS)
    out = {}
    for name, body in files.items():
        out[name] = tmp_path / name
        out[name].write_text(body)
    return out


Sections = list[tuple[str, list[tuple[str, str]]]]


def parse(path: Path) -> Sections:
    """Sections in file order as (name, [(key, value), ...]), via pyst2's parser.
    pyst2 keeps the ">" of "exten =>" as a style and the space before values: stripped here."""
    config = Config(str(path))
    return [(c.name, [(i.name, i.value.strip()) for i in c.items]) for c in config.categories]


def section(sections: Sections, name: str) -> list[tuple[str, str]]:
    found = [items for n, items in sections if n == name]
    assert len(found) == 1, f"{name}: {len(found)} sections"
    return found[0]


def test_every_template_is_rendered() -> None:
    files = render_all(SETTINGS, AGENTS, NUMBERS)
    assert {"asterisk.conf", "manager.conf", "pjsip.conf", "extensions.conf", "queues.conf",
            "modules.conf", "logger.conf"} <= set(files)
    assert all(body.strip() for name, body in files.items()
               if name not in ("acl.conf", "ccss.conf", "pjproject.conf", "stasis.conf", "udptl.conf"))


def test_pyst2_parses_every_file_but_pjsip(rendered: dict[str, Path]) -> None:
    # pyst2 reads "exten =>"/"same =>" lines fine (the ">" becomes the item's style), but
    # not pjsip's template syntax "[name](template)": its Category demands a line ending in
    # "]". So pjsip.conf is parsed after moving the template part into a comment (below).
    for name, path in rendered.items():
        if name != "pjsip.conf":
            parse(path)
    with pytest.raises(ParseError) as info:
        Config(str(rendered["pjsip.conf"]))
    line = info.value.args[0]
    assert re.fullmatch(r"\[[\w-]+\]\([!\w-]+\)", rendered["pjsip.conf"].read_text().splitlines()[line - 1])


def test_manager_conf_loopback_and_secret(rendered: dict[str, Path]) -> None:
    conf = parse(rendered["manager.conf"])
    general = dict(section(conf, "general"))
    assert general["enabled"] == "yes"
    assert general["bindaddr"] == "127.0.0.1"
    assert general["port"] == "15038"
    user = dict(section(conf, "hotline"))
    assert user["secret"] == "ami-s3cret-xyz"
    assert user["deny"] == "0.0.0.0/0.0.0.0" and user["permit"] == "127.0.0.1/255.255.255.255"
    assert [n for n, _ in conf] == ["general", "hotline"]


def test_manager_account_has_least_privilege_and_static_event_filters(rendered: dict[str, Path]) -> None:
    """The controller's AMI account: only the classes it needs (GetConfig needs system or
    config, Command needs command, UpdateConfig config, Filter system: none is granted)."""
    user = section(parse(rendered["manager.conf"]), "hotline")
    values = {k: v for k, v in user}
    assert set(values["read"].split(",")) == {"call", "system"}
    assert set(values["write"].split(",")) == {"call", "originate", "reporting", "agent"}  # agent: QueuePause
    from hotline.asterisk.ami_events import EVENT_NAMES
    filters = [k for k, _ in user if k.startswith("eventfilter")]
    assert filters == [f"eventfilter(action(include),name({n}))" for n in EVENT_NAMES]


def test_pjsip_identifies_the_trunk_by_address_and_agents_by_credentials(rendered: dict[str, Path]) -> None:
    text = rendered["pjsip.conf"].read_text()
    assert "endpoint_identifier_order = auth_username,ip" in text
    endpoints = {name: items for name, items in pjsip_sections(rendered["pjsip.conf"]) if items.get("type") == "endpoint"}
    assert endpoints["trunk"]["identify_by"] == "ip"
    assert all(endpoints[a.agent_id]["identify_by"] == "auth_username" for a in AGENTS)


def pjsip_sections(path: Path) -> list[tuple[str, dict[str, str]]]:
    """pjsip.conf sections with templates applied: "[x](tpl)" is rewritten to "[x] ;(tpl)"
    so pyst2 can read it, then the template's items are merged in (section items win).
    Template definitions "[x](!)" are not returned."""
    text = path.read_text()
    header = re.compile(r"^\[([\w-]+)\](?:\(([!\w-]+)\))?$", re.M)
    parents = [m[2] or "" for m in header.finditer(text)]  # one per section, in file order
    path.write_text(re.sub(r"^(\[[\w-]+\])\(([!\w-]+)\)$", r"\1 ;(\2)", text, flags=re.M))
    raw = parse(path)
    assert len(raw) == len(parents)
    templates: dict[str, dict[str, str]] = {}
    sections: list[tuple[str, dict[str, str]]] = []
    for (name, items), parent in zip(raw, parents):
        if parent == "!":
            templates[name] = dict(items)
        else:
            sections.append((name, {**templates.get(parent, {}), **dict(items)}))
    return sections


def test_pjsip_one_endpoint_per_agent_no_direct_media(rendered: dict[str, Path]) -> None:
    sections = pjsip_sections(rendered["pjsip.conf"])
    endpoints = {name: items for name, items in sections if items.get("type") == "endpoint"}
    assert set(endpoints) == {"trunk", "1001", "1002", "20003"}
    assert all(items["direct_media"] == "no" for items in endpoints.values())
    assert endpoints["trunk"]["context"] == "from-citizens"
    for agent in AGENTS:
        ep = endpoints[agent.agent_id]
        assert ep["context"] == "from-agents"
        assert (ep["aors"], ep["auth"]) == (agent.agent_id, f"{agent.agent_id}-auth")
        assert ep["callerid"] == f'"{agent.name}" <{agent.agent_id}>'
        auth = dict(sections)[f"{agent.agent_id}-auth"]
        # no password set: a derived one nobody is told, never the instance's shared secret
        assert (auth["type"], auth["username"], auth["auth_type"]) == ("auth", agent.agent_id, "userpass")
        assert auth["password"] == locked_password(agent.agent_id, "sip-s3cret-xyz") != "sip-s3cret-xyz"
    assert len({dict(sections)[f"{a.agent_id}-auth"]["password"] for a in AGENTS}) == len(AGENTS)
    aors = {name: items for name, items in sections if items.get("type") == "aor"}
    assert set(aors) == {"1001", "1002", "20003"}
    assert aors["1001"]["contact"] == "sip:1001@127.0.0.1:6001" and "contact" not in aors["1002"]
    assert aors["1001"]["qualify_frequency"] == "0" and aors["1002"]["qualify_frequency"] == "30"
    transport = dict(sections)["transport-udp"]
    assert transport["bind"] == "127.0.0.1:15060"


def test_an_agent_with_a_password_set_gets_only_its_digest_hash(tmp_path: Path) -> None:
    from dataclasses import replace

    settings = replace(SETTINGS, var_dir=tmp_path)
    store(tmp_path / FILE_NAME, "1002", "s0ftphone-pass")
    assert oct((tmp_path / FILE_NAME).stat().st_mode & 0o777) == "0o600"
    (tmp_path / "pjsip.conf").write_text(render_all(settings, AGENTS, NUMBERS)["pjsip.conf"])
    text = (tmp_path / "pjsip.conf").read_text()
    assert "s0ftphone-pass" not in text and "s0ftphone-pass" not in (tmp_path / FILE_NAME).read_text()
    auth = dict(pjsip_sections(tmp_path / "pjsip.conf"))["1002-auth"]
    assert (auth["auth_type"], auth["realm"], auth["md5_cred"]) == (
        "md5", "hotline", md5_cred("1002", "s0ftphone-pass"))
    assert auth["md5_cred"] == __import__("hashlib").md5(b"1002:hotline:s0ftphone-pass").hexdigest()


@pytest.mark.parametrize("password", ["short", "has space in it", "quote\"inside", "semi;colon1"])
def test_a_sip_password_that_would_break_the_config_or_is_too_short_is_refused(tmp_path: Path, password: str) -> None:
    with pytest.raises(CredentialError):
        store(tmp_path / FILE_NAME, "1002", password)
    assert not (tmp_path / FILE_NAME).exists()


def test_a_broken_credentials_file_names_itself(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_text('{"1002": "not-a-hash"}')
    with pytest.raises(CredentialError, match=r"sip-credentials.json: agent '1002'"):
        sip_credentials.load(tmp_path / FILE_NAME)


def dialplan(path: Path) -> dict[str, list[tuple[str, str]]]:
    return {name: items for name, items in parse(path)}


def apps(items: list[tuple[str, str]]) -> list[str]:
    """The application of each line: "exten => 12345,1,Set(X=1)" and "same => n,Set(X=1)" -> "Set"."""
    found = []
    for key, value in items:
        assert key in ("exten", "same", "include"), key
        if key != "include":
            step = value.split(",", 2 if key == "exten" else 1)[-1]
            found.append(step.split("(", 1)[0].strip())
    return found


def test_citizens_cannot_reach_a_dial(rendered: dict[str, Path]) -> None:
    plan = dialplan(rendered["extensions.conf"])
    citizens = plan["from-citizens"]
    assert not any("dial" in value.lower() for _, value in citizens)
    assert set(apps(citizens)) == {"Set", "Goto", "Hangup"}
    assert not any(key == "include" for key, _ in citizens)
    # Follow every Goto from the citizens' context: nothing reachable dials out either.
    reachable, todo = set(), ["from-citizens"]
    while todo:
        ctx = todo.pop()
        reachable.add(ctx)
        for _, value in plan[ctx]:
            for target in re.findall(r"\bGoto\(([\w-]+),", value):
                if target not in reachable:
                    todo.append(target)
    assert reachable == {"from-citizens", "hotline-entry"}
    for ctx in reachable:
        assert not {"Dial", "Originate", "ChanSpy", "System", "Exec"} & set(apps(plan[ctx])), ctx


def test_every_dialled_number_enters_the_hotline(rendered: dict[str, Path]) -> None:
    citizens = dialplan(rendered["extensions.conf"])["from-citizens"]
    firsts = [value for key, value in citizens if key == "exten"]
    numbers = [v.split(",")[0] for v in firsts if v.split(",")[0].isdigit()]
    assert numbers == sorted(set(NUMBERS))
    for i, (key, value) in enumerate(citizens):
        if key == "exten" and value.split(",")[0] in NUMBERS:
            assert value.endswith(",1,Set(__HOTLINE_DNIS=${EXTEN})")
            assert citizens[i + 1] == ("same", "n,Goto(hotline-entry,s,1)")


def test_agi_targets_every_controller(tmp_path: Path) -> None:
    one = dict(dialplan_of(tmp_path, SETTINGS)["globals"])
    assert one == {"HOTLINE_AGI_0": "agi://127.0.0.1:14573/agi-s3cret", "HOTLINE_AGI_COUNT": "1", "HL_NEXT": "0"}
    two = dict(dialplan_of(tmp_path, SETTINGS.with_overrides(agi_peers=("10.0.0.1:4573", "10.0.0.2:4573")))["globals"])
    assert two == {"HOTLINE_AGI_0": "agi://10.0.0.1:4573/agi-s3cret", "HOTLINE_AGI_1": "agi://10.0.0.2:4573/agi-s3cret",
                   "HOTLINE_AGI_COUNT": "2", "HL_NEXT": "0"}


def dialplan_of(tmp_path: Path, settings: Settings) -> dict[str, list[tuple[str, str]]]:
    path = tmp_path / "ext.conf"
    path.write_text(render_all(settings, AGENTS, NUMBERS)["extensions.conf"])
    return dialplan(path)


def test_queues_conf_fallback_members(rendered: dict[str, Path]) -> None:
    conf = parse(rendered["queues.conf"])
    queue = section(conf, "hotline-fallback")
    members = [value for key, value in queue if key == "member"]
    assert members == [f"PJSIP/{a.agent_id},0,{a.agent_id}" for a in AGENTS]
    assert dict(section(conf, "general"))["log_membername_as_agent"] == "yes"


def test_live_keys_are_the_ones_the_lua_scripts_build() -> None:
    """The Lua scripts get the prefix and build call and agent keys themselves."""
    from hotline.live import redis_state as live_state
    from hotline.live.keys import AGENT, CALL, LiveKeys

    keys = LiveKeys.for_instance("demo")
    assert keys.agent("1001") == "hl:demo:agent:1001" and keys.call("c1") == "hl:demo:call:c1"
    assert f"rows(KEYS[1], '{CALL}')" in live_state.SNAPSHOT_LUA
    assert f"rows(KEYS[2], '{AGENT}')" in live_state.SNAPSHOT_LUA
    assert "ARGV[1] .. kind .. ':' .. id" in live_state.SNAPSHOT_LUA


@pytest.mark.parametrize(("name", "value", "problem"), [
    ("HOTLINE_SIP_PORT", "50x60", "HOTLINE_SIP_PORT='50x60': not a port number"),
    ("HOTLINE_AMI_PORT", "70000", "HOTLINE_AMI_PORT='70000': not a port number"),
    ("HOTLINE_AGI_PORT", "０", "HOTLINE_AGI_PORT='０': not a port number"),
    ("HOTLINE_ROUTER_TICK", "nan", "HOTLINE_ROUTER_TICK='nan': not a number of seconds"),
    ("HOTLINE_ROUTER_TICK", "-1", "HOTLINE_ROUTER_TICK='-1'"),
    ("HOTLINE_OUTBOUND_TRUNK", "carrier", "HOTLINE_OUTBOUND_TRUNK='carrier': expected host:port"),
    ("HOTLINE_INSTANCE", "../etc", "HOTLINE_INSTANCE='../etc'"),
    ("HOTLINE_RTP_START", "20000", "HOTLINE_RTP_START=20000 must be below HOTLINE_RTP_END=10999"),
])
def test_a_bad_environment_value_is_refused_naming_the_variable(tmp_path: Path, name: str, value: str,
                                                                 problem: str) -> None:
    from hotline.settings import SettingsError

    with pytest.raises(SettingsError) as info:
        from_env({"HOTLINE_VAR_DIR": str(tmp_path), name: value})
    assert problem in str(info.value)


def test_flows_are_checked_against_the_skills_and_queues_of_the_configuration(tmp_path: Path) -> None:
    """The IVR's vocabulary is built from queues.yaml and the roster, not from literals."""
    import shutil

    from hotline.config import load_config
    from hotline.settings import Settings
    from ivr import FlowError

    for folder in ("queues", "agents", "outbound"):
        shutil.copytree(PROJECT_ROOT / folder, tmp_path / folder)
    shutil.copytree(PROJECT_ROOT / "ivr" / "flows", tmp_path / "ivr" / "flows")
    main = tmp_path / "ivr" / "flows" / "main.yaml"
    main.write_text(main.read_text().replace("skills: [traffic]", "skills: [trafic]", 1))
    with pytest.raises(FlowError, match="unknown skill 'trafic'"):
        load_config(Settings(config_dir=tmp_path))
    main.write_text(main.read_text().replace("skills: [trafic]", "skills: [night_shift]", 1))
    with pytest.raises(FlowError, match="unknown skill 'night_shift'"):
        load_config(Settings(config_dir=tmp_path))
    roster = tmp_path / "agents" / "roster.yaml"
    roster.write_text(roster.read_text().replace("skills: {social_insurance: 5, housing: 3}",
                                                 "skills: {social_insurance: 5, housing: 3, night_shift: 2}"))
    assert load_config(Settings(config_dir=tmp_path)).flows  # a skill some agent holds is known


def test_a_citizen_an_agent_already_answered_is_never_sent_to_the_fallback(tmp_path: Path) -> None:
    """If the controller dies during or after the talk, Dial still ends with ANSWER on the
    caller's channel: the dialplan hangs up instead of queueing the citizen a second time."""
    entry = [v for k, v in dialplan_of(tmp_path, SETTINGS)["hotline-entry"]]
    guard = entry.index('n,GotoIf($["${DIALSTATUS}" = "ANSWER"]?served)')
    fallback = next(i for i, line in enumerate(entry) if line.startswith("n,Queue(hotline-fallback"))
    done = entry.index('n,GotoIf($["${HOTLINE_DONE}" = "1"]?done)')
    assert done < guard < fallback
    served = next(i for i, line in enumerate(entry) if line.startswith("n(served),"))
    assert entry[served + 1] == "n,Hangup()"
    # whoever hangs up first, an answered talk is written down for whichever controller
    # completes the record (queue_log): a hangup handler, since a citizen's hang-up ends the
    # dialplan inside Dial
    assert 'n,Set(CHANNEL(hangup_handler_push)=hotline-served,s,1)' in entry
    handler = [v for k, v in dialplan_of(tmp_path, SETTINGS)["hotline-served"]]
    assert handler[0].startswith('s,1,GotoIf($["${DIALSTATUS}" != "ANSWER"')
    assert handler[1].startswith("n,QueueLog(hotline-served,${UNIQUEID},${DIALEDPEERNAME},SERVED,")
