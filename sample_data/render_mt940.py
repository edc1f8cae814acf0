"""Byte-exact SWIFT MT940 renderer: the same planned statements as ``render_camt053``, as MT940.

:func:`render_mt940` takes exactly the arguments of :func:`sample_data.render_statements.render_camt053`
(so the generator can write either) and returns the same things: the bytes, per entry its 1-based
physical line (the line of its ``:61:`` tag) and the closing booked balance. Layout (FORMATS §8.2;
``tests/fixtures/formats/mt940_SAMPLEBANK_20260303.sta`` is two of these statements one after the
other, byte for byte):

* block-4 fields only, no ``{1:}{2:}`` envelope; ASCII (SWIFT ``x`` set), CRLF line ends;
* ``:20:S<yymmdd><ccy><seq:03d>``, ``:25:<account>``, ``:28C:<seq:05d>/001``,
  ``:60F:<C|D><prev yymmdd><ccy><amount>``;
* per entry ``:61:<value yymmdd><booking mmdd><C|D><amount><type><customer ref>//<bank ref>`` where
  the type is ``NCHG`` for a charge (sub-family ``CHRG``), ``NINT`` for interest (``INTR``), else
  ``NTRF``; the customer reference is the end-to-end id, ``NONREF`` when it is empty or
  ``NOTPROVIDED``; the bank reference is ``BankEntry.ref`` (camt's AcctSvcrRef: both adapters read it
  as ``bank_ref``, so it must be in the x set and at most 16 characters, MT940's 16x, for the two
  renderings to agree; longer ones are cut); then ``:86:`` = the remittance text + one space + the counterparty name (the text
  alone when there is none), in the ``x`` set (:func:`swift_x`), wrapped at word boundaries to lines
  of at most 65 characters, at most 6 lines (:func:`info_lines`);
* ``:62F:`` closing booked, ``:64:`` closing available (closing less the credits value-dated after
  the statement date, as camt's CLAV), then a ``-`` line.

Amounts are the camt renderer's numbers (``BankEntry.amount`` and ``opening`` in minor units of the
currency, as ``render_statements.major`` writes them) with a decimal comma: ``3157,24`` CNY,
``12,`` for 12 JPY (no decimals), ``1,234`` KWD (three). ``count_offset`` (camt:
added to NbOfNtries) is added to the written ``:62F:`` in minor units, so a deliberately rejected
statement fails its balance check (CONTROL_TOTAL_MISMATCH) as the camt one fails its count.
``owner`` and ``bic`` are accepted for the common signature; block 4 has no field for them.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from datetime import date

from sample_data.render_statements import EXPONENT, BankEntry, major

#: The SWIFT ``x`` character set (FORMATS §8.2), without the line end.
SWIFT_X_CHARACTERS = frozenset(string.ascii_letters + string.digits + "/-?:().,'+ ")
#: ``:86:`` is 6 lines of at most 65 characters (6*65x).
INFO_LINE_CHARACTERS = 65
INFO_MAX_LINES = 6
#: Currencies without minor unit (ISO 4217 exponent 0) this renderer may be asked for.


def swift_x(text: str) -> str:
    """``text`` in the SWIFT ``x`` set: runs of whitespace become one space, ``_`` becomes ``-``.

    Any other character outside the set (``@``, ``&``, ``_``'s cousins, non-ASCII) becomes ``.``;
    leading and trailing spaces go. ``swift_x("po_1Smpl  x@y") == "po-1Smpl x.y"``.
    """
    mapped = "".join(
        c if c in SWIFT_X_CHARACTERS else "-" if c == "_" else " " if c.isspace() else "." for c in text
    )
    return " ".join(mapped.split())


def info_lines(text: str) -> list[str]:
    """The ``:86:`` lines of ``text`` (already in the ``x`` set): greedy word wrap at 65, at most 6 lines.

    A word longer than a line is cut into 65-character pieces; text past the sixth line is dropped;
    a continuation line that would start with ``:`` or ``-`` (which would read as a new field or the
    end of the statement) gets a ``.`` in front. Joined by one space the lines give ``text`` back
    whenever no word was cut, nothing dropped and no ``.`` added.
    """
    lines: list[str] = []
    current = ""
    for word in text.split():
        while word:
            if current and len(current) + 1 + len(word) <= INFO_LINE_CHARACTERS:
                current, word = f"{current} {word}", ""
                continue
            if current:
                lines.append(current)
            if lines and word[0] in ":-":
                word = "." + word  # a continuation line must not open like a field or the end
            current, word = word[:INFO_LINE_CHARACTERS], word[INFO_LINE_CHARACTERS:]
    if current:
        lines.append(current)
    return lines[:INFO_MAX_LINES]


def mt940_amount(minor: int, ccy: str) -> str:
    """A non-negative amount in minor units, with a decimal comma: ``315724`` CNY → ``3157,24``, 12 JPY → ``12,``."""
    return major(minor, ccy).replace(".", ",") + ("," if EXPONENT[ccy.upper()] == 0 else "")


def _balance(tag: str, hundredths: int, day: date, ccy: str) -> str:
    mark = "C" if hundredths >= 0 else "D"
    return f":{tag}:{mark}{day.strftime('%y%m%d')}{ccy}{mt940_amount(abs(hundredths), ccy)}"


def type_code(entry: BankEntry) -> str:
    """The ``:61:`` transaction type of a planned entry, from its camt bank transaction code."""
    return {"CHRG": "NCHG", "INTR": "NINT"}.get(entry.sub_family, "NTRF")


def customer_reference(entry: BankEntry) -> str:
    """The ``:61:`` customer reference: the end-to-end id (x set, 16 characters), else ``NONREF``."""
    ref = swift_x(entry.end_to_end).replace(" ", "")[:16]
    return "NONREF" if entry.end_to_end in ("", "NOTPROVIDED") or not ref else ref


def info_text(entry: BankEntry) -> str:
    """What ``:86:`` says before wrapping: remittance text + one space + counterparty, in the x set."""
    return swift_x(f"{entry.text} {entry.party}" if entry.party else entry.text)


def render_mt940(
    entries: Sequence[BankEntry],
    *,
    day: date,
    prev_day: date,
    account: str,
    owner: str,
    bic: str,
    seq_nb: int,
    opening: int,
    count_offset: int = 0,
    ccy: str = "CNY",
) -> tuple[bytes, list[int], int]:
    """Render one MT940 statement booked on ``day`` for one account (the arguments of ``render_camt053``).

    Args:
        entries: The entries in statement order.
        day: Booking date of the statement (every ``:61:`` entry date, ``:62F:``).
        prev_day: Date of the opening balance ``:60F:``.
        account: Account number (``:25:``), ASCII.
        owner: Account owner name (not written: block 4 has no field for it).
        bic: Servicer BIC (not written).
        seq_nb: Statement number (``:20:`` and ``:28C:``).
        opening: Opening booked balance in hundredths (signed).
        count_offset: Added to the written closing balance in hundredths (non-zero only for a
            deliberately rejected file).
        ccy: Account currency.

    Returns:
        The file bytes (ASCII, CRLF), per entry the physical line of its ``:61:`` tag, and the
        closing booked balance in hundredths.
    """
    del owner, bic
    credits = sum(e.amount for e in entries if e.credit)
    debits = sum(e.amount for e in entries if not e.credit)
    closing = opening + credits - debits
    closing_available = closing - sum(e.amount for e in entries if e.credit and e.value_date > day)
    out = [
        f":20:S{day.strftime('%y%m%d')}{ccy}{seq_nb:03d}",
        f":25:{account}",
        f":28C:{seq_nb:05d}/001",
        _balance("60F", opening, prev_day, ccy),
    ]
    lines: list[int] = []
    for e in entries:
        mark = "C" if e.credit else "D"
        bank_ref = swift_x(e.ref).replace(" ", "")[:16]
        out.append(
            f":61:{e.value_date.strftime('%y%m%d')}{day.strftime('%m%d')}{mark}{mt940_amount(e.amount, ccy)}"
            f"{type_code(e)}{customer_reference(e)}//{bank_ref}"
        )
        lines.append(len(out))
        info = info_lines(info_text(e))
        if info:
            out.append(f":86:{info[0]}")
            out.extend(info[1:])
    out += [
        _balance("62F", closing + count_offset, day, ccy),
        _balance("64", closing_available, day, ccy),
        "-",
    ]
    return ("\r\n".join(out) + "\r\n").encode("ascii"), lines, closing
