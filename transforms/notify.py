"""What a notice about a scheduled day says: its text, its webhook body, its command's environment.

Pure: ``flows/notify.py`` sends it (the HTTP request, the subprocess). The report's headline is
passed through as it is, never parsed: its wording belongs to the report. Nothing here ever becomes
part of a shell command line: the command gets the notice in its environment and on stdin.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date

#: The final states of a scheduled day (the ``state`` of a notice; ``[notify] notify_on`` names them).
STATE_OF_EXIT = {0: "completed", 3: "incomplete", 2: "failed", 1: "failed"}


@dataclass(frozen=True)
class Notice:
    """How one scheduled day ended.

    Attributes:
        state: ``completed`` (exit 0), ``incomplete`` (exit 3) or ``failed`` (exit 1 or 2).
        exit_code: the day's exit code, as ``recon run`` would return it.
        business_date: the date reconciled.
        headline: the report's headline (or, for a failed day, the one-line cause), as it is.
        report_dir: where the day's report is (empty when nothing was published).
        attempts: how many times the day was reconciled (1 + the reruns for late statements).
        waited_for: the expected statements that were missing or rejected at the first run.
    """

    state: str
    exit_code: int
    business_date: date
    headline: str
    report_dir: str = ""
    attempts: int = 1
    waited_for: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        """The notice as JSON-ready values (the date as ``YYYY-MM-DD``)."""
        data = asdict(self)
        data["business_date"] = self.business_date.isoformat()
        data["waited_for"] = list(self.waited_for)
        return data


def state_of(exit_code: int) -> str:
    """The final state's name of an exit code (anything unknown is ``failed``)."""
    return STATE_OF_EXIT.get(exit_code, "failed")


def should_notify(notice: Notice, notify_on: tuple[str, ...]) -> bool:
    """True when ``[notify] notify_on`` names the notice's state."""
    return notice.state in notify_on


def notice_text(notice: Notice) -> str:
    """The human text: a first line that says it all, then where the report is and what was waited for."""
    lines = [f"recon {notice.business_date}: {notice.state.upper()} (exit {notice.exit_code}): {notice.headline}"]
    if notice.report_dir:
        lines.append(f"report: {notice.report_dir}")
    if notice.waited_for:
        lines.append(f"waited for: {', '.join(notice.waited_for)} ({notice.attempts} runs)")
    return "\n".join(lines)


def webhook_body(notice: Notice, webhook_format: str) -> bytes:
    """The JSON body POSTed to the webhook, UTF-8.

    ``text`` is the body a WeCom (企业微信) group robot and a DingTalk (钉钉) custom robot both take:
    ``{"msgtype": "text", "text": {"content": ...}}``; ``json`` is the notice's own fields.
    """
    if webhook_format == "text":
        payload: dict[str, object] = {"msgtype": "text", "text": {"content": notice_text(notice)}}
    elif webhook_format == "json":
        payload = notice.as_dict()
    else:
        raise ValueError(f"unknown webhook format {webhook_format!r}")
    return json.dumps(payload, ensure_ascii=False).encode("utf-8", errors="backslashreplace")


def command_environment(notice: Notice) -> dict[str, str]:
    """The variables a notify command gets (added to recon's own environment): values, never code.

    A NUL (which no environment can hold) is written as a backslash and a 0, and a lone surrogate
    (an undecodable byte of a file name) as its backslash escape: every value is valid UTF-8.
    """
    values = {
        "RECON_STATE": notice.state,
        "RECON_EXIT_CODE": str(notice.exit_code),
        "RECON_BUSINESS_DATE": notice.business_date.isoformat(),
        "RECON_HEADLINE": notice.headline,
        "RECON_REPORT_DIR": notice.report_dir,
        "RECON_NOTICE_JSON": json.dumps(notice.as_dict(), ensure_ascii=False),
    }
    return {name: _utf8(value.replace("\0", "\\0")) for name, value in values.items()}


def _utf8(text: str) -> str:
    return text.encode("utf-8", errors="backslashreplace").decode("utf-8")
