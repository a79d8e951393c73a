"""Message signatures on their own: what a server signs, what verifies, and
what the keys and the key file never show."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chat_recovery as cr
from chat_recovery.signing import jcs, signed_bytes

SECRET = b"s3cret-for-tests-0123456789abcdef"
MESSAGE = {
    "id": "m1",
    "time": "2026-11-24T09:00:05.120+00:00",  # not the canonical spelling: signed as 09:00:05.12Z
    "action": "agentMessage",
    "sender": {"type": "agent", "id": "a-1"},
    "text": "Hello — ça va?",
    "data": {"size": 1.0, "tags": ["x"]},
}


def test_a_signed_message_verifies():
    signed = cr.sign_message(MESSAGE, "c-1", "k1", SECRET)
    assert signed["signature"]["keyId"] == "k1"
    assert cr.verify_message(signed, "c-1", {"k1": SECRET}) is None
    assert "signature" not in MESSAGE  # the given message is not changed


def test_the_signed_bytes_are_the_documented_ones():
    """What a server in another language computes: HMAC-SHA256 over RFC 8785
    JSON of {chatId, message without signature, time in the one spelling}."""
    text = (
        '{"chatId":"c-1","message":{"action":"agentMessage","data":{"size":1,"tags":["x"]},"id":"m1",'
        '"sender":{"id":"a-1","type":"agent"},"text":"Hello — ça va?","time":"2026-11-24T09:00:05.12Z"}}'
    )
    assert signed_bytes(MESSAGE, "c-1") == text.encode("utf-8")
    mac = base64.urlsafe_b64encode(hmac.new(SECRET, text.encode(), hashlib.sha256).digest()).rstrip(b"=").decode()
    assert cr.sign_message(MESSAGE, "c-1", "k1", SECRET)["signature"]["value"] == mac


def test_the_time_is_signed_in_the_one_spelling_so_a_respelt_report_still_verifies():
    signed = cr.sign_message(MESSAGE, "c-1", "k1", SECRET)
    respelt = {**signed, "time": "2026-11-24T09:00:05.12Z"}  # what recovery/reports.py check() makes of it
    assert cr.verify_message(respelt, "c-1", {"k1": SECRET}) is None
    later = {**signed, "time": "2026-11-24T09:00:05.121Z"}
    assert cr.verify_message(later, "c-1", {"k1": SECRET}).code == "badSignature"


@pytest.mark.parametrize(
    ("number", "written"),
    [
        (1.0, "1"),
        (4.50, "4.5"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (1e-7, "1e-7"),
        (1e-6, "0.000001"),
        (-0.0, "0"),
        (333333333.33333329, "333333333.3333333"),
        (5e-324, "5e-324"),
        (2**53, "9007199254740992"),
        (10**23, "1e+23"),
    ],
)
def test_numbers_are_written_as_rfc_8785_writes_them(number, written):
    assert jcs(number) == written


def test_keys_are_sorted_by_utf16_code_units_and_strings_escaped_as_rfc_8785_says():
    assert jcs({"\ufb01": 1, "\U0001f600": 2, "b": '\u20ac\n\x01"\\\x7f'}) == '{"b":"€\\n\\u0001\\"\\\\\x7f","😀":2,"ﬁ":1}'


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda m: {**m, "text": m["text"][:-1] + "!"}, "badSignature"),
        (lambda m: {**m, "data": {**m["data"], "size": 2}}, "badSignature"),
        (lambda m: {**m, "sender": {"type": "agent", "id": "a-2"}}, "badSignature"),
        (lambda m: {k: v for k, v in m.items() if k != "signature"}, "unsigned"),
        (lambda m: {**m, "signature": {**m["signature"], "keyId": "k9"}}, "unknownKey"),
        (lambda m: {**m, "signature": {**m["signature"], "value": m["signature"]["value"] + "="}}, "badSignature"),
        (lambda m: {**m, "signature": "yes"}, "badSignature"),
    ],
    ids=["text", "data", "sender", "dropped", "unknown-key", "padded", "not-an-object"],
)
def test_what_does_not_verify_says_why(change, code):
    signed = cr.sign_message(MESSAGE, "c-1", "k1", SECRET)
    rejection = cr.verify_message(change(signed), "c-1", {"k1": SECRET})
    assert rejection is not None and rejection.code == code


def test_a_message_signed_for_another_chat_does_not_verify():
    signed = cr.sign_message(MESSAGE, "c-1", "k1", SECRET)
    assert cr.verify_message(signed, "c-2", {"k1": SECRET}).code == "badSignature"


def test_two_keys_in_force_verify_messages_signed_with_either():
    keys = cr.MessageKeys({"old": SECRET, "new": b"another-secret-of-32-bytes-0000000"})
    for key_id in ("old", "new"):
        signed = cr.sign_message(MESSAGE, "c-1", key_id, keys.secret(key_id))
        assert cr.verify_message(signed, "c-1", keys) is None
    assert cr.verify_message(cr.sign_message(MESSAGE, "c-1", "new", SECRET), "c-1", keys).code == "badSignature"


def test_short_secrets_are_refused_and_no_secret_is_ever_shown():
    with pytest.raises(ValueError, match="shorter than 16 bytes") as caught:
        cr.MessageKeys({"k1": b"short-secret"})
    assert "short-secret" not in str(caught.value)
    keys = cr.MessageKeys({"k1": SECRET})
    assert SECRET.decode() not in repr(keys) + str(keys) + repr(pickle.loads(pickle.dumps(keys)))
    assert pickle.loads(pickle.dumps(keys)) == keys
    signed = cr.sign_message(MESSAGE, "c-1", "k1", SECRET)
    for bad in ({**signed, "text": "x"}, {**signed, "signature": {"keyId": "k2", "value": "x"}}):
        assert SECRET.decode() not in repr(cr.verify_message(bad, "c-1", keys))


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('{"k1": "tiny-s3"}', "key 'k1': the secret is shorter than 16 bytes"),
        ('{"k1": "base64:not*base64"}', "key 'k1': the text after base64: is not base64"),
        ('{"k1": 12345678901234567890}', "key 'k1': the secret must be text"),
        ("k1: [secret-in-a-broken-file", "not a JSON or YAML object of key id -> secret at line"),
        ('{"k 1": "a-secret-long-enough-0123"}', "key id 'k 1' is not"),
        ("[]", "not a JSON or YAML object"),
    ],
)
def test_a_bad_key_file_is_named_with_the_key_id_and_never_the_secret(tmp_path, text, words):
    path = tmp_path / "keys.yaml"
    path.write_text(text)
    with pytest.raises(ValueError) as caught:
        cr.load_message_keys(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and words in message
    for secret in ("tiny-s3", "not*base64", "12345678901234567890", "secret-in-a-broken-file", "a-secret-long-enough"):
        assert secret not in message


def test_a_key_file_holds_text_and_base64_secrets(tmp_path):
    raw = bytes(range(32))
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"k1": SECRET.decode(), "k2": "base64:" + base64.urlsafe_b64encode(raw).decode().rstrip("=")}))
    keys = cr.load_message_keys(path)
    assert keys.secret("k1") == SECRET and keys.secret("k2") == raw
    assert list(keys) == ["k1", "k2"]


_TEXT = st.text(st.characters(codec="utf-8"), max_size=8)
_VALUES = st.recursive(
    st.none() | st.booleans() | _TEXT | st.integers(-(2**60), 2**60) | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(data=_VALUES, text=_TEXT)
def test_the_fast_writer_for_text_only_messages_writes_what_rfc_8785_does(data, text):
    """signed_bytes takes JSON's C writer when a message holds no number: the bytes are the same either way."""
    message = {"id": "m", "time": "2026-11-24T09:00:00Z", "action": "a", "sender": {"type": "agent"}, "text": text, "data": data}
    assert signed_bytes(message, "c-1") == jcs({"chatId": "c-1", "message": message}).encode("utf-8")
