"""The one writer between README markers, which the report build (results
table) and the benchmark (bench table) both use."""

import pytest

from dlia_a2.files import write_between_markers


def test_write_between_markers_replaces_only_the_marked_text(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n<!-- t -->\nold\nlines\n<!-- /t -->\nafter\n<!-- u -->\nkept\n<!-- /u -->\n")
    write_between_markers(readme, "t", "| a |\n|---|\n")
    assert (
        readme.read_text() == "# Title\n<!-- t -->\n| a |\n|---|\n<!-- /t -->\nafter\n<!-- u -->\nkept\n<!-- /u -->\n"
    )
    write_between_markers(readme, "t", "| a |\n|---|")  # the same text again: the same file
    assert readme.read_text().count("| a |") == 1
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize(
    "text,found",
    [
        ("no markers\n", "found 0 and 0"),
        ("<!-- t -->\nonly the start\n", "found 1 and 0"),
        ("<!-- /t -->\nend before start\n<!-- t -->\n", "found 1 and 1"),
        ("<!-- t -->\n<!-- t -->\n<!-- /t -->\n", "found 2 and 1"),
    ],
)
def test_write_between_markers_refuses_missing_or_misplaced_markers(tmp_path, text, found):
    readme = tmp_path / "README.md"
    readme.write_text(text)
    with pytest.raises(ValueError, match=f"must hold <!-- t --> and then <!-- /t -->, each once \\({found}\\)"):
        write_between_markers(readme, "t", "new")
    assert readme.read_text() == text
