"""Discrepancies as a worklist: one row per case, with its class, severity, owner and suggested action.

A *case* is what a person acts on once: a channel row and its ledger entry that disagree are one
case (not two rows); a group matched on its totals is one case; the copies of a duplicated
transaction are one case; a row alone (a payment nobody booked) is a case of its own; a payout that
did not arrive, or arrived with another amount, is a case from the settlement.

:data:`CASE_CLASSES` is the registry: every class a case can have, what it means in the finance
team's words, how urgent it is, who acts, what they should do, and which difference it carries.
A row's class is its reason code when the registry knows it (a finding such as ``ORPHAN_REFUND``
says more than the outcome it sits on), else its outcome (``duplicate_channel``/``duplicate_ledger``
and ``bank_*`` by side). Classes on the ``review`` sheet (fallback matches, in-transit rows) need a
look, not an action: they are kept off the worklist. Quarantined rows have their own sheet.

Everything is SQL over the ``outcomes`` relation (see :mod:`transforms.report`) and a
``settlement_lines`` relation (SettlementLine rows), so that ten million rows cost a group-by.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from schemas.currency import CURRENCY_EXPONENT
from schemas.outputs import SETTLED_OUTCOMES
from transforms.money import CURRENCY_SYMBOL


@dataclass(frozen=True)
class CaseClass:
    """One class of case.

    Attributes:
        code: the outcome, reason code or settlement status it stands for (the tools' word).
        zh: the class in the finance team's words; en: the same in English.
        severity: 1 (money moved without its counterpart, or a check failed) … 3 (a look only).
        sheet: ``worklist`` (someone must act) or ``review`` (informational).
        owner: who acts, a key of ``transforms.labels.OWNERS``.
        action_zh, action_en: what that person should do.
        difference: which difference the case carries: ``amount`` (channel − ledger, a missing side
            counting 0), ``fee`` (contracted − charged: positive when the channel charged more than
            the contract), ``payout`` (received − expected), or ``none`` (the amount is the point).
        explain_zh, explain_en: a sentence with ``{channel}``, ``{ledger}``, ``{difference}``,
            ``{fee}``, ``{expected_fee}`` (magnitudes), ``{amount}``, ``{rows}``, ``{channel_rows}``, ``{ledger_rows}`` filled in from the case.
    """

    code: str
    zh: str
    en: str
    severity: int
    sheet: str
    owner: str
    action_zh: str
    action_en: str
    difference: str
    explain_zh: str
    explain_en: str


CASE_CLASSES: dict[str, CaseClass] = {c.code: c for c in (
    CaseClass("missing_in_ledger", "单边账（渠道有、账务无）", "one-sided: at the channel, not in the ledger",
              1, "worklist", "order_system",
              "在订单系统查找该笔订单：漏记则补记账务；确无订单则发起退款",
              "find the order: book it if it was missed, refund the payment if there is none",
              "amount", "渠道收款 {channel}，账务无对应记录", "the channel shows {channel}; the ledger has no entry"),
    CaseClass("missing_in_channel", "单边账（账务有、渠道无）", "one-sided: in the ledger, not at the channel",
              1, "worklist", "channel_manager",
              "向渠道核实是否收款；确未收款则冲销该笔账务",
              "ask the channel whether it was paid; if not, reverse the entry",
              "amount", "账务记录 {ledger}，渠道对账单无此交易", "the ledger shows {ledger}; the channel statement has no such transaction"),
    CaseClass("amount_mismatch", "差错账（金额不符）", "amounts differ",
              1, "worklist", "finance",
              "核对订单金额，按正确一方调整账务或请渠道更正",
              "check the order's amount; correct the ledger or ask the channel to correct",
              "amount", "渠道 {channel}，账务 {ledger}，差额 {difference}",
              "channel {channel}, ledger {ledger}, difference {difference}"),
    CaseClass("currency_mismatch", "差错账（币种不符）", "currencies differ",
              1, "worklist", "order_system",
              "核对订单币种，修正账务", "check the order's currency and correct the ledger",
              "none", "渠道 {channel}，账务 {ledger}", "channel {channel}, ledger {ledger}"),
    CaseClass("fx_mismatch", "汇率差异", "conversion differs from the channel's rate",
              1, "worklist", "channel_manager",
              "按渠道公布的汇率核对结算金额，差额向渠道追讨", "check the settled amount against the channel's own rate and claim the difference",
              "none", "交易金额 {channel}，按渠道汇率结算金额与实际结算不符", "transaction {channel}: the settled amount differs from the channel's rate"),
    CaseClass("CHANNEL_ADJUSTMENT", "渠道调整（拒付、争议等）", "channel adjustment (chargeback, dispute)",
              1, "worklist", "finance",
              "核实拒付或争议原因，补记账务并决定是否申诉", "find out why the channel charged back, book it and decide whether to contest",
              "amount", "渠道调整 {channel}，账务无对应记录", "the channel adjusted {channel}; the ledger has no entry"),
    CaseClass("status_mismatch", "差错账（状态不符）", "statuses differ",
              1, "worklist", "order_system",
              "渠道与账务的交易状态不一致：以渠道结果为准更新订单状态",
              "the channel and the ledger disagree on the status: update the order to the channel's result",
              "none", "渠道与账务状态不一致，金额 {channel}", "channel and ledger disagree on the status of {channel}"),
    CaseClass("duplicate_channel", "重复记录（渠道）", "duplicated at the channel",
              1, "worklist", "channel_manager",
              "请渠道确认是否重复扣款；重复则要求退回", "ask the channel whether it charged twice; if so, claim it back",
              "none", "同一交易在渠道对账单出现 {channel_rows} 次，每次 {amount}", "the same transaction is on the statement {channel_rows} times, {amount} each"),
    CaseClass("duplicate_ledger", "重复记录（账务）", "duplicated in the ledger",
              1, "worklist", "order_system",
              "核对重复入账，冲销多记的一笔", "check the double booking and reverse the extra entry",
              "none", "同一笔账务记录 {ledger_rows} 次，每次 {amount}", "the same entry is booked {ledger_rows} times, {amount} each"),
    CaseClass("DUPLICATE_ACROSS_DAYS", "跨日重复（渠道）", "the same transaction on two days",
              1, "worklist", "channel_manager",
              "请渠道确认该交易为何出现在两天的对账单中", "ask the channel why the transaction is on two days' statements",
              "none", "该渠道交易在此前日期的对账单中已出现，金额 {channel}",
              "the transaction {channel} is on an earlier date's statement too"),
    CaseClass("DUPLICATE_PAYMENT", "重复支付（需退款）", "paid twice: a refund is due",
              1, "worklist", "finance",
              "同一订单被重复支付：为多付的一笔发起退款", "the order was paid twice: refund the extra payment",
              "none", "同一订单多次支付，本笔 {channel}", "the order was paid more than once; this payment {channel}"),
    CaseClass("REFUND_EXCEEDS_CAPTURE", "退款超过原支付", "refunds exceed the payment",
              1, "worklist", "finance",
              "核对该订单的全部退款，追回多退金额", "check every refund of the order and recover what was refunded too much",
              "none", "该订单退款合计超过支付金额，本笔 {channel}", "the order's refunds exceed its payments; this refund {channel}"),
    CaseClass("fee_mismatch", "手续费差异", "fee differs from the contract",
              2, "worklist", "channel_manager",
              "按合同费率与渠道核对，追回多收的手续费", "check against the contracted rate and claim back what was overcharged",
              "fee", "实收手续费 {fee}，合同手续费 {expected_fee}，差额 {difference}（正数为渠道多收）",
              "charged {fee}, contracted {expected_fee}, difference {difference} (positive: charged above the contract)"),
    CaseClass("FEE_SIGN", "手续费方向异常", "fee with the wrong sign",
              2, "worklist", "channel_manager",
              "手续费方向与交易类型不符：请渠道说明", "the fee goes the wrong way for its transaction: ask the channel",
              "none", "手续费 {fee}", "fee {fee}"),
    CaseClass("ORPHAN_REFUND", "退款找不到原支付", "refund without its payment",
              2, "worklist", "finance",
              "查找原支付：确认退款是否应付", "find the payment and confirm the refund was due",
              "none", "回溯期内的对账单中找不到该退款的原支付，退款 {channel}",
              "no statement of the look-back window shows this refund's payment; refund {channel}"),
    CaseClass("SPLIT_PAYMENT", "拆分支付（多渠道）", "one order paid through several channels",
              2, "worklist", "finance",
              "同一订单经多个渠道支付、账务只记一笔：按渠道拆分账务", "one order paid through several channels, booked once: split the entry",
              "none", "本渠道支付 {channel}，账务 {ledger}", "this channel {channel}, ledger {ledger}"),
    CaseClass("bank_unexplained", "银行流水无法解释", "bank entry nobody explains",
              2, "worklist", "cashier",
              "查明该笔银行收支的来源并入账", "find out what the bank entry is and book it",
              "none", "银行流水 {amount} 不对应任何渠道回款", "bank entry {amount} matches no channel payout"),
    CaseClass("unexplained", "无法解释", "unexplained",
              2, "worklist", "finance",
              "查明来源", "find out what it is",
              "none", "金额 {amount}", "amount {amount}"),
    CaseClass("payout_missing", "回款未到账", "payout not received",
              1, "worklist", "cashier",
              "向渠道查询该日结算款去向", "ask the channel where the day's payout went",
              "payout", "应回款 {ledger}，银行未收到", "expected {ledger}, the bank received nothing"),
    CaseClass("payout_mismatch", "回款金额不符", "payout amount differs",
              1, "worklist", "channel_manager",
              "向渠道核对结算明细与到账金额", "reconcile the payout with the channel's settlement detail",
              "payout", "应回款 {ledger}，实际到账 {channel}，差额 {difference}",
              "expected {ledger}, received {channel}, difference {difference}"),
    CaseClass("matched_fallback", "复核：非交易号匹配", "check: matched without the channel's id",
              3, "review", "finance",
              "确认匹配无误；有误则填写 reject_match", "confirm the match; if it is wrong, write reject_match",
              "none", "按订单号、金额或时间匹配，渠道 {channel}，账务 {ledger}",
              "matched by order number, amount or time: channel {channel}, ledger {ledger}"),
    CaseClass("in_transit", "在途（日终前入账）", "in transit (booked at the end of the day)",
              3, "review", "finance",
              "无需处理：次日对账自动核销", "nothing to do: tomorrow's run closes it",
              "none", "日终前入账 {amount}，预计次日到达", "{amount} booked at the end of the day, expected tomorrow"),
    CaseClass("bank_in_transit", "回款待核（结算日未对账）", "payout whose date is not reconciled yet",
              3, "review", "cashier",
              "对账该结算日后自动核对", "checked once its settlement date is reconciled",
              "none", "银行到账 {amount}", "bank credit {amount}"),
    CaseClass("CROSS_DATE", "跨日交易", "transaction of another date",
              3, "review", "finance",
              "确认交易归属日期", "confirm which date the transaction belongs to",
              "none", "渠道 {channel}，账务 {ledger}", "channel {channel}, ledger {ledger}"),
)}  # fmt: skip

#: Settlement statuses that are cases (a payout received in full, or still in transit, is not).
PAYOUT_CASES = {"missing": "payout_missing", "amount_mismatch": "payout_mismatch"}
#: Reason codes that name a class of their own (a finding says more than its outcome).
REASON_CLASSES = tuple(code for code in CASE_CLASSES if code.isupper())

#: The columns of a case, in the order a person works (the workbook's order).
CASE_SCHEMA: dict[str, pl.DataType] = {
    "severity": pl.Int64(), "class_code": pl.String(), "amount_minor": pl.Int64(), "difference_minor": pl.Int64(),
    "currency": pl.String(), "channel": pl.String(), "channel_txn_id": pl.String(), "order_no": pl.String(),
    "entry_id": pl.String(), "kind": pl.String(), "business_date": pl.Date(), "age_days": pl.Int64(),
    "fee_minor": pl.Int64(), "expected_fee_minor": pl.Int64(), "channel_amount_minor": pl.Int64(),
    "ledger_amount_minor": pl.Int64(), "rows": pl.Int64(), "channel_rows": pl.Int64(), "ledger_rows": pl.Int64(), "outcome": pl.String(), "reason_code": pl.String(),
    "detail": pl.String(), "source": pl.String(), "source_file": pl.String(), "source_line": pl.Int64(),
    "opened_on": pl.Date(), "other_file": pl.String(), "other_line": pl.Int64(), "sheet": pl.String(),
    "stake_minor": pl.Int64(), "explanation": pl.String(),
}  # fmt: skip


def case_classes_frame() -> pl.DataFrame:
    """``case_classes``: the registry as a relation (code, severity, sheet, difference)."""
    return pl.DataFrame(
        [(c.code, c.severity, c.sheet, c.difference) for c in CASE_CLASSES.values()],
        schema={"code": pl.String, "severity": pl.Int64, "sheet": pl.String, "difference": pl.String},
        orient="row",
    )


def _codes(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)


def cases_sql() -> str:
    """SQL: every case of the day, one row each (CASE_SCHEMA without ``explanation``), most urgent first.

    Reads ``outcomes`` (Outcome rows with ``row_date`` and ``row_id``), ``settlement_lines`` and
    ``case_classes``; ``$business_date`` is bound. Ordered by sheet, severity, then the amount at
    stake (the difference where there is one, else the amount), largest first, then by file and line.
    """
    settled = _codes(SETTLED_OUTCOMES)
    reasons = _codes(REASON_CLASSES)
    payout_cases = " ".join(f"when '{status}' then '{code}'" for status, code in PAYOUT_CASES.items())
    return f"""
    with picked as (
        select *,
               case when reason_code in ({reasons}) then reason_code
                    when outcome = 'duplicate' then 'duplicate_' || source
                    when source = 'bank' then 'bank_' || outcome
                    else outcome end as class_code,
               case source when 'channel' then 0 when 'ledger' then 1 else 2 end as side_rank
        from outcomes
        where outcome <> 'quarantined'
          and (outcome not in ({settled}) or reason_code in ({reasons}))
          and not (source = 'bank' and outcome = 'amount_mismatch')   -- the settlement line is the case
    ),
    classed as (  -- a class the registry does not know (never expected) is shown as unexplained, not dropped
        select * replace (case when class_code in ({_codes(list(CASE_CLASSES))}) then class_code
                               else 'unexplained' end as class_code)
        from picked
    ),
    keyed as (
        select p.*, k.severity, k.sheet, k.difference,
               case
                 when match_rule = 'order_group' then
                   'G|' || coalesce(channel, '') || '|' || coalesce(order_no, '') || '|' || coalesce(kind, '')
                 when outcome = 'duplicate' and coalesce(channel_txn_id, order_no) is not null then
                   'D|' || coalesce(channel, '') || '|' || coalesce(channel_txn_id, order_no)
                 when source = 'ledger' and counterpart_file is not null and counterpart_date is null then
                   counterpart_file || ':' || counterpart_line
                 else source_file || ':' || source_line
               end as case_key
        from classed p join case_classes k on k.code = p.class_code
    ),
    cases as (
        select
            case_key,
            min(severity) as severity,
            first(class_code order by severity, side_rank, row_id, source_file, source_line) as class_code,
            first(sheet order by severity, side_rank, row_id, source_file, source_line) as sheet,
            first(difference order by severity, side_rank, row_id, source_file, source_line) as difference,
            first(outcome order by severity, side_rank, row_id, source_file, source_line) as outcome,
            first(reason_code order by severity, side_rank, row_id, source_file, source_line) as reason_code,
            first(detail order by severity, side_rank, row_id, source_file, source_line) as detail,
            first(source order by side_rank, row_id, source_file, source_line) as source,
            first(source_file order by side_rank, row_id, source_file, source_line) as source_file,
            first(source_line order by side_rank, row_id, source_file, source_line) as source_line,
            first(row_date order by side_rank, row_id, source_file, source_line) as opened_on,
            first(amount_minor order by side_rank, row_id, source_file, source_line) as first_amount,
            first(currency order by side_rank, row_id, source_file, source_line) as currency,
            first(channel order by side_rank, row_id, source_file, source_line) as channel,
            first(kind order by side_rank, row_id, source_file, source_line) as kind,
            first(channel_txn_id order by side_rank, row_id) filter (where channel_txn_id is not null) as channel_txn_id,
            first(order_no order by side_rank, row_id) filter (where order_no is not null) as order_no,
            first(entry_id order by side_rank desc, row_id) filter (where entry_id is not null) as entry_id,
            sum(amount_minor) filter (where source = 'channel')::bigint as channel_amount_minor,
            sum(amount_minor) filter (where source = 'ledger')::bigint as ledger_amount_minor,
            sum(fee_minor) filter (where source = 'channel')::bigint as fee_minor,
            sum(expected_fee_minor) filter (where source = 'channel')::bigint as expected_fee_minor,
            min(row_date) as business_date,
            max(greatest(coalesce(date_diff('day', row_date, $business_date::date), 0), 0))::bigint as age_days,
            count(*)::bigint as rows,
            count(*) filter (where source = 'channel') as channel_rows,
            count(*) filter (where source = 'ledger') as ledger_rows,
            count(distinct source) as sides,
            first(counterpart_file order by side_rank, row_id) as counterpart_file,
            first(counterpart_line order by side_rank, row_id) as counterpart_line,
            first(source_file order by side_rank desc, row_id) as last_file,
            first(source_line order by side_rank desc, row_id) as last_line
        from keyed group by case_key
    ),
    from_rows as (
        select severity,
               case when class_code = 'duplicate_channel' and channel_rows < 2 and ledger_rows >= 2
                    then 'duplicate_ledger' else class_code end as class_code,
               case when case_key like 'G|%' then coalesce(channel_amount_minor, ledger_amount_minor)
                    else first_amount end as amount_minor,
               case difference
                 when 'amount' then coalesce(channel_amount_minor, 0) - coalesce(ledger_amount_minor, 0)
                 when 'fee' then expected_fee_minor - fee_minor
               end as difference_minor,
               currency, coalesce(channel, source) as channel, channel_txn_id, order_no, entry_id, kind, business_date, age_days,
               fee_minor, expected_fee_minor, channel_amount_minor, ledger_amount_minor, rows, channel_rows,
               ledger_rows, outcome,
               reason_code, detail, source, source_file, source_line, opened_on,
               -- the other side, when it is part of the case (a decision on the case resolves both)
               case when sides = 2 and rows = 2 then coalesce(counterpart_file, last_file) end as other_file,
               case when sides = 2 and rows = 2 then coalesce(counterpart_line, last_line) end as other_line,
               sheet
        from cases
    ),
    from_payouts as (
        select k.severity, k.code as class_code, s.payout_expected_minor as amount_minor,
               coalesce(s.payout_received_minor, 0) - s.payout_expected_minor as difference_minor,
               s.currency, s.channel, null as channel_txn_id, null as order_no, s.merchant_account as entry_id,
               'payout' as kind, s.settlement_date as business_date,
               greatest(date_diff('day', s.settlement_date, $business_date::date), 0)::bigint as age_days,
               s.fees_minor as fee_minor, null::bigint as expected_fee_minor,
               s.payout_received_minor as channel_amount_minor, s.payout_expected_minor as ledger_amount_minor,
               1::bigint as rows, 0::bigint as channel_rows, 0::bigint as ledger_rows, s.payout_status as outcome, upper('payout_' || s.payout_status) as reason_code,
               null as detail, 'bank' as source, coalesce(s.bank_source_file, '') as source_file,
               s.bank_source_line as source_line, $business_date::date as opened_on,
               null as other_file, null::bigint as other_line, k.sheet
        from settlement_lines s
        join case_classes k on k.code = (case s.payout_status {payout_cases} end)
    ),
    every as (select * from from_rows union all by name select * from from_payouts)
    select *, abs(coalesce(difference_minor, amount_minor)) as stake_minor
    from every
    order by case sheet when 'worklist' then 0 else 1 end, severity, stake_minor desc nulls last,
             channel nulls last, source_file, source_line nulls last
    """  # noqa: S608 - names and codes from this module's registries


def money_words_sql(amount: str, currency: str) -> str:
    """SQL: signed minor units as a person reads them, ``-¥1,234.50`` (as ``transforms.money.format_money``).

    Symbols and exponents come from our own tables, never from statement text.
    """
    prefix = " ".join(f"when '{code}' then '{symbol}'" for code, symbol in CURRENCY_SYMBOL.items())
    exponents = " ".join(f"when '{code}' then {e}" for code, e in sorted(CURRENCY_EXPONENT.items()))
    units = " ".join(f"when '{code}' then {10**e}" for code, e in sorted(CURRENCY_EXPONENT.items()))
    e = f"(case {currency} {exponents} end)"
    unit = f"(case {currency} {units} end)"
    number = (
        f"format('{{:,}}', abs({amount}) // {unit}) || "
        f"case when {e} = 0 then '' else '.' || lpad((abs({amount}) % {unit})::varchar, {e}::integer, '0') end"
    )
    symbol = f"coalesce(case {currency} {prefix} end, {currency} || ' ')"
    known = (f"(case when {amount} < 0 then '-' else '' end) || {symbol} || {number}")
    return (f"case when {amount} is null then null when {e} is null then {amount}::varchar || ' minor units' "
            f"else {known} end")


def _quoted(text: str) -> str:
    """Our own text inside a SQL string literal (an apostrophe doubled)."""
    return text.replace("'", "''")


def explanation_sql(language: str) -> str:
    """SQL over ``cases`` (CASE_SCHEMA rows): the class's sentence with the case's amounts filled in."""
    column = "explain_zh" if language == "zh" else "explain_en"
    templates = " ".join(
        f"when '{c.code}' then '{_quoted(getattr(c, column))}'" for c in CASE_CLASSES.values()
    )
    filled = f"(case class_code {templates} end)"
    for name, amount in (("{amount}", "amount_minor"), ("{channel}", "channel_amount_minor"), ("{ledger}", "ledger_amount_minor"),
                         ("{difference}", "difference_minor"), ("{fee}", "abs(fee_minor)"),
                         ("{expected_fee}", "abs(expected_fee_minor)")):
        filled = f"replace({filled}, '{name}', coalesce({money_words_sql(amount, 'currency')}, ''))"
    for name in ("rows", "channel_rows", "ledger_rows"):
        filled = f"replace({filled}, '{{{name}}}', {name}::varchar)"
    return filled
