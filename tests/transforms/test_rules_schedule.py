"""Worked examples of the scheduling sections of recon.toml: [schedule], [notify], statement_ready_after."""

from __future__ import annotations

from datetime import time

import pytest

from transforms.rules import NotifyRules, Rules, RulesError, ScheduleRules, parse_rules

GOOD = """
[channels.wechatpay]
statement_ready_after = "10:00"

[schedule]
retry_every_minutes = 15
give_up_at = "17:30"

[notify]
command = ["mail", "-s", "recon", "finance@example.com"]
webhook_url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc"
webhook_format = "json"
timeout_seconds = 5
notify_on = ["failed"]
"""


def test_the_sections_are_read() -> None:
    rules = parse_rules(GOOD)
    assert rules.for_channel("wechatpay").statement_ready_after == time(10, 0)
    assert rules.for_channel("alipay").statement_ready_after is None
    assert rules.schedule == ScheduleRules(retry_every_minutes=15, give_up_at=time(17, 30))
    assert rules.notify == NotifyRules(
        command=("mail", "-s", "recon", "finance@example.com"),
        webhook_url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc",
        webhook_format="json", timeout_seconds=5, notify_on=("failed",),
    )


def test_the_defaults_wait_until_six_pm_every_half_hour_and_tell_nobody() -> None:
    rules = parse_rules("")
    assert rules.schedule == ScheduleRules(retry_every_minutes=30, give_up_at=time(18, 0))
    assert rules.notify.command == () and rules.notify.webhook_url is None
    assert rules.notify.notify_on == ("incomplete", "failed")


def test_scheduling_is_not_in_the_rules_hash() -> None:
    assert parse_rules(GOOD).digest() == parse_rules("[channels.wechatpay]\n").digest()
    assert parse_rules(GOOD).digest() != parse_rules('[channels.wechatpay]\nfee_bps = "38"\n').digest()


BAD = """
[channels.wechatpay]
statement_ready_after = "25:00"     # 1. no such time
[schedule]
retry_every_minutes = 0             # 2. not positive
give_up_at = 18                     # 3. not "HH:MM"
when = "daily"                      # 4. unknown key
[notify]
command = "mail -s x a@b"           # 5. a shell string, not an argv list
webhook_url = "file:///etc/passwd"  # 6. not http(s)
webhook_format = "markdown"         # 7. unknown format
timeout_seconds = 3600              # 8. too long
notify_on = ["always"]              # 9. unknown state
"""


def test_every_problem_is_reported_together() -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules(BAD)
    problems = caught.value.problems
    expected = [
        "channels.wechatpay.statement_ready_after must be a time", "schedule.retry_every_minutes must be a positive",
        "schedule.give_up_at must be a time", "schedule: unknown key 'when'", "notify.command must be a list",
        "notify.webhook_url must be an http", "notify.webhook_format must be one of",
        "notify.timeout_seconds must be at most 300", "notify.notify_on must list states",
    ]
    for fragment in expected:
        assert any(fragment in p for p in problems), (fragment, problems)
    assert len(problems) == len(expected)


@pytest.mark.parametrize("toml", ['[schedule]\nretry_every_minutes = 1441', '[notify]\ncommand = [""]',
                                  '[notify]\nwebhook_url = "https://x y"', '[notify]\ncommand = ["mail", 3]',
                                  '[notify]\nunknown = 1', 'schedule = 3'])
def test_single_problems(toml: str) -> None:
    with pytest.raises(RulesError):
        parse_rules(toml)


def test_an_empty_notify_table_is_the_default() -> None:
    assert parse_rules("[notify]\n[schedule]\n") == Rules()
