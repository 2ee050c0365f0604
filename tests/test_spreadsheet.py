from data.core.spreadsheet import rows_to_csv, safe_cell

USES_DATABASE = False


def test_formula_cells_are_neutralised():
    assert safe_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert safe_cell("+34650104877") == "'+34650104877"
    assert safe_cell("-1") == "'-1"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell(-1) == "-1" and safe_cell(None) == "" and safe_cell("plain") == "plain"


def test_rows_to_csv_quotes_and_neutralises():
    text = rows_to_csv([{"label": "a,b", "n": 1}, {"label": "=1+1", "n": 2}])
    assert text == 'label,n\n"a,b",1\n\'=1+1,2\n'
