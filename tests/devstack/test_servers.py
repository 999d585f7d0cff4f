import queue
import socket
import uuid

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from devstack.servers import InfluxServer, MosquittoServer, ServerStartError, free_port

pytestmark = pytest.mark.integration

TOPIC = "lantian/v1/gw/gw-0001/telemetry"
WAIT_S = 5


class Client:
    """A paho client driven synchronously: connect, subscribe, publish, wait for messages."""

    def __init__(self, broker, client_id=None, *, clean_session=True):
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self._paho = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"test-{uuid.uuid4().hex[:8]}",
            clean_session=clean_session,
        )
        self._paho.on_message = lambda _client, _userdata, message: self.messages.put(message)
        self._paho.connect(broker.host, broker.port)
        self._paho.loop_start()

    def subscribe(self, topic, qos=1):
        subscribed: queue.Queue[object] = queue.Queue()
        self._paho.on_subscribe = lambda *args: subscribed.put(args)
        self._paho.subscribe(topic, qos)
        subscribed.get(timeout=WAIT_S)

    def publish(self, topic, payload, qos=1):
        self._paho.publish(topic, payload, qos).wait_for_publish(WAIT_S)

    def next_message(self):
        return self.messages.get(timeout=WAIT_S)

    def close(self):
        self._paho.disconnect()
        self._paho.loop_stop()


def test_free_port_can_be_bound():
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_mosquitto_carries_a_qos1_message(mosquitto):
    subscriber = Client(mosquitto)
    subscriber.subscribe(TOPIC)
    publisher = Client(mosquitto)
    publisher.publish(TOPIC, b'{"seq": 1}')

    message = subscriber.next_message()
    assert (message.topic, message.payload, message.qos) == (TOPIC, b'{"seq": 1}', 1)
    publisher.close()
    subscriber.close()


def test_mosquitto_restart_keeps_its_port(mosquitto):
    port = mosquitto.port
    mosquitto.restart()
    assert mosquitto.port == port
    assert mosquitto.running
    client = Client(mosquitto)
    client.close()


def test_killed_mosquitto_refuses_connections(mosquitto):
    mosquitto.kill()
    assert not mosquitto.running
    with pytest.raises(ConnectionRefusedError):
        Client(mosquitto)


def _queue_for_offline_session(broker):
    subscriber = Client(broker, "ingest-1", clean_session=False)
    subscriber.subscribe(TOPIC)
    subscriber.close()
    publisher = Client(broker)
    publisher.publish(TOPIC, b"queued while offline")
    publisher.close()


@pytest.mark.parametrize("persistence", [True, False])
def test_queued_qos1_message_survives_restart_only_with_persistence(mosquitto_factory, persistence):
    broker = mosquitto_factory(persistence=persistence)
    _queue_for_offline_session(broker)

    broker.restart()

    subscriber = Client(broker, "ingest-1", clean_session=False)
    if persistence:
        assert subscriber.next_message().payload == b"queued while offline"
    else:
        with pytest.raises(queue.Empty):
            subscriber.messages.get(timeout=1)
    subscriber.close()


def test_broker_config_queues_generously(mosquitto):
    config = mosquitto.config_path.read_text()
    assert "max_queued_messages 1000000" in config
    assert f"listener {mosquitto.port} 127.0.0.1" in config
    assert "allow_anonymous true" in config


def test_password_file_turns_anonymous_access_off(mosquitto_factory, tmp_path):
    password_file = tmp_path / "passwords"
    password_file.write_text("")
    broker = mosquitto_factory(password_file=password_file)
    assert "allow_anonymous false" in broker.config_path.read_text()
    refused: queue.Queue[bool] = queue.Queue()
    paho = mqtt.Client(CallbackAPIVersion.VERSION2)
    paho.on_connect = lambda _c, _u, _f, reason_code, _p: refused.put(reason_code.is_failure)
    paho.connect(broker.host, broker.port)
    paho.loop_start()
    assert refused.get(timeout=WAIT_S)
    paho.loop_stop()


def test_start_refuses_a_port_another_server_answers_on(mosquitto, tmp_path):
    second = MosquittoServer(tmp_path / "second", port=mosquitto.port)
    with pytest.raises(ServerStartError, match=r"something else already answers at 127\.0\.0\.1:"):
        second.start()
    assert not second.running


def test_start_failure_reports_the_log_tail(tmp_path):
    broken = MosquittoServer(tmp_path / "broken", extra_config="no_such_option true")
    with pytest.raises(ServerStartError, match="exited with") as caught:
        broken.start()
    assert "no_such_option" in caught.value.log_tail
    assert "no_such_option" in str(caught.value)
    assert not broken.running


def test_influx_start_failure_reports_the_log_tail(tmp_path):
    (tmp_path / "influxdb").mkdir()
    (tmp_path / "influxdb" / "meta").write_text("a file where a folder must be")
    with pytest.raises(ServerStartError, match="influxd: exited with") as caught:
        InfluxServer(tmp_path / "influxdb").start()
    assert "meta" in caught.value.log_tail


def test_influx_restart_keeps_port_and_data(tmp_path):
    with InfluxServer(tmp_path / "influxdb") as server:
        url = server.url
        server.restart()
        assert server.url == url
        assert (tmp_path / "influxdb" / "meta").is_dir()
        assert "reporting-disabled = true" in server.config_path.read_text()
