import json

import pytest

from edge.sequence import FIRST_SEQ, SequenceStore, StateError


def test_numbers_start_at_1_and_increase_by_one(tmp_path):
    store = SequenceStore(tmp_path / "state", "gw-1")
    assert FIRST_SEQ == 1
    assert [store.take() for _ in range(5)] == [1, 2, 3, 4, 5]
    assert store.peek() == 6


def test_a_number_is_on_disk_before_it_is_handed_out(tmp_path):
    store = SequenceStore(tmp_path, "gw-1")
    assert store.take() == 1
    # a new process (a new store) continues after it, even without a clean shutdown
    assert SequenceStore(tmp_path, "gw-1").take() == 2
    assert SequenceStore(tmp_path, "gw-1").take() == 3
    assert json.loads(store.path.read_text()) == {"gateway": "gw-1", "next_seq": 4}
    assert [p.name for p in tmp_path.iterdir()] == ["gw-1.seq.json"]  # no temporary left


def test_each_gateway_has_its_own_numbers(tmp_path):
    SequenceStore(tmp_path, "gw-1").take()
    assert SequenceStore(tmp_path, "gw-2").take() == 1


@pytest.mark.parametrize(
    "content",
    [
        "",
        "{",
        '{"gateway": "gw-1"}',
        '{"gateway": "gw-1", "next_seq": "7"}',
        '{"gateway": "gw-1", "next_seq": 0}',
        '{"gateway": "gw-other", "next_seq": 7}',
    ],
)
def test_a_state_file_that_cannot_be_trusted_is_refused_not_reset(tmp_path, content):
    (tmp_path / "gw-1.seq.json").write_text(content)
    with pytest.raises(StateError) as info:
        SequenceStore(tmp_path, "gw-1").take()
    assert info.value.path == tmp_path / "gw-1.seq.json"
    assert (tmp_path / "gw-1.seq.json").read_text() == content
