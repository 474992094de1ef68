"""Settings are documented data: each one has help text and appears in docs/settings.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from search_api.settings import Settings

DOCS = Path(__file__).parent.parent / "docs" / "settings.md"


@pytest.mark.parametrize("name", list(Settings.model_fields))
def test_every_setting_is_documented(name: str) -> None:
    field = Settings.model_fields[name]
    assert field.description and len(field.description) > 20
    assert f"`COOPLINK_{name.upper()}`" in DOCS.read_text("utf-8")


def test_env_overrides_default_and_flag_overrides_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COOPLINK_DATA_DIR", "/tmp/from-env")
    settings = Settings()
    assert settings.data_dir == Path("/tmp/from-env")
    assert settings.with_overrides(data_dir=Path("/tmp/flag")).data_dir == Path("/tmp/flag")
    assert settings.with_overrides(data_dir=None).data_dir == Path("/tmp/from-env")
