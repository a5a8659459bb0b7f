"""The workbook kit every report uses: openpyxl in write-only mode (rows go to disk as they are written, so
memory stays flat whatever the number of rows), one set of styles, a title block, typed cells and a file
whose bytes depend only on its content and its "as of" time.

    book = Book(as_of)
    sheet = book.sheet("Budget Execution Report", COLUMNS, title_block)   # title block, header, frozen, widths
    sheet.row([text("MSSD-2026-001"), money(Decimal("1.00")), percent(Decimal("25.34")), …])
    sheet.total_row("TOTAL", {5: Decimal("12.00")})                     # =SUM(…) formulas, values cached
    book.save(path_or_file)

Cells:
- money: a Decimal written as a number, format `#,##0.00`;
- percent: a percentage (25.34) written as the number 0.2534 with format `0.00%` (what Excel shows as 25.34 %);
- text: always a string cell (inline string), never a formula: text that starts with = + - @ (or a tab/CR) is
  also marked quotePrefix, so that editing it in Excel keeps it text.
TOTAL cells are `=SUM(…)` formulas. openpyxl never writes a formula's cached value (in either mode), so the
book adds it while it copies the sheet into the file (`<f>SUM(E8:E9)</f><v>123.45</v>`): readers that do not
calculate (openpyxl with data_only=True, viewers, pandas) see the totals too; Excel and LibreOffice recalculate.

Speed: data rows skip openpyxl's cell-by-cell path (a cell object, a value check and an element per cell).
Sheet writes them as SpreadsheetML text (escaped here, every cell with its reference and the style id of its
look) into a file of its own, and puts a marker comment in openpyxl's stream where each run of data rows
stands; the book splices the rows in at the markers while it copies the sheet into the zip (see
Sheet._take_over_rows and _FixedTimeZip.write). The title block, header and TOTAL rows are openpyxl's cells.

Identical bytes: the workbook's created/modified properties and the zip entries' times are the "as of" time,
and the zip is always written to a seekable file (no data descriptors), so a workbook made at once and one made
by a job from the same data are the same bytes.
"""
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.compat import safe_string
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.writer.excel import ExcelWriter
from openpyxl.xml import LXML

if LXML:  # openpyxl streams through lxml (requirements.txt): the marker must be one of its comments
    from lxml.etree import Comment
else:
    from xml.etree.ElementTree import Comment

MONEY_FORMAT = "#,##0.00"
PERCENT_FORMAT = "0.00%"
SCORE_FORMAT = "0.00"
TIMESTAMP_FORMAT = "yyyy-mm-dd hh:mm:ss"
NUMBER_FORMATS = {"money": MONEY_FORMAT, "percent": PERCENT_FORMAT, "score": SCORE_FORMAT,
                  "datetime": TIMESTAMP_FORMAT}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
HUNDRED = Decimal(100)
BOLD = Font(bold=True)
TITLE_FONT = Font(bold=True, size=14)
HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")
WRAP = Alignment(wrap_text=True, vertical="top")


@dataclass(frozen=True)
class Column:
    header: str
    width: float
    kind: str = "text"  # text, money, percent, number, score, datetime


BOLD_WIDTH = 1.2  # a bold header character, in column-width units (the width of a "0")


def _header_width(column):
    """The column's width, widened so that the header's longest word fits on one line (never cut mid-word)."""
    return max(column.width, max(len(word) for word in column.header.split()) * BOLD_WIDTH + 1)


def _header_lines(header, width):
    """How many lines the header wraps to in a column of `width`, word by word."""
    per_line, lines, used = (width - 1) / BOLD_WIDTH, 1, 0
    for word in header.split():
        needed = len(word) if used == 0 else used + 1 + len(word)
        if needed > per_line and used:
            lines, used = lines + 1, len(word)
        else:
            used = needed
    return lines


class _Kind:
    """A value with how to write it; the sheet turns it into a styled cell."""

    __slots__ = ("value", "kind", "indent", "bold")

    def __init__(self, value, kind, indent=0, bold=False):
        self.value, self.kind, self.indent, self.bold = value, kind, indent, bold


def clean_text(value):
    """Text a cell can hold: the control characters XML 1.0 refuses (user-written text may carry them) removed."""
    value = str(value)
    return value if value.isprintable() else ILLEGAL_CHARACTERS_RE.sub("", value)  # printable: nothing to remove


def text(value, indent=0, bold=False):
    return _Kind(None if value is None else clean_text(value), "text", indent, bold)


def money(value, bold=False):
    return _Kind(None if value is None else Decimal(value), "money", bold=bold)


def percent(value):
    """A percentage (25.34 for 25.34 %), written as 0.2534 with the 0.00% format; None stays empty."""
    return _Kind(None if value is None else Decimal(value) / HUNDRED, "percent")


def number(value, bold=False):
    return _Kind(value, "number", bold=bold)


def score(value):
    return _Kind(value, "score")


def timestamp(value):
    """A naive local date and time (Excel cells carry no time zone: the title block names it)."""
    return _Kind(value, "datetime")


def looks_like_formula(value):
    return isinstance(value, str) and value.startswith(FORMULA_START)


class Sheet:
    """One write-only worksheet: title block, header row (frozen, filtered), data rows, TOTAL row."""

    def __init__(self, book, title, columns, title_block):
        self.book, self.columns = book, columns
        self.ws = book.workbook.create_sheet(title)
        for index, column in enumerate(columns, 1):
            self.ws.column_dimensions[get_column_letter(index)].width = _header_width(column)
        self.letters = [get_column_letter(index) for index in range(1, len(columns) + 1)]
        self.row_number = 0
        self._styles = {}
        self.rows_file = None   # the data rows' XML (a temporary file), spliced in at the markers
        self.run_starts = []    # where in rows_file each run of data rows starts; run k's marker is MARKER % k
        self.header_row = len(title_block) + 2  # the title block, a blank row, the header
        self.first_data_row = self.header_row + 1
        self.ws.freeze_panes = f"A{self.first_data_row}"  # before the first row: write-only writes the view first
        # printed (agencies file them on paper too): landscape, all columns on the page's width, the header
        # row repeated on every page
        self.ws.page_setup.orientation = "landscape"
        self.ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        self.ws.page_setup.fitToWidth, self.ws.page_setup.fitToHeight = 1, 0
        self.ws.print_title_rows = f"{self.header_row}:{self.header_row}"
        # the header wraps: its height is given (viewers do not all fit a row to wrapped text on opening)
        lines = max(_header_lines(c.header, _header_width(c)) for c in columns)
        self.ws.row_dimensions[self.header_row].height = 15 * lines
        self._take_over_rows()
        for i, (label, value) in enumerate(title_block):
            if i == 0:
                self._append([self._cell(label, font=TITLE_FONT)])
            else:
                self._append([self._cell(label, font=BOLD), self._cell(value)])
        self._append([])
        self._append([self._cell(c.header, font=BOLD, fill=HEADER_FILL, alignment=WRAP) for c in columns])
        self.last_data_row = self.header_row

    def _cell(self, value, font=None, fill=None, alignment=None, number_format=None, formula=False):
        if isinstance(value, str) and not formula:
            value = clean_text(value)
        cell = WriteOnlyCell(self.ws, value=value)
        if isinstance(value, str) and not formula:
            self._as_text(cell, value)
        if font is not None:
            cell.font = font
        if fill is not None:
            cell.fill = fill
        if alignment is not None:
            cell.alignment = alignment
        if number_format is not None:
            cell.number_format = number_format
        return cell

    @staticmethod
    def _as_text(cell, value):
        cell.data_type = "s"  # openpyxl would make "=…" a formula
        if looks_like_formula(value):
            cell.quotePrefix = True

    def _append(self, cells):
        self.ws.append(cells)
        self.row_number += 1

    def _take_over_rows(self):
        """Data rows (lists of values made by text(), money() …) are written here as SpreadsheetML text into
        rows_file, with the style ids of cells styled once per look; openpyxl's stream gets a marker comment
        where each run of them begins (the book splices them in). A 131,000-row sheet through openpyxl's
        cell-by-cell path took several times longer, and one lxml element per cell twice as long as this. The
        other rows (title block, header, TOTAL) are openpyxl cells, written by openpyxl."""
        self.ws._values_to_row = _as_given
        self.ws._get_writer()  # writes the sheet's head (views, columns): widths and panes are set by now
        writer = self.ws._writer
        write_cells = writer.write_row
        in_run = False

        def write_row(xf, row, row_idx):
            nonlocal in_run
            if isinstance(row, _Values):
                if not in_run:
                    if self.rows_file is None:
                        self.rows_file = tempfile.TemporaryFile()
                    xf.write(Comment(MARKER % len(self.run_starts)))
                    self.run_starts.append(self.rows_file.tell())
                    in_run = True
                self.rows_file.write(self._row_xml(row, row_idx))
            else:
                in_run = False
                write_cells(xf, _cells_to_row(row, row_idx), row_idx)

        writer.write_row = write_row

    def _style_id(self, column_index, item):
        """The workbook's style id for a value of this look in this column (made once per sheet)."""
        if item.kind == "text":
            indent, risky = item.indent, looks_like_formula(item.value)
            key = (column_index, "text", indent, item.bold, risky)
        else:
            indent, risky = 0, False
            key = (column_index, item.kind, 0, item.bold, False)
        style = self._styles.get(key)
        if style is None:
            cell = WriteOnlyCell(self.ws)
            if item.kind in NUMBER_FORMATS:
                cell.number_format = NUMBER_FORMATS[item.kind]
            if indent:
                cell.alignment = Alignment(horizontal="left", indent=indent)  # Excel indents left-aligned text only
            if item.bold:
                cell.font = BOLD
            if risky:
                cell.quotePrefix = True
            style = self._styles[key] = str(cell.style_id)
        return style

    def _row_xml(self, items, row_idx):
        """The row as SpreadsheetML (UTF-8 bytes). Every cell carries its reference: the attribute is optional
        and Excel does without it, but readers the oversight agencies may use (EPPlus, ClosedXML, the Open XML
        SDK) need it."""
        letters, suffix = self.letters, str(row_idx)
        parts = [f'<row r="{suffix}">']
        append = parts.append
        for index, item in enumerate(items):
            value = item.value
            where = f'<c r="{letters[index]}{suffix}" s="{self._style_id(index, item)}"'
            if value is None:
                append(where + "/>")
            elif item.kind == "text":  # always a string: "=…" stays text
                space = ' xml:space="preserve"' if value[:1].isspace() or value[-1:].isspace() else ""
                append(f'{where} t="inlineStr"><is><t{space}>{_escape(value)}</t></is></c>')
            else:
                append(f'{where} t="n"><v>{_number(value)}</v></c>')
        append("</row>")
        return "".join(parts).encode("utf-8", "replace")

    def row(self, items):
        self._append(_Values(items))
        self.last_data_row = self.row_number

    def blank(self):
        self._append([])

    def plain_row(self, items):
        """A row outside the data (a summary): written like a data row but not part of the autofilter."""
        self._append(_Values(items))

    def total_row(self, label, totals):
        """TOTAL: `label` in the first column, and =SUM over the data rows in each column of `totals`
        ({column index (0-based): the computed Decimal}) — the computed value cached in the file."""
        first, last = self.first_data_row, max(self.last_data_row, self.first_data_row)
        cells = [self._cell(label, font=BOLD)]
        for index in range(1, len(self.columns)):
            if index not in totals:
                cells.append(None)
                continue
            letter = get_column_letter(index + 1)
            formula = f"SUM({letter}{first}:{letter}{last})" if self.last_data_row >= first else None
            cell = self._cell(f"={formula}" if formula else Decimal("0.00"), font=BOLD, number_format=MONEY_FORMAT,
                              formula=bool(formula))
            if formula:
                self.book.cache(self.ws, formula, totals[index])
            cells.append(cell)
        self._append(cells)

    def finish(self):
        """The autofilter over the header and data rows (set last: the last row is known now)."""
        last_letter = get_column_letter(len(self.columns))
        self.ws.auto_filter.ref = f"A{self.header_row}:{last_letter}{max(self.last_data_row, self.header_row)}"


class _Values(list):
    """A data row: the values (text(), money() …) of its cells, in column order."""


MARKER = "obcms-rows-%d"  # a comment in openpyxl's stream: run k of a sheet's data rows goes here
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})


def _escape(value):
    """Element text as XML (clean_text already removed what XML 1.0 cannot hold; a CR stays a CR)."""
    return value.translate(_ESCAPES)


def _as_given(row, row_idx):
    """WriteOnlyWorksheet._values_to_row: rows reach Sheet's write_row as they were appended."""
    return row


def _number(value):
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return safe_string(to_excel(value))
    return safe_string(value)


def _cells_to_row(cells, row_idx):
    """WriteOnlyWorksheet._values_to_row for rows made only of cells and None (an empty cell)."""
    for col_idx, cell in enumerate(cells, 1):
        if cell is None:
            continue
        cell.column = col_idx
        cell.row = row_idx
        yield cell


class Book:
    def __init__(self, as_of, timezone="Asia/Manila", creator="obcms"):
        self.as_of = as_of
        self.workbook = Workbook(write_only=True)
        naive_utc = as_of.astimezone(ZoneInfo("UTC")).replace(tzinfo=None, microsecond=0)
        self.workbook.properties.created = naive_utc
        self.workbook.properties.modified = naive_utc
        self.workbook.properties.creator = creator
        self.zip_time = max(as_of.astimezone(ZoneInfo(timezone)).replace(tzinfo=None), _ZIP_EPOCH).timetuple()[:6]
        self._cached = {}
        self.sheets = []

    def sheet(self, title, columns, title_block):
        sheet = Sheet(self, title, columns, title_block)
        self.sheets.append(sheet)
        return sheet

    def cache(self, ws, formula, value):
        self._cached.setdefault(ws, {})[formula] = format(Decimal(value), "f")

    def save(self, target):
        """Write the workbook to `target` (a path, or a seekable binary file opened for writing)."""
        for sheet in self.sheets:
            sheet.finish()
        archive = _FixedTimeZip(target, self.zip_time, self._cached, self.sheets)
        try:
            ExcelWriter(self.workbook, archive).save()
        finally:
            for sheet in self.sheets:
                if sheet.rows_file is not None:
                    sheet.rows_file.close()


_ZIP_EPOCH = datetime(1980, 1, 1)  # the earliest time a zip entry can carry


class _FixedTimeZip(zipfile.ZipFile):
    """A zip whose entries all carry one time (the report's "as of"), and that splices a sheet's data rows in
    at their markers and adds the cached values of the TOTAL formulas while it copies the sheet in (streaming:
    the sheet is never held in memory)."""

    CHUNK = 1 << 16

    def __init__(self, target, date_time, cached, sheets):
        super().__init__(target, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        self.fixed_time = date_time
        self.cached = cached
        self.sheets = sheets

    def _info(self, name):
        info = zipfile.ZipInfo(name, date_time=self.fixed_time)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o600 << 16
        return info

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):
        name = zinfo_or_arcname.filename if isinstance(zinfo_or_arcname, zipfile.ZipInfo) else zinfo_or_arcname
        super().writestr(self._info(name), data)

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):
        info = self._info(arcname)
        info.file_size = 0
        # a sheet's path (xl/worksheets/sheetN.xml) is only known once the writer numbered the sheets
        replacements = next((values for ws, values in self.cached.items() if ws.path[1:] == arcname), {})
        sheet = next((sheet for sheet in self.sheets if sheet.ws.path[1:] == arcname), None)
        with open(filename, "rb") as source, self.open(info, "w", force_zip64=True) as target:
            if sheet is not None and sheet.rows_file is not None:
                source = _spliced(source, sheet, self.CHUNK)
            if not replacements:
                shutil.copyfileobj(source, target, self.CHUNK)
                return
            # "<f>…</f><v></v>" (openpyxl's empty value: "<v></v>" with lxml, "<v />" without) → "<f>…</f><v>…</v>":
            # the new text no longer holds its key
            keys = {}
            for formula, value in replacements.items():
                for empty in ("<v></v>", "<v />", "<v/>", "</c>"):
                    closing = "</c>" if empty == "</c>" else ""
                    keys[f"<f>{formula}</f>{empty}".encode()] = f"<f>{formula}</f><v>{value}</v>{closing}".encode()
            _copy_replacing(source, target, keys, self.CHUNK)


def _spliced(source, sheet, chunk):
    """A temporary file holding `source` (a sheet's XML from openpyxl) with each marker replaced by its run of
    data rows from sheet.rows_file, positioned at its start."""
    rows, starts = sheet.rows_file, sheet.run_starts
    rows.seek(0, 2)
    ends = starts[1:] + [rows.tell()]
    markers = [f"<!--{MARKER % k}-->".encode() for k in range(len(starts))]
    out = tempfile.TemporaryFile()
    pending, k = b"", 0
    while True:
        data = source.read(chunk)
        pending += data
        while k < len(markers) and (at := pending.find(markers[k])) >= 0:
            out.write(pending[:at])
            rows.seek(starts[k])
            left = ends[k] - starts[k]
            while left:
                piece = rows.read(min(chunk, left))
                out.write(piece)
                left -= len(piece)
            pending = pending[at + len(markers[k]):]
            k += 1
        if not data:
            if k < len(markers):
                raise RuntimeError(f"the marker of data rows run {k} is missing from the sheet")
            out.write(pending)
            out.seek(0)
            return out
        keep = len(markers[k]) if k < len(markers) else 0  # a marker split by the read stays in pending
        cut = max(0, len(pending) - keep)
        out.write(pending[:cut])
        pending = pending[cut:]


def _copy_replacing(source, target, replacements, chunk):
    """Copy source to target, replacing each key of `replacements` (none longer than `chunk`) by its value,
    with a carry-over so that a key split across two reads is still found."""
    keep = max(len(key) for key in replacements)
    pending = b""
    while True:
        data = source.read(chunk)
        pending += data
        for key, value in replacements.items():
            pending = pending.replace(key, value)
        if not data:
            target.write(pending)
            return
        # keep the tail that might be the start of a key split by the read
        cut = max(0, len(pending) - keep)
        target.write(pending[:cut])
        pending = pending[cut:]
