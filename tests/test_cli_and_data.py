"""`python -m bot ask`, the training cache and `rasa data validate`."""
import json
import os
import subprocess
import sys

from bot.services import QUIET_ENV
from bot.training import fingerprint, model_path, training_inputs
from conftest import ROOT


def _bot(*args, stdin=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, input=stdin, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **QUIET_ENV})


def test_ask_prints_one_json_object_per_message(services):
    result = _bot("ask", "--rasa-url", services.settings.rasa_url,
                  "si voy a la policia me deportan?", "he is hitting me now")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["topic"] for line in lines] == ["police_immigration", "emergency"]
    assert lines[0]["language"] == "es" and 0 < lines[0]["confidence"] <= 1
    assert set(lines[0]) == {"message", "language", "topic", "confidence", "reply"}
    assert lines[1]["reply"].startswith("Call 999 now")


def test_ask_reads_stdin_and_treats_each_line_as_a_new_conversation(services):
    result = _bot("ask", "--rasa-url", services.settings.rasa_url, stdin="hola\n1\n")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    # "1" alone, first: the default language (a bare number decides no language), and topic 1 of the menu
    assert [(line["topic"], line["language"]) for line in lines] == [("greet", "es"), ("police_immigration", "en")]


def test_ask_starts_its_own_servers_when_none_is_given(model):
    result = _bot("ask", "can i see a gp without papers", timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout)["topic"] == "healthcare"


def test_training_is_cached_by_a_hash_of_its_inputs(model, settings):
    assert model_path(settings) == model and model.exists()
    result = _bot("train")
    assert result.returncode == 0 and "nothing to train" in result.stderr
    inputs = training_inputs()
    assert ROOT / "config.yml" in inputs and ROOT / "domain.yml" in inputs
    assert any(p.parent.name == "nlu" for p in inputs)
    assert any(p.name == "_language.yml" for p in inputs)


def test_a_changed_input_changes_the_model_name(tmp_path):
    import shutil

    root = tmp_path / "project"
    root.mkdir()
    for name in ("config.yml", "domain.yml"):
        shutil.copy(ROOT / name, root / name)
    shutil.copytree(ROOT / "data", root / "data")
    shutil.copytree(ROOT / "bot" / "nlu", root / "bot" / "nlu")
    shutil.copy(ROOT / "bot" / "languages.py", root / "bot" / "languages.py")
    shutil.copytree(ROOT / "locales", root / "locales")
    before = fingerprint(training_inputs(root), root)
    assert before == fingerprint(training_inputs(ROOT), ROOT)       # the same inputs give the same name
    with open(root / "data" / "nlu" / "en.yml", "a", encoding="utf-8") as handle:
        handle.write("\n")
    assert fingerprint(training_inputs(root), root) != before


def test_rasa_data_validate():
    result = subprocess.run([sys.executable, "-m", "rasa", "data", "validate", "--quiet"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600, env={**os.environ, **QUIET_ENV})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_run_stops_its_children_on_sigterm(model, tmp_path):
    """A supervisor stops `python -m bot run` with SIGTERM: Rasa, the action server and the gateway go with it."""
    import signal
    import time

    from bot.services import free_port

    ports = {"ASSISTANT_RASA_PORT": free_port(), "ASSISTANT_ACTION_PORT": free_port(),
             "ASSISTANT_GATEWAY_PORT": free_port()}
    env = {**os.environ, **QUIET_ENV, **{k: str(v) for k, v in ports.items()},
           "ASSISTANT_DATABASE_URL": f"sqlite:///{tmp_path / 'assistant.db'}"}
    run = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env, stderr=subprocess.PIPE,
                           stdout=subprocess.DEVNULL, text=True)
    try:
        deadline = time.monotonic() + 300
        lines = []
        while time.monotonic() < deadline:
            line = run.stderr.readline()
            lines.append(line)
            if line.startswith("CONTENT:") or run.poll() is not None:
                break
        assert any("answers are vetted" in line for line in lines), "".join(lines[-20:])
        children = subprocess.run(["pgrep", "-P", str(run.pid)], capture_output=True, text=True).stdout.split()
        assert len(children) == 3, children
        run.send_signal(signal.SIGTERM)
        assert run.wait(timeout=60) == 0
        time.sleep(1)
        alive = [pid for pid in children if os.path.exists(f"/proc/{pid}")
                 and "zombie" not in open(f"/proc/{pid}/status").read().lower()]
        assert alive == []
    finally:
        if run.poll() is None:
            run.kill()
