"""The workbook kit's own data-row path: rows written as SpreadsheetML text and spliced in at their markers read
back exactly (escaping, whitespace, CR, formula-looking text, empty cells, several runs of rows between
openpyxl's own rows, a long sheet), and the sheet is well-formed XML with every cell's reference."""
import io
import zipfile
from datetime import UTC, datetime
from decimal import Decimal

from lxml import etree
from openpyxl import load_workbook

from obcms.reports.xlsx import Book, Column, money, percent, text

COLUMNS = [Column("Name", 30), Column("Amount", 14, "money"), Column("Rate", 10, "percent")]
AS_OF = datetime(2026, 12, 3, 4, 0, tzinfo=UTC)
TRICKY = ["a & b <c> \"d\" 'e'", "  leading and trailing  ", "line\r\nbreak\ttab", "=HYPERLINK(\"x\")",
          "+1", "ünïcødé · ₱ – 日本", "]]> </t></is></c>", "bell\x07gone"]


def _book(rows_before, rows_after):
    book = Book(AS_OF)
    sheet = book.sheet("Kit", COLUMNS, [("Kit test", None), ("Fiscal year", "2026")])
    for name, amount, rate in rows_before:
        sheet.row([text(name), money(amount), percent(rate)])
    sheet.blank()  # an openpyxl row between two runs of data rows
    for name, amount, rate in rows_after:
        sheet.row([text(name), money(amount), percent(rate)])
    sheet.total_row("TOTAL", {1: sum((r[1] for r in rows_before + rows_after if r[1] is not None), Decimal("0"))})
    out = io.BytesIO()
    book.save(out)
    return out.getvalue(), sheet


def test_tricky_text_and_empty_cells_read_back_exactly():
    before = [(value, Decimal("1.25"), Decimal("12.5")) for value in TRICKY]
    after = [(None, None, None), ("after the blank", Decimal("1000000.01"), None)]
    data, sheet = _book(before, after)
    ws = load_workbook(io.BytesIO(data))["Kit"]
    first = sheet.first_data_row
    names = [ws.cell(first + i, 1).value for i in range(len(TRICKY))]
    expected = [v.replace("\x07", "") for v in TRICKY]
    assert [n.replace("\r\n", "\n") for n in names] == [v.replace("\r\n", "\n") for v in expected]
    assert all(ws.cell(first + i, 1).data_type == "s" for i in range(len(TRICKY)))  # "=…" stays text
    assert ws.cell(first, 2).value == 1.25 and ws.cell(first, 2).number_format == "#,##0.00"
    assert ws.cell(first, 3).value == 0.125 and ws.cell(first, 3).number_format == "0.00%"
    gap = first + len(TRICKY)
    assert all(ws.cell(gap, c).value is None for c in (1, 2, 3))
    assert [ws.cell(gap + 1, c).value for c in (1, 2, 3)] == [None, None, None]
    assert [ws.cell(gap + 2, c).value for c in (1, 2)] == ["after the blank", 1000000.01]
    assert ws.cell(gap + 3, 1).value == "TOTAL" and ws.cell(gap + 3, 2).value.startswith("=SUM(B")


def test_the_sheet_is_well_formed_with_every_cell_referenced_and_no_marker_left():
    rows = [(f"row {i} & more", Decimal(i) / 100, Decimal(i % 100)) for i in range(20_000)]
    data, _ = _book(rows[:10_000], rows[10_000:])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml")
    assert b"obcms-rows" not in xml
    root = etree.fromstring(xml)
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    rows_seen = root.findall(".//m:sheetData/m:row", ns)
    numbers = [int(r.get("r")) for r in rows_seen]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert all(c.get("r") for c in root.iterfind(".//m:c", ns))
    ws = load_workbook(io.BytesIO(data), read_only=True)["Kit"]
    values = [r[0] for r in ws.iter_rows(values_only=True) if r and isinstance(r[0], str) and r[0].startswith("row ")]
    assert values == [f"row {i} & more" for i in range(20_000)]


def test_same_content_same_bytes():
    rows = [("x", Decimal("1.00"), Decimal("2"))] * 50
    assert _book(rows, rows)[0] == _book(rows, rows)[0]


def test_prints_landscape_on_the_page_width_with_the_header_whole_on_every_page():
    book = Book(AS_OF)
    columns = [Column("Disbursement Rate (%)", 10, "percent"), Column("Activity/Task", 40)]
    sheet = book.sheet("Print", columns, [("Print test", None)])
    sheet.row([percent(Decimal("5")), text("Phase 1", indent=2)])
    out = io.BytesIO()
    book.save(out)
    ws = load_workbook(io.BytesIO(out.getvalue()))["Print"]
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.print_title_rows == f"${sheet.header_row}:${sheet.header_row}"
    assert ws.column_dimensions["A"].width >= len("Disbursement") * 1.2  # never cut mid-word
    assert ws.row_dimensions[sheet.header_row].height == 30  # "Disbursement" / "Rate (%)"
    indented = ws.cell(sheet.first_data_row, 2).alignment
    assert (indented.horizontal, indented.indent) == ("left", 2)  # Excel indents left-aligned text only
