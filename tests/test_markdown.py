"""The markdown-table writer: layout, alignment, escaping, ragged rows refused."""

import pytest

from vreid.markdown import markdown_table


def test_layout_and_right_alignment():
    table = markdown_table(["name", "rows", "ok"], [["mars", 10, True], ["duke", 2, False]],
                           right=("rows",))
    assert table == ("| name | rows | ok |\n|---|---:|---|\n"
                     "| mars | 10 | True |\n| duke | 2 | False |")


def test_header_only_table():
    assert markdown_table(["a", "b"], []) == "| a | b |\n|---|---|"


def test_pipes_and_line_breaks_stay_inside_their_cell():
    table = markdown_table(["a|b"], [["x|y\nz"]])
    assert table.splitlines() == ["| a\\|b |", "|---|", "| x\\|y z |"]


def test_a_row_of_the_wrong_width_is_refused():
    with pytest.raises(ValueError, match=r"row \['x'\] has 1 cells for 2 columns \['a', 'b'\]"):
        markdown_table(["a", "b"], [["x"]])
