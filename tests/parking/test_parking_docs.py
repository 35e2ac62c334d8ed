"""docs/parking.md documents every configuration field and every metric of the parking model."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from simcity.parking import METRICS, config

DOC = Path(__file__).resolve().parents[2] / "docs" / "parking.md"
MODELS = [
    config.City, config.Tariff, config.TariffTier, config.CarPark, config.KerbSegment, config.Zone,
    config.WalkLink, config.Demand, config.Purpose, config.Duration, config.Behaviour,
    config.Enforcement, config.Pavement, config.Policy, config.ResponsivePricing,
    config.KerbTaken, config.KerbLoading, config.LoadingStop, config.Loading, config.LoadingZone,
    config.Roads,
]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_field_is_documented(model: type[BaseModel]) -> None:
    """Every field pydantic declares on this configuration model must have a table row in its own
    section of docs/parking.md, so a new field cannot go undocumented."""
    text = DOC.read_text(encoding="utf-8")
    assert f"#### `{model.__name__}`" in text
    section = text.split(f"#### `{model.__name__}`", 1)[1].split("####", 1)[0]
    missing = [name for name in model.model_fields if f"| `{name}` |" not in section]
    assert not missing, f"{model.__name__}: undocumented fields {missing}"


def test_every_metric_is_documented() -> None:
    """Every metric the parking domain declares (METRICS) must have a row in docs/parking.md."""
    text = DOC.read_text(encoding="utf-8")
    assert not [m.name for m in METRICS if f"| `{m.name}` |" not in text]
