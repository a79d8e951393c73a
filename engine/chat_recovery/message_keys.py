"""The message-signature key file, read once at start-up: a JSON or YAML
object of key id -> secret. A secret is text (its UTF-8 bytes are the key)
or `base64:` followed by the key's bytes in base64 (standard or URL-safe
alphabet, padding optional). Errors name the file and the key id, never a
secret, nor a piece of the file's text."""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from .policy.yamlsource import YamlError, load
from .signing import MessageKeys

ENV_VAR = "CHAT_RECOVERY_MESSAGE_KEYS_FILE"  # read by `recover` and `serve` when --message-keys is not given
MAX_BYTES = 1024 * 1024


class KeyFileError(ValueError):
    """A key file that cannot be used; the text names the file (and key id), never a secret."""


def load_message_keys(path: str | os.PathLike[str]) -> MessageKeys:
    """The keys in the file at `path`; KeyFileError saying what is wrong."""
    shown = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{shown}: cannot read the message keys: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise KeyFileError(f"{shown}: larger than 1 MiB; a key file holds key ids and secrets")
    try:
        text = raw.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError:
        raise KeyFileError(f"{shown}: not UTF-8 text") from None
    try:
        data = load(text, shown).data
    except YamlError as exc:
        first = exc.diagnostics[0]  # the position only: a parser's words may quote the text, secrets included
        where = f" at line {first.line} column {first.col}" if first.line else ""
        raise KeyFileError(f"{shown}: not a JSON or YAML object of key id -> secret{where} ({first.code})") from None
    if not isinstance(data, dict) or not data:
        raise KeyFileError(f'{shown}: not a JSON or YAML object of key id -> secret (e.g. {{"k-2026-12": "base64:..."}})')
    secrets: dict[str, bytes] = {}
    for key_id, secret in data.items():
        if not isinstance(secret, str):
            raise KeyFileError(f"{shown}: key '{key_id}': the secret must be text (or base64:...), not {_kind(secret)}")
        secrets[key_id] = _secret(shown, key_id, secret)
    try:
        return MessageKeys(secrets)
    except ValueError as exc:
        raise KeyFileError(f"{shown}: {exc}") from None


def _secret(shown: str, key_id: str, text: str) -> bytes:
    if not text.startswith("base64:"):
        return text.encode("utf-8")
    encoded = text[len("base64:") :].strip()
    try:
        alphabet = b"-_" if any(c in encoded for c in "-_") else None
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4), altchars=alphabet, validate=True)
    except (binascii.Error, ValueError):
        raise KeyFileError(f"{shown}: key '{key_id}': the text after base64: is not base64") from None


def _kind(value: object) -> str:
    return (
        "null"
        if value is None
        else {bool: "true/false", int: "a number", float: "a number", list: "a list", dict: "an object"}.get(
            type(value), type(value).__name__
        )
    )


def keys_from(path: str | None, environ: os._Environ[str] | dict[str, str]) -> MessageKeys | None:
    """The keys a command was given: `path` (--message-keys), else the file
    the environment names, else None (no verification)."""
    path = path or environ.get(ENV_VAR) or None
    return load_message_keys(path) if path else None
