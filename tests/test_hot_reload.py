"""A server swaps policies while it recovers: every recovery is made under
one whole policy, stamped with its name, version and digest, and a policy
that fails to load or check never replaces a good one."""

import os
import shutil
import threading
import time

import pytest

import chat_recovery as cr
from conftest import NOW, ROOT, edit, report

VISITOR = report("visitor", sent="2026-11-24T09:00:01Z", visitor={"info": {"name": "Ann"}})
AGENT = report(
    "agent",
    sent="2026-11-24T09:00:02Z",
    visitor={"info": {"name": "Bob"}},
    chat={"id": "c-1", "props": {"ifEnterQueue": True}, "messages": []},
)


def _version(directory, version, agent_first=False):
    shutil.copytree(ROOT / "rules", directory)
    edit(directory / "policy.yaml", 'version: "2026.11.24"', f'version: "{version}"')
    if agent_first:  # two files change together: a mix of old and new would show
        edit(
            directory / "visitor-info.yaml",
            "  name:\n    strategy: visitorOverrideAgent",
            "  name:\n    strategy: agentOverrideVisitor",
        )
        edit(
            directory / "chat-props.yaml",
            "  ifEnterQueue:\n    strategy: agentOnly",
            "  ifEnterQueue:\n    strategy: visitorOnly",
        )
    return directory


def _broken(directory):
    _version(directory, "broken")
    edit(directory / "visitor-info.yaml", "strategy: visitorOverrideAgent", "strategy: vistiorOverrideAgent")
    return directory


def _flip(link, target):
    """Point `link` at `target` atomically, as a deploy would."""
    tmp = link.with_name(link.name + ".new")
    if tmp.is_symlink():
        tmp.unlink()
    os.symlink(target, tmp)
    os.replace(tmp, link)


def _observed(recovery):
    """What a recovery says about the policy that made it."""
    return (recovery["visitor"]["info"]["name"], "ifEnterQueue" in recovery["chat"]["props"])


def test_recoveries_carry_the_policy_name_version_and_digest(tmp_path):
    live = cr.LivePolicy(_version(tmp_path / "a", "1.0"))
    stamp = live.recover([VISITOR], NOW)["policy"]
    assert stamp == {"name": "default", "version": "1.0", "digest": live.policy.digest}
    assert stamp["digest"].startswith("sha256:")


def test_reload_swaps_in_a_changed_policy(tmp_path):
    rules = _version(tmp_path / "rules", "1.0")
    live = cr.LivePolicy(rules)
    assert _observed(live.recover([VISITOR, AGENT], NOW)) == ("Ann", True)
    assert live.reload_if_changed() is None
    shutil.rmtree(rules)
    _version(rules, "2.0", agent_first=True)
    result = live.reload_if_changed()
    assert result.ok and result.changed, str(result)
    assert str(result).startswith("policy default 2.0 (sha256:")
    recovery = live.recover([VISITOR, AGENT], NOW)
    assert _observed(recovery) == ("Bob", False)
    assert recovery["policy"]["version"] == "2.0"


def test_a_broken_policy_never_replaces_a_good_one(tmp_path):
    rules = _version(tmp_path / "rules", "1.0")
    seen = []
    live = cr.LivePolicy(rules, on_reload=seen.append)
    good = live.policy
    edit(rules / "visitor-info.yaml", "strategy: visitorOverrideAgent", "strategy: vistiorOverrideAgent")
    result = live.reload()
    assert not result.ok and not result.changed and live.policy is good
    assert seen == [result] and live.last_result is result
    message = str(result)
    assert message.startswith("reload refused, policy default 1.0 (sha256:")
    assert "visitor-info.yaml:" in message and "did you mean 'visitorOverrideAgent'?" in message
    assert live.recover([VISITOR], NOW)["policy"]["digest"] == good.digest


def test_a_policy_that_loads_but_fails_its_checks_is_refused(tmp_path):
    """Reload runs what `policy check` runs; errors there block the swap."""
    rules = _version(tmp_path / "rules", "1.0")
    live = cr.LivePolicy(rules)
    assert cr.check_policy(rules)[0] is not None
    shutil.rmtree(rules)
    rules.mkdir()
    result = live.reload()
    assert not result.ok and "no rule files" in str(result)
    assert live.policy.version == "1.0"


def test_a_first_load_that_fails_raises_with_every_problem(tmp_path):
    with pytest.raises(cr.PolicyError) as caught:
        cr.LivePolicy(_broken(tmp_path / "rules"))
    assert "unknown strategy 'vistiorOverrideAgent'" in str(caught.value)


def test_the_watcher_reloads_edited_files_and_keeps_the_old_policy_on_a_bad_edit(tmp_path):
    rules = _version(tmp_path / "rules", "1.0")
    with cr.LivePolicy(rules).watch(interval=0.05) as live:
        edit(rules / "policy.yaml", 'version: "1.0"', 'version: "1.1"')
        _wait(lambda: live.policy.version == "1.1")
        edit(rules / "visitor-info.yaml", "strategy: visitorOverrideAgent", "strategy: nope")
        _wait(lambda: live.last_result is not None and not live.last_result.ok)
        assert live.policy.version == "1.1"
        assert "unknown strategy 'nope'" in str(live.last_result)
        assert live.recover([VISITOR], NOW)["policy"]["version"] == "1.1"


def _wait(condition, what="the watcher did not act", timeout=300.0):
    """Until `condition()` holds; the timeout only ends a hang."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


@pytest.mark.parametrize("engine", ["python", "auto"])
def test_no_recovery_sees_a_half_loaded_policy_under_concurrent_reloads(tmp_path, engine):
    """Four threads recover while a deploy flips a symlink between two good
    versions and a broken one and reloads after each flip. Every recovery
    must match, value for value, the one policy its digest names."""
    versions = {
        "A": _version(tmp_path / "A", "A"),
        "B": _version(tmp_path / "B", "B", agent_first=True),
        "broken": _broken(tmp_path / "broken"),
    }
    expected = {}
    for key in ("A", "B"):
        policy = cr.load_policy(versions[key])
        expected[policy.digest] = (key, _observed(cr.recover(policy, [VISITOR, AGENT], NOW, engine=engine)))
    assert {v[1] for v in expected.values()} == {("Ann", True), ("Bob", False)}
    link = tmp_path / "current"
    _flip(link, versions["A"])
    live = cr.LivePolicy(link)
    stop = threading.Event()
    seen, errors = [], []

    def recover_forever():
        try:
            while not stop.is_set():
                recovery = live.recover([VISITOR, AGENT], NOW, engine=engine)
                seen.append((recovery["policy"]["digest"], recovery["policy"]["version"], _observed(recovery)))
        except Exception as exc:  # noqa: BLE001 - surfaced below; a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=recover_forever) for _ in range(4)]
    for thread in threads:
        thread.start()
    results = []
    try:
        for step in range(12):
            key = ("A", "B", "broken")[step % 3]
            _flip(link, versions[key])
            results.append((key, live.reload()))
            done = len(
                seen
            )  # of 5 recoveries that end after the reload at most 4 (one a thread) began before it: one ran under it
            _wait(lambda: len(seen) >= done + 5 or errors, "the recovering threads stalled")  # noqa: B023 - called in this iteration
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert not errors
    for key, result in results:
        assert result.ok == (key != "broken"), str(result)
        assert result.policy.version in ("A", "B")
    assert seen and {version for _, version, _ in seen} == {"A", "B"}
    for digest, version, observed in seen:
        assert digest in expected, "a recovery under a policy that never loaded whole"
        assert expected[digest] == (version, observed)
