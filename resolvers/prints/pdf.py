"""The PDF renderer of every print (a record, a list): fpdf2 with the DejaVu fonts.

fpdf2 over WeasyPrint by measurement (bench/RESULTS.md, "PDF library"): a 1,000-row
table in 0.7 s and 9 MB here, against 16 s and 190 MB for WeasyPrint. fpdf2's own
``table()`` wraps text one character at a time in Python (10 s for the same table), so
cells are wrapped here, word by word with the width of each distinct word computed once.

Every page carries the organisation's name, the title, the date of printing, the filter
(lists) and "Page n / N". Long values wrap inside their cell, a word wider than its cell
is cut, and a row taller than what is left of the page continues on the next one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")  # Debian's fonts-dejavu-core
FONT = "DejaVu"
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
FONT_SIZE = 9
SMALL_SIZE = 7.5
LINE_MM = 4.2
PAD_MM = 1.2
MARGIN_MM = 12
SAMPLE_ROWS = 200  # rows a table's column widths are measured on
BORDER_GREY = 170
HEADING_GREY = 235


@dataclass(frozen=True)
class Header:
    """What every page of a print says about it."""

    organization: str
    title: str
    printed_on: str  # the date of printing, already formatted for the locale
    filter_text: str = ""  # lists: the filter and selection, in words
    page_label: str = "Page"


class PrintDocument(FPDF):
    def __init__(self, header: Header, *, landscape: bool = False) -> None:
        super().__init__(orientation="L" if landscape else "P", unit="mm", format="A4")
        self.print_header = header
        for style, name in FONT_FILES.items():
            self.add_font(FONT, style=style, fname=str(FONT_DIR / name))
        self.set_margins(MARGIN_MM, MARGIN_MM)
        self.set_auto_page_break(True, margin=MARGIN_MM + 4)
        self.set_title(header.title)
        self.set_creator("Trainhub")
        self.set_draw_color(BORDER_GREY)
        self._widths: dict[tuple[str, float, str], float] = {}
        self._repeat: tuple[Sequence[str], Sequence[float]] | None = None
        self.add_page()

    # --- every page ----------------------------------------------------------------

    def header(self) -> None:
        head = self.print_header
        self.set_font(FONT, "B", FONT_SIZE)
        self.cell(self.epw * 0.65, LINE_MM, head.organization)
        self.set_font(FONT, "", FONT_SIZE)
        self.cell(self.epw * 0.35, LINE_MM, head.printed_on, align="R")
        self.ln(LINE_MM + 1)
        self.set_font(FONT, "B", 14)
        self._lines([head.title], self.epw, 6.5)
        if head.filter_text:
            self.set_font(FONT, "", SMALL_SIZE)
            self._lines(self.wrap(head.filter_text, self.epw), self.epw, LINE_MM - 0.6)
        self.ln(2)
        self.set_font(FONT, "", FONT_SIZE)
        if self._repeat is not None:  # a table going on from the previous page
            self._row(*self._repeat, bold=True, fill=True)

    def footer(self) -> None:
        self.set_y(-MARGIN_MM)
        self.set_font(FONT, "", SMALL_SIZE)
        label = self.print_header.page_label
        self.cell(0, LINE_MM, f"{label} {self.page_no()} / {{nb}}", align="C")

    # --- content -------------------------------------------------------------------

    def section(self, title: str) -> None:
        """A group heading; it never stays alone at the bottom of a page."""
        if self.will_page_break(4 * LINE_MM):
            self.add_page()
        self.ln(2)
        self.set_font(FONT, "B", 11)
        self._lines(self.wrap(title, self.epw), self.epw, 5.5)
        self.set_font(FONT, "", FONT_SIZE)
        self.ln(0.5)

    def fields(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Label and value side by side; the value wraps."""
        widths = (self.epw * 0.32, self.epw * 0.68)
        for label, value in pairs:
            self._row((label, value), widths, bold_first=True)

    def paragraph(self, text: str) -> None:
        self._lines(self.wrap(text, self.epw), self.epw, LINE_MM)

    def data_table(self, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        """A bordered table whose heading row repeats on every page it spans."""
        self.table_head(columns, rows)
        self.table_rows(rows)
        self.table_end()

    def table_head(self, columns: Sequence[str], sample: Sequence[Sequence[str]]) -> None:
        """Start a table (its rows follow with ``table_rows``, as they are read), its
        columns sized on ``sample`` rows (``column_widths``)."""
        widths = self.column_widths(columns, sample[:SAMPLE_ROWS])
        if self.will_page_break(3 * LINE_MM):
            self.add_page()
        self._row(columns, widths, bold=True, fill=True)
        self._repeat = (columns, widths)

    def column_widths(self, columns: Sequence[str], sample: Sequence[Sequence[str]]) -> list[float]:
        """Each column as wide as most of its values (9 in 10 of the sample) and at least
        as the longest word of its heading; when they do not all fit, the narrow ones
        keep their width and the wide ones share the rest equally, and wrap."""
        self.set_font(FONT, "B", FONT_SIZE)
        least = [
            max((self.width_of(word) for word in column.split()), default=0) + 2 * PAD_MM + 0.5
            for column in columns  # (0.5 mm: rounding never cuts that word)
        ]
        self.set_font(FONT, "", FONT_SIZE)
        wanted = []
        for n, floor in enumerate(least):
            values = sorted(
                max(self.width_of(line) for line in row[n].split("\n")) for row in sample
            )
            typical = values[int(len(values) * 0.9)] if values else 0.0
            wanted.append(max(floor, typical + 2 * PAD_MM))
        if sum(wanted) <= self.epw:
            return [w * self.epw / sum(wanted) for w in wanted]
        widths = list(wanted)
        wide, room = set(range(len(columns))), self.epw
        while wide:
            share = room / len(wide)
            narrow = {n for n in wide if wanted[n] <= share}
            if not narrow:
                for n in wide:
                    widths[n] = max(least[n], share)
                break
            room -= sum(wanted[n] for n in narrow)
            wide -= narrow
        return self._fit(widths, least)

    def _fit(self, widths: list[float], least: Sequence[float]) -> list[float]:
        """``widths`` brought to the page's width, taken from what columns have beyond
        their heading's longest word (in proportion) before anything else."""
        excess = sum(widths) - self.epw
        slack = [w - floor for w, floor in zip(widths, least, strict=True)]
        if 0 < excess <= sum(slack):
            return [w - excess * s / sum(slack) for w, s in zip(widths, slack, strict=True)]
        return [w * self.epw / sum(widths) for w in widths]

    def table_rows(self, rows: Iterable[Sequence[str]]) -> None:
        assert self._repeat is not None, "table_head first"
        widths = self._repeat[1]
        for row in rows:
            self._row(row, widths)

    def table_end(self) -> None:
        self._repeat = None

    def render(self) -> bytes:
        return bytes(self.output())

    # --- layout --------------------------------------------------------------------

    def width_of(self, text: str) -> float:
        key = (self.font_style, self.font_size_pt, text)
        width = self._widths.get(key)
        if width is None:
            width = self._widths[key] = self.get_string_width(text)
        return width

    def wrap(self, text: str, width: float) -> list[str]:
        """``text`` in lines no wider than ``width`` (its own line breaks kept)."""
        lines: list[str] = []
        for paragraph in text.replace("\r\n", "\n").replace("\t", " ").split("\n"):
            lines.extend(self._wrap_paragraph(paragraph, width))
        return lines or [""]

    def _wrap_paragraph(self, text: str, width: float) -> list[str]:
        lines: list[str] = []
        line, line_width = "", 0.0
        space = self.width_of(" ")
        for word in text.split(" "):
            word_width = self.width_of(word)
            if word_width > width:  # cut a word (an URL, an id) that no line can hold
                if line:
                    lines.append(line)
                pieces = self._cut(word, width)
                lines.extend(pieces[:-1])
                line, line_width = pieces[-1], self.width_of(pieces[-1])
            elif line and line_width + space + word_width > width:
                lines.append(line)
                line, line_width = word, word_width
            else:
                line_width = line_width + space + word_width if line else word_width
                line = f"{line} {word}" if line else word
        lines.append(line)
        return lines

    def _cut(self, word: str, width: float) -> list[str]:
        """``word`` in pieces that fit ``width`` (a string is as wide as its characters:
        fpdf2 applies no kerning)."""
        pieces: list[str] = []
        piece, piece_width = "", 0.0
        for char in word:
            char_width = self.width_of(char)
            if piece and piece_width + char_width > width:
                pieces.append(piece)
                piece, piece_width = "", 0.0
            piece += char
            piece_width += char_width
        pieces.append(piece)
        return pieces

    def _use(self, style: str) -> None:
        """The body font in ``style`` (set_font costs even when nothing changes)."""
        if (self.font_style, self.font_size_pt) != (style, FONT_SIZE):
            self.set_font(FONT, style, FONT_SIZE)

    def _lines(self, lines: Sequence[str], width: float, height: float) -> None:
        for line in lines:
            self.cell(width, height, line, new_x="LMARGIN", new_y="NEXT")

    def _row(
        self,
        cells: Sequence[str],
        widths: Sequence[float],
        *,
        bold: bool = False,
        fill: bool = False,
        bold_first: bool = False,
    ) -> None:
        """One row, line by line: where the page ends, the row's cells close and go on
        at the top of the next page (after the repeated table heading)."""
        styles = ["B" if bold or (bold_first and i == 0) else "" for i in range(len(cells))]
        wrapped = []
        for text, width, style in zip(cells, widths, styles, strict=True):
            self._use(style)
            wrapped.append(self.wrap(text, width - 2 * PAD_MM))
        self._use("")
        height = max(len(lines) for lines in wrapped)
        bordered = self._repeat is not None or bold
        start = 0
        while start < height:
            room = int((self.page_break_trigger - self.get_y() - 2 * PAD_MM) // LINE_MM)
            if room < 1:
                self.add_page()
                continue
            end = min(height, start + room)
            self._fragment(wrapped, widths, styles, start, end, bordered, fill)
            start = end
            if start < height:
                self.add_page()
        self._use("")

    def _fragment(
        self,
        wrapped: Sequence[Sequence[str]],
        widths: Sequence[float],
        styles: Sequence[str],
        start: int,
        end: int,
        bordered: bool,
        fill: bool,
    ) -> None:
        top = self.get_y()
        height = (end - start) * LINE_MM + 2 * PAD_MM
        x = self.l_margin
        for lines, width, style in zip(wrapped, widths, styles, strict=True):
            if fill:
                self.set_fill_color(HEADING_GREY)
                self.rect(x, top, width, height, style="F")
            if bordered:
                self.rect(x, top, width, height)
            self._use(style)
            for n, line in enumerate(lines[start:end]):
                self.text(x + PAD_MM, top + PAD_MM + (n + 1) * LINE_MM - 1.1, line)
            x += width
        self.set_xy(self.l_margin, top + height)
