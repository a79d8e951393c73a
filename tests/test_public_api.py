"""The public API, `import chat_recovery as cr`, is a promise to servers that
embed the engine: its names and their signatures stay put whatever moves
inside the package."""
from __future__ import annotations

import importlib.metadata
import inspect
import subprocess
import sys

import chat_recovery as cr

NAMES = ["Diagnostic", "LivePolicy", "Policy", "PolicyError", "RecoveryError", "ReloadResult", "ReportError",
         "apply", "check_policy", "load_policy", "recover", "render"]

SIGNATURES = {
    "load_policy": "(directory: 'Union[str, Path, None]' = None) -> 'Policy'",
    "check_policy": "(directory: 'Union[str, Path, None]' = None) -> 'tuple[Optional[Policy], tuple[Diagnostic, ...]]'",
    "apply": "(policy: 'Policy', state: 'Optional[dict]', report: 'Any', now: 'Instant', owned: 'bool' = False) -> 'dict'",
    "render": "(policy: 'Policy', state: 'dict', explain: 'bool' = False, engine: 'Optional[str]' = None) -> 'dict'",
    "recover": "(policy: 'Policy', reports: 'Iterable[Any]', now: 'Instant', explain: 'bool' = False, "
               "engine: 'Optional[str]' = None) -> 'dict'",
    "LivePolicy": "(directory: 'Union[str, Path]', check: 'bool' = True, "
                  "on_reload: 'Optional[Callable[[ReloadResult], None]]' = None)",
}
LIVE_POLICY_METHODS = ["apply", "policy", "recover", "reload", "reload_if_changed", "render", "stop", "watch"]


def test_the_names_are_the_promised_ones():
    assert sorted(cr.__all__) == NAMES
    assert all(callable(getattr(cr, name)) for name in NAMES)


def test_the_functions_keep_their_signatures():
    assert {name: str(inspect.signature(getattr(cr, name))) for name in SIGNATURES} == SIGNATURES
    assert [m for m in dir(cr.LivePolicy) if not m.startswith("_")] == LIVE_POLICY_METHODS


def test_the_version_is_the_installed_distributions():
    assert cr.__version__ == importlib.metadata.version("chat-recovery")


def test_importing_the_package_loads_no_policy_machinery():
    """The console script sets its signal handlers before the heavy modules load."""
    code = "import sys, chat_recovery; print(sorted(m for m in sys.modules if m.startswith('chat_recovery')))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "['chat_recovery', 'chat_recovery.version']"


def test_an_unknown_name_is_an_attribute_error_naming_it():
    try:
        cr.recovr
    except AttributeError as exc:
        assert "recovr" in str(exc)
    else:
        raise AssertionError("cr.recovr did not raise")
