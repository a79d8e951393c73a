"""chat-recovery: rebuild a live-chat server's visitor and chat state from the
reports its clients upload after a restart, under a YAML policy.

    import chat_recovery as cr
    policy = cr.load_policy()                 # the bundled default policy
    recovery = cr.recover(policy, reports, now="2026-11-24T09:00:00Z")
"""
from .api import apply, check_policy, load_policy, recover, render
from .diagnostics import Diagnostic, PolicyError, RecoveryError, ReportError
from .hot_reload import LivePolicy, ReloadResult
from .model import Policy

__all__ = ["apply", "check_policy", "load_policy", "recover", "render", "LivePolicy", "ReloadResult",
           "Diagnostic", "Policy", "PolicyError", "RecoveryError", "ReportError"]
__version__ = "0.1.0"
