"""bench/report.py: each bench's section lands between its own markers, and says where it was measured."""

from __future__ import annotations

from pathlib import Path

from bench import report


def test_write_replaces_only_its_own_section(tmp_path: Path) -> None:
    """A second run replaces the bench's earlier section and leaves the prose and other sections as they were."""
    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\nProse before.\n\n<!-- bench:b -->\nold b\n<!-- /bench:b -->\n\nProse after.\n")
    report.write(doc, "a", "<!-- bench:a -->\nfirst a\n<!-- /bench:a -->")
    report.write(doc, "a", "<!-- bench:a -->\nsecond a\n<!-- /bench:a -->")
    text = doc.read_text()
    assert "second a" in text and "first a" not in text and text.count("<!-- bench:a -->") == 1
    assert "old b" in text and "Prose before." in text and "Prose after." in text


def test_section_names_machine_date_commit_and_model() -> None:
    """A section carries the measuring commit, the machine's CPU count, and the model when one is named."""
    text = report.section("x", "Title", "| a |\n|---|\n| 1 |", model="demo (models/demo_model)")
    assert text.startswith("<!-- bench:x -->\n### Title") and text.endswith("<!-- /bench:x -->")
    assert f"{__import__('os').cpu_count()} logical CPUs" in text
    assert "- model: demo (models/demo_model)" in text
    assert f"commit `{report.commit()}`" in text and report.commit() != "unknown"
