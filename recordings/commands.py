"""``hotline recordings purge [--dry-run]`` and ``hotline recordings compress``: the janitor's
work, once, from the command line (``hotline.ops.cli`` parses the arguments and calls here).

Why a command as well as the controller's task: an operator checks what the retention policy
would remove before it runs (``--dry-run``), purges after changing the policy, or catches up
with the compression while the controller is down. Both run against the instance's database
(migrated first) and its recordings folder, with the policy from the environment (an invalid
value stops here, naming the variable, before anything is changed).
"""
from __future__ import annotations

import os
import sys
import time
from typing import Mapping, TextIO

from hotline.settings import Settings
from recordings.janitor import RecordingJanitor
from recordings.retention import policy_from_env


def run_command(settings: Settings, action: str, *, dry_run: bool = False, env: Mapping[str, str] | None = None,
                out: TextIO | None = None) -> int:
    """Run ``purge`` or ``compress`` (printing to ``out``, default stdout); the exit status."""
    out = out or sys.stdout
    from hotline.store.calls import make_engine, migrate

    policy = policy_from_env(os.environ if env is None else env)
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
        janitor = RecordingJanitor.for_instance(engine, settings.asterisk_root, settings.instance_dir_in_root, policy)
        now = time.time()
        if action == "purge":
            report = janitor.purge(now, dry_run=dry_run)
            for c in report.purged:
                print(f"{'would purge' if dry_run else 'purged'} {c.call_id} {c.part:<10} {c.created_at:%Y-%m-%d %H:%M} "
                      f"{c.bytes:>10} bytes  {c.path}", file=out)
            verb = "would purge" if dry_run else "purged"
            print(f"{verb} {len(report.purged)} recording(s), {report.bytes / 1e6:.1f} MB "
                  f"(policy: {policy.default_days} days by default)", file=out)
            return 0
        if action == "compress":
            indexed, unsettled = janitor.index_new(now)
            compressed, failed = janitor.compress_pending()
            print(f"recordings: {indexed} indexed, {compressed} compressed, {failed} failed (kept as WAV), "
                  f"{unsettled} call(s) still being written", file=out)
            return 1 if failed else 0
        raise ValueError(f"unknown recordings action {action!r}")
    finally:
        engine.dispose()
