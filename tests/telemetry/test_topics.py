import pytest

from telemetry import Topic, TopicError, TopicKind, parse_topic, topics


def test_builders_follow_the_architecture():
    assert topics.telemetry("gw-1") == "lantian/v1/gw/gw-1/telemetry"
    assert topics.status("gw-1") == "lantian/v1/gw/gw-1/status"
    assert topics.ack("gw-1") == "lantian/v1/gw/gw-1/ack"
    assert topics.cmd("gw-1") == "lantian/v1/gw/gw-1/cmd"
    assert topics.alerts("ent-7") == "lantian/v1/ent/ent-7/alerts"


def test_subscriptions():
    assert topics.subscription(TopicKind.TELEMETRY) == "lantian/v1/gw/+/telemetry"
    assert topics.subscription(TopicKind.ALERTS) == "lantian/v1/ent/+/alerts"
    assert (
        topics.shared_subscription("ingest", TopicKind.TELEMETRY)
        == "$share/ingest/lantian/v1/gw/+/telemetry"
    )


@pytest.mark.parametrize("kind", list(TopicKind))
def test_every_built_topic_parses_back(kind):
    owner = "ent-7" if kind is TopicKind.ALERTS else "gw-1"
    topic = Topic(kind, owner)
    assert parse_topic(str(topic)) == topic


@pytest.mark.parametrize(
    ("topic", "why"),
    [
        ("lantian/v2/gw/gw-1/telemetry", "not under lantian/v1"),
        ("lantian/v1/gw/gw-1", "expected {scope}/{id}/{kind}"),
        ("lantian/v1/gw/gw-1/telemetry/extra", "expected {scope}/{id}/{kind}"),
        ("lantian/v1/gw/gw-1/readings", "unknown topic kind 'readings'"),
        ("lantian/v1/ent/gw-1/telemetry", "'telemetry' topics live under 'gw'"),
        ("lantian/v1/gw/ent-1/alerts", "'alerts' topics live under 'ent'"),
        ("lantian/v1/gw/+/telemetry", "identifier must match"),
        ("lantian/v1/gw//telemetry", "identifier must match"),
    ],
)
def test_malformed_topics_are_refused_with_a_reason(topic, why):
    with pytest.raises(TopicError) as caught:
        parse_topic(topic)
    assert why in caught.value.why


@pytest.mark.parametrize("bad", ["", "a/b", "#", "+", "-leading", "x" * 65, "空格"])
def test_identifiers_that_could_escape_their_level_are_refused(bad):
    with pytest.raises(TopicError):
        topics.telemetry(bad)
