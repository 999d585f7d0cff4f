"""Editions, the version policy, and that every record names an edition that exists."""

from datetime import date

import pytest

from standards import (
    AQI_STANDARDS,
    DEFAULT_POLICY,
    GB_T_2589_2020_COEFFICIENTS,
    LIMITS,
    REVISION_2026,
    STEAM_LOW_PRESSURE_2008,
    UnknownVersionError,
    VersionPolicy,
    VersionStatus,
    version,
)
from standards.versions import to_verify


def test_confirmed_editions_are_used_by_default():
    assert DEFAULT_POLICY.allows("GB 3095-2012")
    assert DEFAULT_POLICY.allows("HJ 633-2012")
    assert version("GB 3095-2012").effective_from == date(2016, 1, 1)


def test_reported_2026_editions_need_an_explicit_opt_in():
    for version_id in REVISION_2026:
        assert version(version_id).status is VersionStatus.REPORTED
        assert not DEFAULT_POLICY.allows(version_id)
        assert VersionPolicy(opt_in=REVISION_2026).allows(version_id)
    enabled = {v.id for v in DEFAULT_POLICY.enabled()}
    assert not enabled & REVISION_2026


def test_opting_in_to_an_unknown_edition_is_an_error():
    with pytest.raises(UnknownVersionError):
        VersionPolicy(opt_in=frozenset({"GB 3095-2027"}))
    with pytest.raises(KeyError):
        version("HJ 633-1999")


def test_what_is_to_verify_is_listed():
    listed = dict(to_verify())
    assert {"GB 3095-2026", "HJ 633-2026", "GB/T 2589-2020", "HJ 663-2013"} <= set(listed)


def test_every_record_names_a_registered_edition_and_a_source():
    for limit in LIMITS:
        assert version(limit.version).standard == limit.standard
        assert limit.source
    for standard in AQI_STANDARDS:
        version(standard.version)
        assert all(t.source.startswith(standard.version) for t in standard.tables)
    for coefficient in (*GB_T_2589_2020_COEFFICIENTS.values(), STEAM_LOW_PRESSURE_2008):
        assert version(coefficient.version).standard == "GB/T 2589"
        assert coefficient.source.startswith(coefficient.version)


def test_2026_records_are_all_marked_to_verify():
    assert all(limit.verify for limit in LIMITS if limit.version == "GB 3095-2026")
