"""Ingest's collector tuning: a higher youngest-generation threshold, start-up objects frozen."""

import gc

import pytest

from ingest.cli import tune_garbage_collector
from ingest.settings import IngestSettings


@pytest.fixture
def restored_collector():
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)
    gc.unfreeze()


@pytest.mark.usefixtures("restored_collector")
def test_the_threshold_is_the_setting_and_older_generations_keep_theirs():
    _, gen1, gen2 = gc.get_threshold()

    tune_garbage_collector(50_000)

    assert gc.get_threshold() == (50_000, gen1, gen2)
    assert gc.get_freeze_count() > 0


def test_the_default_is_well_above_cpythons_and_a_lower_one_is_refused(monkeypatch):
    assert IngestSettings().gc_gen0_threshold == 100_000
    monkeypatch.setenv("LANTIAN_INGEST_GC_GEN0_THRESHOLD", "10")
    with pytest.raises(ValueError, match="greater than or equal to 700"):
        IngestSettings()
