"""The words a person reads, in the finance team's language first (``[report] language``).

Every code that reaches a person (an outcome, a case class, an owner, a column, a sheet, a payout
status) has one entry here with its Chinese and English words; the codes themselves stay in the
Parquet files and in a column of every sheet, for tools. Renderers look words up with :func:`word`;
nothing else in the code base spells a label.

Direction is stated as a fact, never as 长款/短款 (which mean opposite things in different
companies): 单边账（渠道有、账务无） says which side has the money.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

K = TypeVar("K")

LANGUAGES = ("zh", "en")

#: Sheet names (Excel: at most 31 characters, none of ``[]:*?/\``).
SHEETS: dict[str, tuple[str, str]] = {
    "summary": ("汇总", "Summary"),
    "worklist": ("待处理差异", "Discrepancies"),
    "review": ("复核与在途", "Review"),
    "settlement": ("结算与回款", "Settlement"),
    "open_items": ("挂账明细", "Open items"),
    "resolved": ("已处理", "Resolved"),
    "quarantine": ("隔离数据", "Quarantine"),
    "risk": ("风险信号", "Risk"),
    "run": ("运行信息", "Run"),
}

#: Channels and the bank, as the finance team names them.
CHANNEL_NAMES: dict[str, tuple[str, str]] = {
    "wechatpay": ("微信支付", "WeChat Pay"),
    "alipay": ("支付宝", "Alipay"),
    "unionpay": ("银联", "UnionPay"),
    "stripe": ("Stripe", "Stripe"),
    "paypal": ("PayPal", "PayPal"),
    "bank": ("银行", "Bank"),
}

#: Who acts on a case.
OWNERS: dict[str, tuple[str, str]] = {
    "channel_manager": ("渠道客户经理", "channel account manager"),
    "finance": ("财务", "finance"),
    "order_system": ("订单系统", "order system"),
    "cashier": ("出纳", "cashier"),
}

#: How urgent a case is (1 first).
SEVERITIES: dict[int, tuple[str, str]] = {1: ("高", "high"), 2: ("中", "medium"), 3: ("低", "low")}

#: A payout's state, as the Settlement sheet and the Summary say it.
PAYOUT_STATUSES: dict[str, tuple[str, str]] = {
    "matched": ("已到账", "received"),
    "in_transit": ("在途", "in transit"),
    "missing": ("未到账", "not received"),
    "amount_mismatch": ("到账金额不符", "received, amount differs"),
    "received_unchecked": ("已到账（结算日未对账）", "received (its date not reconciled yet)"),
}

#: A statement's state on the Summary.
STATEMENT_STATUSES: dict[str, tuple[str, str]] = {
    "ok": ("已读取", "read"),
    "statement missing": ("对账单缺失", "statement missing"),
    "statement rejected": ("对账单被拒收", "statement rejected"),
}

#: Column headers. Codes not listed here are shown as they are.
COLUMNS: dict[str, tuple[str, str]] = {
    # the worklist and the review sheet
    "severity": ("严重程度", "severity"),
    "class_label": ("类别", "class"),
    "amount_minor": ("金额", "amount"),
    "difference_minor": ("差额", "difference"),
    "currency": ("币种", "currency"),
    "channel": ("渠道", "channel"),
    "channel_txn_id": ("渠道交易号", "channel transaction id"),
    "order_no": ("订单号", "order no"),
    "entry_id": ("账务流水号", "ledger entry id"),
    "kind": ("交易类型", "kind"),
    "business_date": ("业务日期", "business date"),
    "age_days": ("账龄（天）", "age (days)"),
    "owner": ("责任方", "owner"),
    "action": ("建议处理", "suggested action"),
    "resolution": ("处理（resolution）", "resolution"),
    "note": ("备注（note）", "note"),
    "explanation": ("说明", "explanation"),
    "class_code": ("类别代码", "class code"),
    "outcome": ("结果代码", "outcome"),
    "reason_code": ("原因代码", "reason code"),
    "detail": ("detail (English)", "detail"),
    "rows": ("行数", "rows"),
    "source": ("source", "source"),
    "source_file": ("source_file", "source_file"),
    "source_line": ("source_line", "source_line"),
    "opened_on": ("opened_on", "opened_on"),
    "other_file": ("other_file", "other_file"),
    "other_line": ("other_line", "other_line"),
    # settlement
    "settlement_date": ("结算日期", "settlement date"),
    "merchant_account": ("商户号", "merchant account"),
    "payments_count": ("收款笔数", "payment count"),
    "refunds_count": ("退款笔数", "refund count"),
    "gross_minor": ("收款总额", "gross"),
    "refunds_minor": ("退款", "refunds"),
    "fees_minor": ("手续费", "fees"),
    "other_minor": ("其他（调整、换汇、渠道费用）", "other (adjustments, conversions, channel fees)"),
    "net_minor": ("净额", "net"),
    "withdrawn_minor": ("渠道提现", "withdrawn by the channel"),
    "payout_expected_minor": ("应回款", "payout expected"),
    "remainder_minor": ("留存渠道余额", "left in the channel balance"),
    "payout_received_minor": ("实际到账", "payout received"),
    "payout_diff_minor": ("回款差额", "payout difference"),
    "payout_status_label": ("回款状态", "payout status"),
    "payout_status": ("回款状态代码", "payout status code"),
    "bank_source_file": ("银行流水文件", "bank file"),
    "bank_source_line": ("银行流水行号", "bank line"),
    # open items, resolved, quarantine
    "status_label": ("状态", "status"),
    "status": ("状态代码", "status code"),
    "aging_bucket": ("账龄段", "age bucket"),
    "due_on": ("到期日", "due on"),
    "resolved_by": ("处理决定", "resolved by"),
    "fee_minor": ("本笔手续费", "fee"),
    "expected_fee_minor": ("合同手续费", "contracted fee"),
    "was": ("原结果", "was"),
    "account": ("科目", "account"),
    "counterpart": ("对方行", "other row"),
    "decided_by": ("处理人", "decided by"),
    "decided_at": ("处理时间", "decided at"),
    "effective_date": ("生效日期", "effective date"),
    "decision_id": ("决定编号", "decision id"),
    "reason": ("原因", "reason"),
    "column": ("列", "column"),
    "value": ("值", "value"),
    "match_rule": ("匹配规则", "match rule"),
    "counterpart_file": ("对方文件", "counterpart file"),
    "counterpart_line": ("对方行号", "counterpart line"),
    "counterpart_date": ("对方日期", "counterpart date"),
}

# -- risk signals (transforms/risk.py, the Risk sheet; docs/risk.md explains each) -------------------

#: Each risk signal in the finance team's words.
RISK_SIGNALS: dict[str, tuple[str, str]] = {
    "REFUND_RATE_AMOUNT": ("退款金额占比异常升高", "refunded share of the amount paid unusually high"),
    "REFUND_RATE_COUNT": ("退款笔数占比异常升高", "refunds per payment unusually high"),
    "REFUND_EXCEEDS_PAYMENT": ("退款超过原收款", "refunds exceed the payment"),
    "REFUND_LATE": ("退款距收款过久", "refund long after the payment"),
    "REFUND_ORPHAN": ("退款找不到原收款", "refund of a payment never seen"),
    "REFUND_OTHER_CHANNEL": ("退款走了别的渠道", "refund through another channel than the payment"),
    "PAID_TWO_CHANNELS": ("同一订单在两个渠道重复收款", "one order paid twice through two channels"),
    "FEE_ABOVE_CONTRACT": ("实际手续费率高于合同", "effective fee rate above the contract"),
    "FEE_DRIFT": ("手续费率持续上漂", "fee rate drifting up"),
    "PAYOUT_LATE": ("回款晚于承诺", "payout later than promised"),
    "PAYOUT_SKIPPED": ("回款漏了一天", "a day's payout skipped"),
    "VELOCITY": ("同一买家短时间内高频交易", "one buyer, many transactions in minutes"),
    "FAILED_ATTEMPTS": ("同一买家多次失败后成功", "many failed attempts before a success"),
    "AMOUNT_OUTLIER": ("金额异常", "amount far outside the usual"),
    "UNDER_THRESHOLD": ("金额扎堆在审核线下方", "amounts clustering just under a review threshold"),
}

#: The unit a signal's value and threshold are in.
RISK_UNITS: dict[str, tuple[str, str]] = {
    "ratio": ("比例", "ratio"),
    "bps": ("基点（0.01%）", "basis points"),
    "minor": ("金额（分）", "minor units"),
    "days": ("天", "days"),
    "count": ("笔", "count"),
}

#: The Risk sheet's column headers.
RISK_COLUMNS: dict[str, tuple[str, str]] = {
    "severity": ("严重程度", "severity"),
    "rule_label": ("风险信号", "signal"),
    "channel": ("渠道", "channel"),
    "subject": ("对象", "subject"),
    "value": ("实际值", "value"),
    "threshold": ("阈值", "threshold"),
    "baseline": ("基准（中位数）", "baseline (median)"),
    "unit_label": ("单位", "unit"),
    "window": ("观察窗口", "window"),
    "row_count": ("涉及行数", "rows behind"),
    "rows": ("涉及行（文件:行号）", "rows behind (file:line)"),
    "detail": ("detail (English)", "detail"),
    "rule": ("信号代码", "rule"),
    "currency": ("币种", "currency"),
}

#: Everything else a renderer writes: Summary captions, totals, the Run sheet.
PHRASES: dict[str, tuple[str, str]] = {
    "reconciled": ("{date} 对账完成", "Reconciled {date}"),
    "provisional": ("{date} 对账未完成", "PROVISIONAL {date}"),
    "channels_reconciled": ("{n} 个渠道已对账", "{n} channels reconciled"),
    "no_discrepancy": ("无待处理差异", "no discrepancy"),
    "class_at_stake": ("{label} {amount}（{n} 笔）", "{label}: {amount} ({n})"),
    "more_classes": ("另有 {classes} 类 {n} 笔（见“待处理差异”）", "{classes} more classes, {n} cases (see Discrepancies)"),
    "payout_in_transit": ("回款在途 {amount}", "payout {amount} in transit"),
    "payout_missing": ("回款未到账 {amount}", "payout {amount} not received"),
    "quarantined_rows": ("{n} 行数据被隔离", "{n} rows quarantined"),
    "ledger_not_read": ("账务数据未读取（{why}）：无法判断渠道交易是否漏记", "LEDGER NOT READ, {why}: no channel row is reported missing from it"),
    "statement_problem": ("{channel}：{status}", "{channel}: {status}"),
    "fee_not_checked": ("{channel}：手续费未核对（recon.toml 中没有 [channels.{code}] 合同费率）",
                        "{channel}: fee not checked (no [channels.{code}] contract in recon.toml)"),
    "not_checked": ("未核对", "Not checked"),
    "per_channel": ("各渠道", "Per channel"),
    "at_stake": ("待处理差异（按类别）", "Discrepancies by class"),
    "aging": ("挂账账龄", "Open items by age"),
    "chart_title": ("待处理差异金额（按类别、渠道）", "Amount at stake per class and channel"),
    "total": ("合计", "Total"),
    "filtered_total": ("合计（随筛选变化）", "Total (follows the filter)"),
    "none": ("无", "none"),
    "statement": ("对账单", "statement"),
    "footer_check": ("文件合计核对", "footer totals"),
    "footer_ok": ("✓ 一致", "✓ agree"),
    "footer_absent": ("文件无合计行", "no footer"),
    "transactions": ("交易笔数", "transactions"),
    "matched": ("已匹配", "matched"),
    "cases": ("待处理（笔）", "to act on (cases)"),
    "cases_amount": ("待处理金额", "amount at stake"),
    "payout_received": ("已到账", "payout received"),
    "payout_in_transit_column": ("在途", "payout in transit"),
    "payout_missing_column": ("未到账", "payout not received"),
    "cases_count": ("笔数", "cases"),
    "stake": ("涉及金额", "amount at stake"),
    "items": ("笔数", "items"),
    "outcome_rows": ("各结果行数（两侧分别计）", "rows per outcome (both sides counted)"),
    "run_facts": ("运行信息", "Run"),
    "sheet_spill": ("本表显示前 {shown:,} 行（共 {total:,} 行，最重要的在前）；其余 {rest:,} 行见 {where}",
                    "Sheet shows the first {shown:,} of {total:,} rows, most important first; {rest:,} more are in {where}"),
    "risk_high": ("{n} 个高风险信号（见“风险信号”）", "{n} high-severity risk signals (see Risk)"),
    "risk_none": ("无风险信号", "no risk signal"),
    "risk_chart": ("{label}：{subject}（序列与正常范围）", "{label}: {subject} (series against its band)"),
    "risk_band_low": ("正常范围下限", "band low"),
    "risk_band_high": ("正常范围上限", "band high"),
    "risk_more_rows": ("… 另 {n} 行见 risk.parquet", "… {n} more in risk.parquet"),
    "how_to_resolve": ("处理方法：在 resolution 列填写处理动作（accept_channel / accept_ledger / write_off / reject_match…），"
                       "在 note 列写明原因，然后运行 recon resolve --file 本工作簿",
                       "To resolve: write an action in the resolution column (accept_channel / accept_ledger / "
                       "write_off / reject_match…) and why in the note column, then run recon resolve --file this workbook"),
}


def word(table: Mapping[K, tuple[str, str]], key: K | None, language: str) -> str:
    """The word for ``key`` in ``language``; a key the table does not know is shown as it is."""
    entry = None if key is None else table.get(key)
    if entry is None:
        return str(key)
    return entry[LANGUAGES.index(language)]


def column_code(header: str) -> str:
    """The code of a column from its header in any language (``'订单号'`` → ``'order_no'``)."""
    for code, words in COLUMNS.items():
        if header in words:
            return code
    return header
