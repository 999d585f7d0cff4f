"""Dead letters in the SQL store, on SQLite and PostgreSQL: kept once, listed, counted."""

from datetime import UTC, datetime

import pytest

from store.sql import DeadLetterRecord, DeadLetterStore, create_engine_for

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
TOPIC = "lantian/v1/gw/gw-0001/telemetry"


@pytest.fixture
def letters(sql_url):
    engine = create_engine_for(sql_url)
    yield DeadLetterStore(engine)
    engine.dispose()


def letter(payload: bytes = b"{broken", reason: str = "invalid_json", **extra) -> DeadLetterRecord:
    return DeadLetterRecord(
        received_at=T0, reason=reason, detail="why", topic=TOPIC, payload=payload, **extra
    )


def test_a_letter_comes_back_as_it_was_kept(letters):
    kept = letter(b"\xff\xfe not even utf-8", gateway="gw-0001")
    assert letters.record([kept]) == 1
    [back] = letters.letters()
    assert back.id is not None
    assert back == DeadLetterRecord(**{**_fields(kept), "id": back.id})


def test_a_reading_letter_keeps_its_batch_and_position(letters):
    kept = letter(b'{"value":"x"}', "schema", gateway="gw-0001", seq=42, reading_index=3)
    letters.record([kept])
    [back] = letters.letters()
    assert (back.gateway, back.seq, back.reading_index) == ("gw-0001", 42, 3)


def test_the_same_letter_is_kept_once_however_often_it_is_recorded(letters):
    assert letters.record([letter(), letter()]) == 1
    assert letters.record([letter(), letter(b"{other")]) == 1
    assert letters.record([letter(reason="too_large")]) == 1  # same bytes, another reason
    assert len(letters.letters()) == 3


def test_the_same_reading_at_another_position_is_another_letter(letters):
    letters.record(
        [letter(b"{}", "schema", reading_index=0), letter(b"{}", "schema", reading_index=1)]
    )
    assert len(letters.letters()) == 2


def test_letters_are_listed_newest_first_and_filtered(letters):
    letters.record([letter(b"1", gateway="gw-0001"), letter(b"2", "schema", gateway="gw-0002")])
    letters.record([letter(b"3", gateway="gw-0002")])
    assert [x.payload for x in letters.letters()] == [b"3", b"2", b"1"]
    assert [x.payload for x in letters.letters(reason="invalid_json")] == [b"3", b"1"]
    assert [x.payload for x in letters.letters(gateway="gw-0002")] == [b"3", b"2"]
    assert [x.payload for x in letters.letters(limit=1)] == [b"3"]
    assert letters.counts() == {"invalid_json": 2, "schema": 1}


def _fields(record: DeadLetterRecord) -> dict[str, object]:
    return {name: getattr(record, name) for name in DeadLetterRecord.__slots__}
