"""The public API, `import chat_recovery as cr`, is a promise to servers that
embed the engine: its names and their signatures stay put whatever moves
inside the package."""

from __future__ import annotations

import importlib.metadata
import inspect
import subprocess
import sys

import pytest

import chat_recovery as cr

NAMES = [
    "Diagnostic",
    "LivePolicy",
    "MessageKeys",
    "Policy",
    "PolicyError",
    "RecoveryError",
    "ReloadResult",
    "ReportError",
    "apply",
    "check_policy",
    "load_message_keys",
    "load_policy",
    "recover",
    "render",
    "sign_message",
    "verify_message",
]

# (parameter, default) in order; annotations may change spelling (Optional[X] -> X | None), not meaning
SIGNATURES = {
    "load_policy": [("directory", None)],
    "check_policy": [("directory", None)],
    "apply": [("policy", ...), ("state", ...), ("report", ...), ("now", ...), ("owned", False), ("keys", None)],
    "render": [("policy", ...), ("state", ...), ("explain", False), ("engine", None)],
    "recover": [("policy", ...), ("reports", ...), ("now", ...), ("explain", False), ("engine", None), ("keys", None)],
    "sign_message": [("message", ...), ("chat_id", ...), ("key_id", ...), ("key", ...)],
    "verify_message": [("message", ...), ("chat_id", ...), ("keys", ...)],
    "load_message_keys": [("path", ...)],
    "MessageKeys": [("secrets", ...)],
    "LivePolicy": [("directory", ...), ("check", True), ("on_reload", None)],
}
LIVE_POLICY_METHODS = ["apply", "policy", "recover", "reload", "reload_if_changed", "render", "stop", "watch"]


def test_the_names_are_the_promised_ones():
    assert sorted(cr.__all__) == NAMES
    assert all(callable(getattr(cr, name)) for name in NAMES)


def test_the_functions_keep_their_signatures():
    def parameters(function):
        return [(p.name, ... if p.default is p.empty else p.default) for p in inspect.signature(function).parameters.values()]

    assert {name: parameters(getattr(cr, name)) for name in SIGNATURES} == SIGNATURES
    assert [m for m in dir(cr.LivePolicy) if not m.startswith("_")] == LIVE_POLICY_METHODS


def test_the_version_is_the_installed_distributions():
    assert cr.__version__ == importlib.metadata.version("chat-recovery")


def test_importing_the_package_loads_no_policy_machinery():
    """The console script sets its signal handlers before the heavy modules load."""
    code = "import sys, chat_recovery; print(sorted(m for m in sys.modules if m.startswith('chat_recovery')))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "['chat_recovery', 'chat_recovery.version']"


def test_an_unknown_name_is_an_attribute_error_naming_it():
    with pytest.raises(AttributeError, match="recovr"):
        _ = cr.recovr
