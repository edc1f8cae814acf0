"""Send a notice about a scheduled day: run the configured command, POST to the configured webhook.

What is sent is built in ``transforms/notify.py``. The command runs without a shell, the notice in
its environment and its text on stdin; the webhook gets JSON through ``urllib`` (standard library).
Each has ``[notify] timeout_seconds``. A hook that fails never fails the day: it is one log line.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import urllib.error
import urllib.request

from transforms.notify import Notice, command_environment, notice_text, should_notify, webhook_body
from transforms.rules import NotifyRules

log = logging.getLogger("recon.notify")


def send_notice(notice: Notice, rules: NotifyRules) -> list[str]:
    """Send ``notice`` through every configured hook when ``notify_on`` names its state.

    Returns:
        One line per hook tried, saying how it went (also logged); empty when nothing was sent.
        Never raises for a hook's failure.
    """
    if not should_notify(notice, rules.notify_on):
        return []
    results = []
    hooks = (("command", rules.command, _run_command), ("webhook", rules.webhook_url, _post_webhook))
    for name, configured, hook in hooks:
        if not configured:
            continue
        try:
            results.append(hook(notice, rules))
        except Exception as exc:  # noqa: BLE001 - whatever a hook does wrong, the day's result stands
            results.append(_failed(f"notify {name} failed: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"))
    return results


def _run_command(notice: Notice, rules: NotifyRules) -> str:
    program = rules.command[0]
    try:
        done = subprocess.run(  # noqa: S603 - an argv list from recon.toml, never a shell; the notice is data
            list(rules.command), input=notice_text(notice).encode("utf-8", errors="backslashreplace"),
            env={**os.environ, **command_environment(notice)}, capture_output=True, timeout=rules.timeout_seconds,
            check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return _failed(f"notify command {program} did not finish within {rules.timeout_seconds} s (killed)")
    except OSError as exc:
        return _failed(f"notify command {program} could not start: {exc.strerror or exc}")
    if done.returncode != 0:
        said = " ".join(done.stderr.decode("utf-8", "replace").split())[:200]
        return _failed(f"notify command {program} exited {done.returncode}" + (f": {said}" if said else ""))
    return _sent(f"notify command {program}: sent")


def _post_webhook(notice: Notice, rules: NotifyRules) -> str:
    url = rules.webhook_url or ""
    where = url.split("?", 1)[0]  # a robot's key travels in the query: it never reaches a log
    request = urllib.request.Request(  # noqa: S310 - http(s) only, checked when recon.toml is parsed
        url, data=webhook_body(notice, rules.webhook_format), method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "recon-notify"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=rules.timeout_seconds) as response:  # noqa: S310
            answer = response.read(4096).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return _failed(f"notify webhook {where} answered HTTP {exc.code}")
    except (urllib.error.URLError, OSError, ValueError) as exc:  # TimeoutError is an OSError
        return _failed(f"notify webhook {where} failed: {getattr(exc, 'reason', exc)}")
    refused = _robot_error(answer)
    if refused:
        return _failed(f"notify webhook {where} refused the message: {refused}")
    return _sent(f"notify webhook {where}: sent")


def _robot_error(answer: str) -> str | None:
    """WeCom and DingTalk robots answer HTTP 200 with ``{"errcode": N, "errmsg": ...}``: N != 0 is a refusal."""
    try:
        body = json.loads(answer)
    except ValueError:
        return None
    if isinstance(body, dict) and body.get("errcode") not in (None, 0):
        return " ".join(f"errcode {body.get('errcode')} {body.get('errmsg', '')}".split())[:200]
    return None


def _sent(line: str) -> str:
    log.info("%s", line)
    return line


def _failed(line: str) -> str:
    log.warning("%s (the day's result stands)", line)
    return line
