"""Fixtures of the command-line tests."""

from pathlib import Path

import pytest


@pytest.fixture
def drawn(monkeypatch):
    """The report's matplotlib figures by file name (``accuracy_demo.png``: its Figure), as saved."""
    from pipeline.cli.report import figures

    kept, save = {}, figures._save

    def keep(fig, path):
        kept[Path(path).name] = fig
        return save(fig, path)

    monkeypatch.setattr(figures, "_save", keep)
    return kept
