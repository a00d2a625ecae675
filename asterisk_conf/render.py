"""Renders Asterisk's configuration from the templates beside this file.

Why templates: ports, secrets and the roster change per install and per test instance;
the dialplan and module list stay reviewable text. Rendering is pure (settings + roster in,
file name -> text out); ``write_config`` is the only function that touches the disk.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import jinja2

from agents import sip_credentials
from agents.roster import RosterAgent
from hotline.asterisk.ami_events import EVENT_NAMES
from hotline.settings import Settings

TEMPLATES = Path(__file__).resolve().parent / "templates"


def render_all(settings: Settings, agents: Iterable[RosterAgent], numbers: Iterable[str],
               agency_numbers: Iterable[str] = (), supervisor_phones: Iterable[Any] = ()) -> dict[str, str]:
    """Return {file name: text} for every template, e.g. {"pjsip.conf": "..."}.
    ``agency_numbers`` are the agency directory's numbers: the only ones the agency context
    of the dialplan can dial."""
    agents = tuple(agents)
    supervisors = tuple(supervisor_phones)
    creds = sip_credentials.load(settings.var_dir / sip_credentials.FILE_NAME)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    context = {
        "s": settings,
        "d": settings.instance_dir_in_root,
        "agents": agents,
        "numbers": tuple(sorted(set(numbers))),
        "ami_event_names": EVENT_NAMES,
        "agency_numbers": tuple(sorted(set(agency_numbers))),
        "supervisor_phones": supervisors,
        "auth": {a.agent_id: sip_credentials.auth_lines(a.agent_id, creds, settings.sip_secret)
                 for a in (*agents, *supervisors)},
    }
    return {
        name[: -len(".j2")]: env.get_template(name).render(context)
        for name in sorted(p.name for p in TEMPLATES.glob("*.conf.j2"))
    }


def write_config(settings: Settings, files: dict[str, str]) -> Path:
    """Write rendered files into the instance's etc folder inside the Asterisk root and
    create the instance's other folders; return the asterisk.conf path as seen inside."""
    base = settings.instance_dir
    for sub in ("etc", "run", "log", "spool", "lib", "cache", "sounds", "recordings"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        target = base / "etc" / name
        target.write_text(text)
        if name == "manager.conf" or name == "pjsip.conf":
            target.chmod(0o600)
    return Path(settings.instance_dir_in_root) / "etc" / "asterisk.conf"
