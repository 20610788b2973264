"""Privacy properties of the running assistant, checked on what the processes really wrote and exposed."""
import secrets
import urllib.error
import urllib.request
from pathlib import Path

import pytest


def _listening_addresses(port):
    """Local addresses with a socket LISTENing on ``port``, from the kernel's own tables."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if int(hex_port, 16) == port and state == "0A":
                found.add(address)
    return found


def test_rasa_and_actions_listen_on_loopback_only(services):
    for port in (services.settings.rasa_port, services.settings.action_port):
        addresses = _listening_addresses(port)
        assert addresses, f"nothing listening on {port}"
        assert addresses <= {"0100007F", "00000000000000000000000001000000"}, addresses   # 127.0.0.1, ::1


@pytest.mark.parametrize("path", ["/status", "/version", "/conversations/x/tracker", "/model/parse", "/domain"])
def test_rasa_http_api_is_off(services, path):
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(services.settings.rasa_url + path, timeout=5)
    assert error.value.code in (404, 405)


def test_message_text_never_reaches_the_logs(conversation, services, service_logs):
    canary = f"canary{secrets.token_hex(6)}"
    c = conversation()
    for text in (f"my name is {canary} will police tell home office", f"{canary} he is hitting me now",
                 f"forget me {canary}", f"\x00{canary}\x01"):
        c.say(text)
    logs = list(service_logs.glob("*.log"))
    assert logs, "the services wrote no log files"
    for log in logs:
        assert canary.encode() not in log.read_bytes(), f"message text found in {log.name}"
    assert "answered topic=" in (service_logs / "actions.log").read_text(), "the action server logs event kinds"


def test_action_server_errors_do_not_echo_the_request(services):
    body = b'{"next_action": "no_such_action", "tracker": {"sender_id": "x", "latest_message": {"text": "secret"}}}'
    request = urllib.request.Request(services.settings.action_url, data=body,
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=5)
    assert b"secret" not in error.value.read()
