"""chat-recovery: rebuild a live-chat server's visitor and chat state from the
reports its clients upload after a restart, under a YAML policy.

    import chat_recovery as cr
    policy = cr.load_policy()                 # the bundled default policy
    recovery = cr.recover(policy, reports, now="2026-11-24T09:00:00Z")

The names below are imported on first use, so the `chat-recovery` command
can set its signal handlers before the policy machinery loads.
"""

from __future__ import annotations

import sys
import types
from importlib import import_module
from typing import TYPE_CHECKING

from .version import __version__ as __version__  # re-exported

if TYPE_CHECKING:
    from .api import apply, load_policy, recover, render
    from .authoring.check import check_policy
    from .authoring.reload import LivePolicy, ReloadResult
    from .diagnostics import Diagnostic, PolicyError, RecoveryError, ReportError
    from .message_keys import load_message_keys
    from .policy.model import Policy
    from .signing import MessageKeys, sign_message, verify_message

_HOME = {
    "apply": "api",
    "check_policy": "authoring.check",
    "load_policy": "api",
    "recover": "api",
    "render": "api",
    "LivePolicy": "authoring.reload",
    "ReloadResult": "authoring.reload",
    "Policy": "policy.model",
    "Diagnostic": "diagnostics",
    "PolicyError": "diagnostics",
    "RecoveryError": "diagnostics",
    "ReportError": "diagnostics",
    "MessageKeys": "signing",
    "sign_message": "signing",
    "verify_message": "signing",
    "load_message_keys": "message_keys",
}
__all__ = [
    "apply",
    "check_policy",
    "load_policy",
    "recover",
    "render",
    "LivePolicy",
    "ReloadResult",
    "Diagnostic",
    "Policy",
    "PolicyError",
    "RecoveryError",
    "ReportError",
    "MessageKeys",
    "load_message_keys",
    "sign_message",
    "verify_message",
]


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value) -> None:
        if name in _HOME and isinstance(value, types.ModuleType):
            return  # importing the submodule `render` must not hide the function `render`
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str):
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'chat_recovery' has no attribute {name!r}")
    value = globals()[name] = getattr(import_module(f".{home}", __name__), name)
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
