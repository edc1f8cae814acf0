"""transforms/labels.py: one word per code and language, and headers mapped back to their codes."""

from __future__ import annotations

from transforms.labels import (
    CHANNEL_NAMES,
    COLUMNS,
    LANGUAGES,
    PHRASES,
    SEVERITIES,
    SHEETS,
    column_code,
    word,
)


def test_a_word_in_each_language_and_an_unknown_code_as_it_is() -> None:
    assert [word(CHANNEL_NAMES, "wechatpay", language) for language in LANGUAGES] == ["微信支付", "WeChat Pay"]
    assert word(SEVERITIES, 1, "zh") == "高" and word(SEVERITIES, 3, "en") == "low"
    assert word(CHANNEL_NAMES, "applepay", "zh") == "applepay" and word(CHANNEL_NAMES, None, "en") == "None"


def test_headers_map_back_to_codes_in_either_language() -> None:
    for language in LANGUAGES:  # one header, one column: a filled-in workbook reads back unambiguously
        headers = [word(COLUMNS, code, language) for code in COLUMNS]
        assert len(set(headers)) == len(headers), language
    for code in COLUMNS:
        assert {column_code(word(COLUMNS, code, language)) for language in LANGUAGES} == {code}
    assert column_code("订单号") == "order_no" and column_code("order no") == "order_no"
    assert column_code("备注（note）") == "note" and column_code("note") == "note" and column_code("?") == "?"


def test_sheet_names_are_unique_and_fit_excel() -> None:
    for language in LANGUAGES:
        names = [word(SHEETS, key, language) for key in SHEETS]
        assert len(set(names)) == len(names)
        assert all(len(name) <= 31 and not set(name) & set("[]:*?/\\") for name in names)


def test_every_phrase_has_the_same_placeholders_in_both_languages() -> None:
    import string

    for key, (zh, en) in PHRASES.items():
        fields = [{f for _, f, _, _ in string.Formatter().parse(text) if f} for text in (zh, en)]
        assert fields[0] == fields[1], key
