"""One spreadsheet rule for every CSV and XLSX: a cell a spreadsheet would evaluate is neutralised, a plain number
(an E.164 phone number, a negative amount) is left exactly as it is."""

import csv
import io
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from data.core.spreadsheet import PLAIN_NUMBER, is_formula, rows_to_csv, safe_cell, xlsx_value

USES_DATABASE = False


def test_formula_cells_are_neutralised():
    assert safe_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert safe_cell("+cmd|' /C calc'!A0") == "'+cmd|' /C calc'!A0"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell("-2+3") == "'-2+3"
    assert safe_cell("\t=1") == "'\t=1" and safe_cell("\r=1") == "'\r=1"
    assert safe_cell(-1) == "-1" and safe_cell(None) == "" and safe_cell("plain") == "plain"


def test_fullwidth_and_small_forms_are_caught():
    for text in ("＝1+1", "＋cmd", "－1-1", "＠SUM(A1)", "﹦1+1", "﹢cmd", "﹣x", "﹫SUM(A1)"):
        assert safe_cell(text) == "'" + text, text


def test_plain_numbers_stay_as_they_are():
    for text in ("+34293836010", "-12.5", "+1", "-0", "-3e5", "+44,5", "0034911000111", "12"):
        assert safe_cell(text) == text, text


def test_rows_to_csv_quotes_and_neutralises():
    text = rows_to_csv([{"label": "a,b", "n": 1}, {"label": "=1+1", "n": 2}, {"label": "+34293836010", "n": -3}])
    assert text == 'label,n\n"a,b",1\n\'=1+1,2\n+34293836010,-3\n'


@given(st.text(max_size=30))
def test_a_neutralised_cell_is_the_text_after_one_apostrophe_and_no_cell_starts_a_formula(text):
    cell = safe_cell(text)
    assert cell in (text, "'" + text)
    if cell == text and text:
        first = unicodedata.normalize("NFKC", text[0])[:1]
        assert first not in "=+-@\t\r" or PLAIN_NUMBER.fullmatch(text)
    else:
        assert is_formula(text) or not text
    assert list(csv.reader(io.StringIO(rows_to_csv([{"x": text}]), newline=""))) == [["x"], [cell]]


@given(st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True))
def test_e164_numbers_are_never_touched(number):
    assert safe_cell(number) == number


def test_xlsx_cells_are_typed():
    assert xlsx_value(12) == (12, None) and xlsx_value(-1.5) == (-1.5, None)
    assert xlsx_value("+34293836010") == ("+34293836010", "s") and xlsx_value("=1+1") == ("=1+1", "s")
    assert xlsx_value(1234567890123456789) == ("1234567890123456789", "s")  # more digits than a spreadsheet keeps
    assert xlsx_value(None) == (None, None)
