"""Worked examples of transforms/notify.py: the notice's text, the robots' body, the command's environment."""

from __future__ import annotations

import json
from datetime import date

import pytest

from transforms.notify import Notice, command_environment, notice_text, should_notify, state_of, webhook_body

HEADLINE = "PROVISIONAL 2026-03-02: wechatpay: statement missing"
NOTICE = Notice("incomplete", 3, date(2026, 3, 2), HEADLINE, "/srv/recon/reports/2026-03-02", 1, ("wechatpay",))


def test_exit_codes_name_the_final_states() -> None:
    assert [state_of(code) for code in (0, 3, 2, 1, 7)] == ["completed", "incomplete", "failed", "failed", "failed"]


def test_the_text_passes_the_headline_through_and_says_where_the_report_is() -> None:
    assert notice_text(NOTICE).splitlines() == [
        f"recon 2026-03-02: INCOMPLETE (exit 3): {HEADLINE}",
        "report: /srv/recon/reports/2026-03-02",
        "waited for: wechatpay (1 runs)",
    ]
    failed = Notice("failed", 2, date(2026, 3, 2), "no ledger export in /srv/inbox/2026-03-02/ledger")
    assert notice_text(failed) == "recon 2026-03-02: FAILED (exit 2): no ledger export in /srv/inbox/2026-03-02/ledger"


def test_the_text_body_is_what_a_wecom_or_dingtalk_robot_takes() -> None:
    body = json.loads(webhook_body(NOTICE, "text").decode("utf-8"))
    assert body == {"msgtype": "text", "text": {"content": notice_text(NOTICE)}}


def test_the_json_body_is_the_notices_fields_in_utf8() -> None:
    notice = Notice("failed", 1, date(2026, 3, 2), "磁盘已满 \"quoted\"")
    raw = webhook_body(notice, "json")
    assert "磁盘已满".encode() in raw  # UTF-8, not \\u escapes
    assert json.loads(raw) == {"state": "failed", "exit_code": 1, "business_date": "2026-03-02",
                               "headline": "磁盘已满 \"quoted\"", "report_dir": "", "attempts": 1, "waited_for": []}
    with pytest.raises(ValueError, match="unknown webhook format"):
        webhook_body(notice, "xml")


def test_the_command_gets_values_never_code_and_no_nul() -> None:
    hostile = Notice("failed", 1, date(2026, 3, 2), "$(rm -rf /); `id` \0 end")
    env = command_environment(hostile)
    assert env["RECON_HEADLINE"] == "$(rm -rf /); `id` \\0 end"  # a value, as it is (only the NUL escaped)
    assert env["RECON_EXIT_CODE"] == "1" and env["RECON_STATE"] == "failed"
    assert env["RECON_BUSINESS_DATE"] == "2026-03-02" and env["RECON_REPORT_DIR"] == ""
    assert json.loads(env["RECON_NOTICE_JSON"].replace("\\\\0", "\\u0000"))["headline"] == hostile.headline


def test_only_the_configured_states_notify() -> None:
    assert should_notify(NOTICE, ("incomplete", "failed"))
    assert not should_notify(NOTICE, ("failed",))
    assert not should_notify(Notice("completed", 0, date(2026, 3, 2), "Reconciled"), ("incomplete", "failed"))


def test_an_undecodable_file_name_in_the_headline_still_makes_valid_utf8() -> None:
    notice = Notice("incomplete", 3, date(2026, 3, 2), "wechatpay/bill\udcff.csv: rejected")
    assert command_environment(notice)["RECON_HEADLINE"] == "wechatpay/bill\\udcff.csv: rejected"
    assert b"\\udcff" in webhook_body(notice, "text")
