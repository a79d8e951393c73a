"""Message signatures: the chat server signs each message when it first
sends it, so that a recovery can tell a copy the server sent from one a
client made up. Pure (no clock, no I/O): the key file is read elsewhere
(message_keys.py).

What is signed, exactly (so a server in any language can sign):

    HMAC-SHA256(secret, UTF-8 bytes of JCS({"chatId": <chat id>, "message": <message>}))

- JCS is RFC 8785 (JSON Canonicalization Scheme): object keys sorted by
  their UTF-16 code units, no whitespace, strings escaped only where JSON
  must (`"`, `\\`, control characters; lowercase `\\u00xx` but for
  \\b \\t \\n \\f \\r), numbers written as ECMAScript writes a double
  (1.0 -> 1, 1e21 -> 1e+21). Java, Go and Node have JCS libraries.
- <message> is the message without its `signature`, with its `time` in the
  library's one UTC spelling: `Z`, whole seconds, then a fraction of up to
  six digits with trailing zeros dropped (2026-11-24T09:00:05.12Z; no
  fraction when it is zero). A server that sends times already spelt so
  signs exactly the message it sends.
- The chat id is signed with it, so a message replayed into another chat
  does not verify.

The signature travels on the message: `"signature": {"keyId": "k-2026-12",
"value": <base64url of the 32-byte MAC, no padding>}`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from . import timeutil
from .json_identity import canonical_json

MIN_SECRET_BYTES = 16  # shorter secrets are refused: HMAC-SHA256 keys should carry 128 bits at least
KEY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
_VALUE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # 32 bytes, base64url, no padding


# Why a copy does not verify: code -> when (the recovery schema's setAside `code` enum holds the same names)
REJECTION_CODES = {
    "unsigned": "no signature where the policy requires one",
    "unknownKey": "signed with a key id that is not in force",
    "badSignature": "the signature does not match: the copy was altered, or signed for another chat",
}


@dataclass(frozen=True)
class Rejection:
    """Why a copy of a message did not verify: a short code and words for people."""

    code: str  # unsigned | unknownKey | badSignature
    reason: str

    def __post_init__(self) -> None:
        assert self.code in REJECTION_CODES, self.code  # one table of codes (the recovery schema's enum)


class MessageKeys:
    """The verification keys in force: key id -> secret bytes. Several at
    once, so a server can rotate (sign with the new key while copies signed
    with the old one still verify). Its repr and str name the key ids only."""

    __slots__ = ("_secrets",)

    def __init__(self, secrets: Mapping[str, bytes | str]):
        table: dict[str, bytes] = {}
        for key_id, secret in secrets.items():
            if not isinstance(key_id, str) or not KEY_ID.match(key_id):
                raise ValueError(
                    f"key id {str(key_id)[:64]!r} is not 1-128 letters, digits, '.', '_', ':' or '-' (starting with a letter or digit)"
                )
            if isinstance(secret, str):
                secret = secret.encode("utf-8")
            if not isinstance(secret, bytes):
                raise ValueError(f"key '{key_id}': the secret is {type(secret).__name__}, not bytes or text")
            if len(secret) < MIN_SECRET_BYTES:
                raise ValueError(f"key '{key_id}': the secret is shorter than {MIN_SECRET_BYTES} bytes")
            table[key_id] = secret
        if not table:
            raise ValueError("no keys: give at least one key id and its secret")
        self._secrets = table

    def __repr__(self) -> str:
        return f"MessageKeys({sorted(self._secrets)})"

    __str__ = __repr__

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._secrets))

    def __len__(self) -> int:
        return len(self._secrets)

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._secrets

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MessageKeys) and other._secrets == self._secrets

    def __hash__(self) -> int:
        return hash(frozenset(self._secrets))

    def __reduce__(self) -> tuple:  # a worker process gets the keys as they are (pickle skips __slots__ otherwise)
        return (MessageKeys, (dict(self._secrets),))

    def secret(self, key_id: str) -> bytes | None:
        return self._secrets.get(key_id)


def as_keys(keys: MessageKeys | Mapping[str, bytes | str] | None) -> MessageKeys | None:
    """`keys=` as the API takes it: MessageKeys, a plain mapping, or None (no verification)."""
    if keys is None or isinstance(keys, MessageKeys):
        return keys
    return MessageKeys(keys)


def signed_bytes(message: Mapping[str, Any], chat_id: str) -> bytes:
    """The bytes a server signs for `message` in chat `chat_id` (see the module's docstring)."""
    body = {key: value for key, value in message.items() if key != "signature"}
    if isinstance(body.get("time"), str):
        body["time"] = timeutil.canonical(body["time"])
    signed = {"chatId": chat_id, "message": body}
    return (canonical_json(signed) if _text_only(signed) else jcs(signed)).encode("utf-8")


def _text_only(value: Any) -> bool:
    """No number, and no key whose order differs between code points and
    UTF-16: then JSON's own sorted, compact writer (C) writes exactly the
    RFC 8785 text, several times faster than `jcs`. Most messages are so."""
    kind = type(value)
    if kind is str or value is None or kind is bool:
        return True
    if kind is dict:
        return not _PAST_BMP_ORDER.search("".join(value)) and all(_text_only(item) for item in value.values())
    if kind is list:
        return all(_text_only(item) for item in value)
    return False


def sign_message(message: Mapping[str, Any], chat_id: str, key_id: str, key: bytes | str) -> dict[str, Any]:
    """A copy of `message` carrying its signature for chat `chat_id` under
    `key_id` (a signature it had is replaced). `key` is the secret."""
    secret = MessageKeys({key_id: key}).secret(key_id)
    assert secret is not None
    return {**message, "signature": {"keyId": key_id, "value": _mac(secret, signed_bytes(message, chat_id))}}


def verify_message(message: Mapping[str, Any], chat_id: str, keys: MessageKeys | Mapping[str, bytes | str]) -> Rejection | None:
    """None when `message` carries a signature that one of `keys` made for
    it in chat `chat_id`; otherwise why not (never a secret in the words)."""
    in_force = as_keys(keys)
    assert in_force is not None
    signature = message.get("signature")
    if signature is None:
        return Rejection("unsigned", "the message carries no signature")
    if (
        not isinstance(signature, Mapping)
        or not isinstance(signature.get("keyId"), str)
        or not isinstance(signature.get("value"), str)
    ):
        return Rejection("badSignature", "the signature is not {keyId: text, value: text}")
    key_id, value = signature["keyId"], signature["value"]
    secret = in_force.secret(key_id)
    if secret is None:
        return Rejection("unknownKey", f"signed with key '{key_id[:128]}', which is not among the keys in force")
    if not _VALUE.match(value):
        return Rejection("badSignature", "the signature's value is not 43 base64url characters (an HMAC-SHA256, no padding)")
    try:
        expected = _mac(secret, signed_bytes(message, chat_id))
    except (ValueError, TypeError, OverflowError):  # a time that is not one, a number JSON cannot hold
        return Rejection("badSignature", "the message cannot be written as canonical JSON, so no signature can match it")
    if not hmac.compare_digest(expected, value):
        return Rejection(
            "badSignature", f"the signature does not match this message in chat '{chat_id}' (altered, or signed for another chat)"
        )
    return None


def _mac(secret: bytes, data: bytes) -> str:
    return base64.urlsafe_b64encode(hmac.new(secret, data, hashlib.sha256).digest()).rstrip(b"=").decode("ascii")


# -- RFC 8785 (JCS) ------------------------------------------------------------

# JSON's own string writer (C where built) escapes exactly as RFC 8785 does:
# `"`, `\\`, \\b \\t \\n \\f \\r, other control characters as lowercase \\u00xx.
_string = json.encoder.encode_basestring  # C where built
# Code point order is UTF-16 order unless a key holds a character past U+D7FF.
_PAST_BMP_ORDER = re.compile("[\ud800-\U0010ffff]")


def jcs(value: Any) -> str:
    """`value` as RFC 8785 canonical JSON text; ValueError for what JSON
    cannot hold (NaN, infinities, numbers past a double; lone surrogates
    fail when the text is encoded as UTF-8)."""
    kind = type(value)
    if kind is str:
        return _string(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int or kind is float:
        return _number(value)
    if isinstance(value, Mapping):
        for key in value:
            if type(key) is not str:
                raise TypeError("object keys are text in JSON")
        if _PAST_BMP_ORDER.search("".join(value)):
            items = sorted(value.items(), key=lambda item: item[0].encode("utf-16-be", "surrogatepass"))
        else:
            items = sorted(value.items())
        return "{" + ",".join(_string(key) + ":" + jcs(item) for key, item in items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(jcs(item) for item in value) + "]"
    raise TypeError(f"{kind.__name__} is not JSON")


def _number(number: int | float) -> str:
    """ECMAScript's Number::toString of the double `number` is."""
    if isinstance(number, int) and abs(number) < 2**53:
        return str(number)  # exact as a double, and written as JS writes it
    x = float(number)  # OverflowError (a ValueError's kin) for ints past a double
    if not math.isfinite(x):
        raise ValueError("NaN and infinities are not JSON")
    if x == 0:
        return "0"
    if x < 0:
        return "-" + _number(-x)
    _, digits, exponent = Decimal(repr(x)).as_tuple()  # repr: the shortest digits that read back as x
    text = "".join(map(str, digits)).rstrip("0")
    assert isinstance(exponent, int)
    k = len(text)
    n = exponent + len(digits)  # x = 0.<digits> * 10**n
    if k <= n <= 21:
        return text + "0" * (n - k)
    if 0 < n <= 21:
        return text[:n] + "." + text[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + text
    mantissa = text if k == 1 else text[0] + "." + text[1:]
    return f"{mantissa}e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"
