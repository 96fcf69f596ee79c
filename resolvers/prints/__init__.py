"""PDF prints (issue 11, SPEC §7 "Imprimer en format PDF").

- ``pdf``: the renderer (fpdf2, DejaVu fonts): page header and numbers, wrapped cells.
- ``texts``: the prints' words, French and English.
- ``records``: one lead, session or client with its subpanels.
"""
