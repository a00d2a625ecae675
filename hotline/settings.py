"""Runtime settings: ports, secrets, paths and service URLs, from the environment.

Why one frozen object: every process (controller, CLI, tests) builds it once in its
composition root and passes it down, so nothing reads ``os.environ`` deep inside the code
and a test can run a second, isolated hotline (other ports, other folders) beside a demo.
Secrets not given in the environment are generated once and kept in ``var/secrets.env``
(mode 0600), so a fresh install is never left with a default password.
"""
from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

PROJECT_ROOT = Path(__file__).resolve().parent.parent

_SECRET_KEYS = ("HOTLINE_AMI_SECRET", "HOTLINE_SIP_SECRET", "HOTLINE_WEB_TOKEN", "HOTLINE_AGI_SECRET")


@dataclass(frozen=True)
class Settings:
    """Everything a hotline instance needs to know about its surroundings."""

    instance: str = "main"
    var_dir: Path = PROJECT_ROOT / "var"
    asterisk_root: Path = PROJECT_ROOT / "var" / "asterisk-root"
    sip_port: int = 5060
    rtp_start: int = 10000
    rtp_end: int = 10999
    ami_port: int = 5038
    agi_host: str = "127.0.0.1"
    agi_port: int = 4573
    http_host: str = "127.0.0.1"    # where the HTTP API listens (loopback: put a TLS proxy in front)
    http_port: int = 8345
    http_advertise: str = ""        # host:port where the other controllers reach this API (default: http_host:http_port)
    session_hours: float = 12.0       # an API login lasts this long from the login (fixed, not sliding)
    ami_user: str = "hotline"
    ami_secret: str = field(default="", repr=False)
    sip_secret: str = field(default="", repr=False)
    web_token: str = field(default="", repr=False)
    agi_secret: str = field(default="", repr=False)  # in every FastAGI URL: only our Asterisk opens sessions
    trunk_match: str = "127.0.0.1"
    redis_url: str = ""
    db_url: str = ""
    config_dir: Path = PROJECT_ROOT
    agi_peers: tuple[str, ...] = ()
    outbound_trunk: str = ""          # host:port of the carrier for callbacks; empty = no callbacks
    agency_trunk: str = ""            # host:port the agencies' numbers are dialled through; empty = none
    # The router's safety-net re-read of the live state (it wakes on every change and at every
    # due time anyway); a test lengthens it to hold a stale picture on purpose.
    router_tick: float = 0.25
    agency_ring: float = 30.0  # seconds an agency's number rings before "no answer" (three-party calls)
    follow_up_tick: float = 10.0  # seconds between two looks of the leader's follow-up dialler at due follow-ups
    # seconds between SIP OPTIONS probes of each registered softphone; a phone that stops
    # answering them is unreachable and its agent is paused ("phone_unreachable")
    phone_qualify: float = 30.0

    @property
    def agi_endpoints(self) -> tuple[str, ...]:
        """Every controller's FastAGI host:port; the dialplan tries them in turn from a
        random start, so two controllers share the calls and either can take them all."""
        return self.agi_peers or (f"{self.agi_host}:{self.agi_port}",)

    def agi_url(self, endpoint: str) -> str:
        """The FastAGI URL prefix of one controller, with the secret the server checks."""
        return f"agi://{endpoint}/{self.agi_secret}"

    @property
    def api_url(self) -> str:
        """Where the other controllers reach this controller's HTTP API (to forward a call's
        operations to the controller that holds the call)."""
        if self.http_advertise:
            return f"http://{self.http_advertise}"
        host = "127.0.0.1" if self.http_host in ("0.0.0.0", "::", "") else self.http_host
        return f"http://[{host}]:{self.http_port}" if ":" in host else f"http://{host}:{self.http_port}"

    @property
    def instance_dir_in_root(self) -> str:
        """Where this instance's Asterisk folders live, as seen from inside the root."""
        return f"/srv/hotline/{self.instance}"

    @property
    def instance_dir(self) -> Path:
        """The same folder as seen from the host."""
        return self.asterisk_root / self.instance_dir_in_root.lstrip("/")

    @property
    def queue_log(self) -> Path:
        return self.instance_dir / "log" / "queue_log"

    @property
    def sounds_dir_in_root(self) -> str:
        return f"{self.instance_dir_in_root}/sounds"

    @property
    def recordings_dir(self) -> Path:
        return self.instance_dir / "recordings"

    @property
    def database_url(self) -> str:
        return self.db_url or f"sqlite:///{self.var_dir / (self.instance + '.sqlite3')}"

    def with_overrides(self, **changes: object) -> "Settings":
        return replace(self, **changes)


def load_secrets(var_dir: Path, env: Mapping[str, str]) -> dict[str, str]:
    """Return the three secrets: from ``env`` when set, else from ``var/secrets.env``,
    generating and persisting the missing ones."""
    path = var_dir / "secrets.env"
    stored = _read_env_file(path)
    missing = [k for k in _SECRET_KEYS if not env.get(k) and not stored.get(k)]
    if missing:
        for key in missing:
            stored[key] = secrets.token_urlsafe(18)
        var_dir.mkdir(parents=True, exist_ok=True)
        # Created 0600 from the start: write_text then chmod left the secrets readable by
        # everyone (umask 022) until the chmod.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write("".join(f"{k}={v}\n" for k, v in sorted(stored.items())))
        path.chmod(0o600)
    return {k: env.get(k) or stored[k] for k in _SECRET_KEYS}


def _read_env_file(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs}


class SettingsError(ValueError):
    """An environment variable has a value the hotline cannot use; the message names it."""


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if not raw.strip().isascii() or not raw.strip().isdigit() or not 1 <= int(raw) <= 65535:
        raise SettingsError(f"{name}={raw!r}: not a port number (1-65535)")
    return int(raw)


def _positive(env: Mapping[str, str], name: str, default: float, below: float, unit: str) -> float:
    """A number above 0 and at most ``below`` (``unit`` names it in the error), or ``default``."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not 0 < value <= below:  # also refuses nan and inf
        raise SettingsError(f"{name}={raw!r}: not a number of {unit} above 0 (at most {below:g})")
    return value


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    return _positive(env, name, default, 3600, "seconds")


def _hours(env: Mapping[str, str], name: str, default: float) -> float:
    return _positive(env, name, default, 24 * 30, "hours")  # a month at most


def _host(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"[A-Za-z0-9.:_-]{1,253}", raw.strip()):
        raise SettingsError(f"{name}={raw!r}: not a host name or address")
    return raw.strip()


def _host_port(env: Mapping[str, str], name: str) -> str:
    raw = env.get(name, "").strip()
    if raw:
        host, _, port = raw.rpartition(":")
        if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise SettingsError(f"{name}={raw!r}: expected host:port")
    return raw


def from_env(env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Build settings from environment variables (``HOTLINE_*``, ``REDIS_URL``); a value
    that cannot be used raises SettingsError naming the variable."""
    env = dict(os.environ if env is None else env)
    base = Settings()
    var_dir = Path(env.get("HOTLINE_VAR_DIR", base.var_dir))
    secrets_ = load_secrets(var_dir, env)
    values: dict[str, object] = dict(
        instance=env.get("HOTLINE_INSTANCE", base.instance),
        var_dir=var_dir,
        asterisk_root=Path(env.get("HOTLINE_ASTERISK_ROOT", base.asterisk_root)),
        sip_port=_port(env, "HOTLINE_SIP_PORT", base.sip_port),
        rtp_start=_port(env, "HOTLINE_RTP_START", base.rtp_start),
        rtp_end=_port(env, "HOTLINE_RTP_END", base.rtp_end),
        ami_port=_port(env, "HOTLINE_AMI_PORT", base.ami_port),
        agi_port=_port(env, "HOTLINE_AGI_PORT", base.agi_port),
        http_host=_host(env, "HOTLINE_HTTP_HOST", base.http_host),
        http_port=_port(env, "HOTLINE_HTTP_PORT", base.http_port),
        http_advertise=_host_port(env, "HOTLINE_HTTP_ADVERTISE") or base.http_advertise,
        session_hours=_hours(env, "HOTLINE_SESSION_HOURS", base.session_hours),
        ami_secret=secrets_["HOTLINE_AMI_SECRET"],
        sip_secret=secrets_["HOTLINE_SIP_SECRET"],
        web_token=secrets_["HOTLINE_WEB_TOKEN"],
        agi_secret=secrets_["HOTLINE_AGI_SECRET"],
        trunk_match=env.get("HOTLINE_TRUNK_MATCH", base.trunk_match),
        redis_url=env.get("REDIS_URL", ""),
        db_url=env.get("HOTLINE_DB_URL", ""),
        config_dir=Path(env.get("HOTLINE_CONFIG_DIR", base.config_dir)),
        agi_peers=tuple(p.strip() for p in env.get("HOTLINE_AGI_PEERS", "").split(",") if p.strip()),
        outbound_trunk=_host_port(env, "HOTLINE_OUTBOUND_TRUNK"),
        agency_trunk=_host_port(env, "HOTLINE_AGENCY_TRUNK"),
        router_tick=_seconds(env, "HOTLINE_ROUTER_TICK", base.router_tick),
        agency_ring=_seconds(env, "HOTLINE_AGENCY_RING", base.agency_ring),
        follow_up_tick=_seconds(env, "HOTLINE_FOLLOW_UP_TICK", base.follow_up_tick),
        phone_qualify=_seconds(env, "HOTLINE_PHONE_QUALIFY", base.phone_qualify),
    )
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,30}", str(values["instance"])):
        raise SettingsError(f"HOTLINE_INSTANCE={values['instance']!r}: use lower-case letters, digits, - and _")
    if int(values["rtp_start"]) >= int(values["rtp_end"]):  # type: ignore[call-overload]
        raise SettingsError(f"HOTLINE_RTP_START={values['rtp_start']} must be below HOTLINE_RTP_END={values['rtp_end']}")
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]
