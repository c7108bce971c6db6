"""Tests of isegoria.algorithms.checkpoint: C2SP signed notes and tlog checkpoints."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from isegoria.algorithms.checkpoint import (
    Checkpoint,
    MalformedNoteError,
    NoteError,
    NoteVerifier,
    UnverifiedNoteError,
    key_id,
    open_note,
    open_signed_note,
    parse_checkpoint_body,
    parse_signer_key,
    parse_verifier_key,
    sign_checkpoint,
    sign_note,
    signer_key,
    verifier_key,
)

# Known-answer values published with the Go reference implementation of signed notes
# (golang.org/x/mod/sumdb/note): a key pair, a text, and its signature line.
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIGNATURE_LINE = (
    "\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)

# The example checkpoint of c2sp.org/tlog-checkpoint (its key is not published).
SPEC_BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
SPEC_NOTE = (
    SPEC_BODY + "\n\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeO"
    "oRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
)

ORIGIN = "isegoria.example/log"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
ROOT = hashlib.sha256(b"a root").digest()
CHECKPOINT = Checkpoint(ORIGIN, 12345, ROOT, ("extension one", "ext two"))


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes_raw()


# --- known answers ----------------------------------------------------------------------------


def test_go_reference_note_is_reproduced_byte_for_byte() -> None:
    name, private_key = parse_signer_key(GO_SKEY)
    assert name == "PeterNeumann"
    assert signer_key(name, private_key) == GO_SKEY
    assert verifier_key(name, private_key.public_key()) == GO_VKEY
    assert key_id(name, raw_public(private_key)).hex() == "c74f20a3"
    note = sign_note(GO_TEXT, name, private_key)
    assert note == GO_TEXT + "\n" + GO_SIGNATURE_LINE  # Ed25519 is deterministic
    assert open_note(note, [GO_VKEY]) == GO_TEXT
    assert open_note(note.encode(), [parse_verifier_key(GO_VKEY)]) == GO_TEXT
    with pytest.raises(UnverifiedNoteError, match="does not verify"):
        open_note(note.replace("cryptography", "cryptographY"), [GO_VKEY])


def test_key_id_is_the_sha256_prefix_of_name_newline_type_and_key() -> None:
    public = raw_public(KEY)
    expected = hashlib.sha256(b"log.example\n\x01" + public).digest()[:4]
    assert key_id("log.example", public) == expected
    vkey = verifier_key("log.example", KEY.public_key())
    assert (
        vkey == "log.example+" + expected.hex() + "+" + base64.b64encode(b"\x01" + public).decode()
    )
    assert parse_verifier_key(vkey) == NoteVerifier("log.example", expected, public)
    assert str(parse_verifier_key(vkey)) == vkey


def test_spec_example_checkpoint_parses_and_its_unknown_signature_is_ignored() -> None:
    checkpoint = parse_checkpoint_body(SPEC_BODY)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert checkpoint.root_hash == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert checkpoint.extensions == ()
    assert checkpoint.body() == SPEC_BODY
    # Our key shares the origin's name but not the key ID: the signature is ignored.
    ours = verifier_key("example.com/behind-the-sofa", KEY.public_key())
    with pytest.raises(UnverifiedNoteError, match="no signature by a trusted key"):
        open_signed_note(SPEC_NOTE, [ours])


# --- round trip and tampering -----------------------------------------------------------------


def test_signed_checkpoint_round_trip() -> None:
    note = sign_checkpoint(CHECKPOINT, ORIGIN, KEY)
    body = f"{ORIGIN}\n12345\n{base64.b64encode(ROOT).decode()}\nextension one\next two\n"
    assert CHECKPOINT.body() == body
    assert note.startswith(body + "\n\u2014 " + ORIGIN + " ")
    assert note.endswith("\n") and note.count("\n") == 7
    vkey = verifier_key(ORIGIN, KEY.public_key())
    assert open_signed_note(note, [vkey]) == CHECKPOINT
    assert open_signed_note(note, [vkey], origin=ORIGIN) == CHECKPOINT
    with pytest.raises(UnverifiedNoteError, match="is not the expected"):
        open_signed_note(note, [vkey], origin="elsewhere.example/log")


def test_tampering_any_byte_is_detected() -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 7, ROOT), ORIGIN, KEY).encode()
    vkey = verifier_key(ORIGIN, KEY.public_key())
    assert open_signed_note(note, [vkey]).size == 7
    for position in range(len(note)):
        for mask in (0x01, 0x20):
            tampered = bytearray(note)
            tampered[position] ^= mask
            with pytest.raises(NoteError):
                open_signed_note(bytes(tampered), [vkey])


def test_valid_looking_edits_fail_the_signature_check() -> None:
    note = sign_checkpoint(CHECKPOINT, ORIGIN, KEY)
    vkey = verifier_key(ORIGIN, KEY.public_key())
    for old, new in [("12345", "12346"), ("extension one", "extension 1"), ("ext two\n", "")]:
        with pytest.raises(UnverifiedNoteError, match="does not verify"):
            open_signed_note(note.replace(old, new, 1), [vkey])
    # A signature lifted from another checkpoint does not transfer.
    other = sign_checkpoint(Checkpoint(ORIGIN, 1, ROOT), ORIGIN, KEY)
    spliced = CHECKPOINT.body() + "\n" + other.split("\n\n")[1]
    with pytest.raises(UnverifiedNoteError, match="does not verify"):
        open_signed_note(spliced, [vkey])


def test_wrong_key_is_rejected() -> None:
    note = sign_checkpoint(CHECKPOINT, ORIGIN, KEY)
    with pytest.raises(UnverifiedNoteError, match="no signature by a trusted key"):
        open_signed_note(note, [verifier_key(ORIGIN, OTHER_KEY.public_key())])
    with pytest.raises(UnverifiedNoteError, match=r"trusted: none"):
        open_signed_note(note, [])


def test_unknown_signatures_are_ignored_and_known_failures_reject() -> None:
    body = CHECKPOINT.body()
    ours = sign_checkpoint(CHECKPOINT, ORIGIN, KEY).split("\n\n")[1]
    witness = sign_checkpoint(CHECKPOINT, "witness.example", OTHER_KEY).split("\n\n")[1]
    junk_sig = base64.b64encode(b"\x00\x01\x02\x03" + b"\x55" * 64).decode()
    junk = f"\u2014 unknown.example {junk_sig}\n"
    vkey = verifier_key(ORIGIN, KEY.public_key())
    wkey = verifier_key("witness.example", OTHER_KEY.public_key())
    assert open_signed_note(body + "\n" + junk + witness + ours, [vkey]) == CHECKPOINT
    assert open_signed_note(body + "\n" + ours + witness, [vkey, wkey]) == CHECKPOINT
    # A known key whose signature fails rejects the note even if another known key verifies.
    wrong_text = sign_checkpoint(Checkpoint(ORIGIN, 1, ROOT), "witness.example", OTHER_KEY)
    bad_witness = wrong_text.split("\n\n")[1]  # the witness key, over another text
    with pytest.raises(UnverifiedNoteError, match=r"witness\.example\+[0-9a-f]{8} does not"):
        open_signed_note(body + "\n" + ours + bad_witness, [vkey, wkey])


def test_trusted_keys_may_repeat_but_must_match_their_key_id() -> None:
    note = sign_checkpoint(CHECKPOINT, ORIGIN, KEY)
    good = parse_verifier_key(verifier_key(ORIGIN, KEY.public_key()))
    assert open_signed_note(note, [good, good]) == CHECKPOINT  # the same key twice is fine
    with pytest.raises(MalformedNoteError, match="does not match"):
        NoteVerifier(ORIGIN, good.key_id, raw_public(OTHER_KEY))


# --- malformed input --------------------------------------------------------------------------

NOTE = sign_checkpoint(Checkpoint(ORIGIN, 5, ROOT), ORIGIN, KEY)
VKEY = verifier_key(ORIGIN, KEY.public_key())
SIG_B64 = NOTE.rsplit(" ", 1)[1][:-1]


@pytest.mark.parametrize(
    ("note", "message"),
    [
        (NOTE.replace("\n\n", "\n"), "no blank line"),
        (NOTE[:-1], "must end with a newline"),
        (NOTE.split("\n\n")[0] + "\n\n", "no signature lines"),
        (NOTE.replace("\u2014", "-"), "em dash"),
        (NOTE.replace(f"\u2014 {ORIGIN} ", f"\u2014 {ORIGIN}  "), "must be '— <name> <base64>'"),
        (NOTE.replace(f"\u2014 {ORIGIN}", "\u2014 a+b"), "must not contain spaces, '\\+'"),
        (NOTE.replace(SIG_B64, SIG_B64[:-2] + "!="), "not valid base64"),
        (NOTE.replace(SIG_B64, SIG_B64.rstrip("=")), "not valid base64"),
        (NOTE.replace(SIG_B64, "AAAA"), "shorter than its key ID"),
        (NOTE.replace("\n5\n", "\n5\t\n"), "control character"),
        (NOTE.encode()[:-3] + b"\xff\xfe\n", "not valid UTF-8"),
        (NOTE.replace("\n\n", "\n\n" + ("\u2014 x " + SIG_B64 + "\n") * 100, 1), "more than 100"),
    ],
)
def test_malformed_notes_are_rejected_with_a_reason(note: str | bytes, message: str) -> None:
    assert open_signed_note(NOTE, [VKEY]).size == 5  # the unbroken note opens
    with pytest.raises(MalformedNoteError, match=message):
        open_signed_note(note, [VKEY])


def test_non_canonical_base64_is_rejected() -> None:
    # The root hash is 32 bytes: its last base64 character carries two unused bits.
    encoded = base64.b64encode(ROOT).decode()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    sibling = alphabet[alphabet.index(encoded[-2]) ^ 1]
    assert base64.b64decode(encoded[:-2] + sibling + "=") == ROOT  # same bytes, other text
    with pytest.raises(MalformedNoteError, match="not canonical"):
        parse_checkpoint_body(f"o\n1\n{encoded[:-2]}{sibling}=\n")


ROOT_B64 = base64.b64encode(ROOT).decode()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (f"o\n1\n{ROOT_B64}", "must end with a newline"),
        ("o\n1\n", "it needs origin, tree size and root hash"),
        (f"\n1\n{ROOT_B64}\n", "line 1 is empty"),
        (f"o\n1\n{ROOT_B64}\n\n", "line 4 is empty"),
        (f"o\n1\n{ROOT_B64}\next\n\nmore\n", "line 5 is empty"),
        (f"o\n007\n{ROOT_B64}\n", "not a decimal number without leading zeros"),
        (f"o\n-1\n{ROOT_B64}\n", "not a decimal number"),
        (f"o\n+1\n{ROOT_B64}\n", "not a decimal number"),
        (f"o\n1e3\n{ROOT_B64}\n", "not a decimal number"),
        (f"o\n\u0663\n{ROOT_B64}\n", "not a decimal number"),  # ARABIC-INDIC DIGIT THREE
        (f"o\n 1\n{ROOT_B64}\n", "not a decimal number"),
        (f"o\n18446744073709551616\n{ROOT_B64}\n", "exceeds 2\\^64 - 1"),
        ("o\n1\nnot base64!\n", "not valid base64"),
        (f"o\n1\n{ROOT_B64.rstrip('=')}\n", "not valid base64"),
        (f"o\n1\n{base64.b64encode(ROOT[:20]).decode()}\n", "root hash is 20 bytes"),
        (f"o\x01\n1\n{ROOT_B64}\n", "control character"),
    ],
)
def test_malformed_checkpoint_bodies(body: str, message: str) -> None:
    with pytest.raises(MalformedNoteError, match=message):
        parse_checkpoint_body(body)


def test_largest_and_smallest_sizes_parse() -> None:
    assert parse_checkpoint_body(f"o\n0\n{ROOT_B64}\n").size == 0
    assert parse_checkpoint_body(f"o\n18446744073709551615\n{ROOT_B64}\n").size == 2**64 - 1


def test_checkpoint_fields_are_validated() -> None:
    with pytest.raises(ValueError, match="origin must be a non-empty string"):
        Checkpoint("", 1, ROOT)
    with pytest.raises(ValueError, match="contains a newline"):
        Checkpoint("a\nb", 1, ROOT)
    with pytest.raises(ValueError, match="control character"):
        Checkpoint("a\x00b", 1, ROOT)
    with pytest.raises(ValueError, match="lone surrogate"):
        Checkpoint("a\ud800", 1, ROOT)
    with pytest.raises(ValueError, match="extension line must be a non-empty"):
        Checkpoint("o", 1, ROOT, ("",))
    with pytest.raises(ValueError, match="outside"):
        Checkpoint("o", -1, ROOT)
    with pytest.raises(ValueError, match="integer"):
        Checkpoint("o", True, ROOT)
    with pytest.raises(ValueError, match="32 bytes"):
        Checkpoint("o", 1, ROOT[:31])


def test_key_names_and_texts_are_validated_when_signing() -> None:
    for bad in ("", "a b", "a+b", "a\u00a0b", "a\tb", "a\udfff"):
        with pytest.raises(MalformedNoteError, match="key name"):
            sign_note("text\n", bad, KEY)
    with pytest.raises(MalformedNoteError, match="must end with a newline"):
        sign_note("text", "name", KEY)
    with pytest.raises(MalformedNoteError, match="control character"):
        sign_note("te\rxt\n", "name", KEY)
    with pytest.raises(MalformedNoteError, match="lone surrogate"):
        sign_note("te\ud800xt\n", "name", KEY)


def test_every_mangled_verifier_key_is_rejected() -> None:
    assert parse_verifier_key(GO_VKEY).name == "PeterNeumann"
    for start in range(len(GO_VKEY)):
        for end in range(start + 1, len(GO_VKEY) + 1):
            if (start, end) != (0, len(GO_VKEY)):
                with pytest.raises(MalformedNoteError):
                    parse_verifier_key(GO_VKEY[start:end])
    for i in range(len(GO_VKEY)):
        mangled = GO_VKEY[:i] + chr(ord(GO_VKEY[i]) + 1) + GO_VKEY[i + 1 :]
        with pytest.raises(MalformedNoteError):
            parse_verifier_key(mangled)
    with pytest.raises(MalformedNoteError, match="8 hex digits"):
        parse_verifier_key("PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
    with pytest.raises(MalformedNoteError, match="0x01 \\(Ed25519\\)"):
        parse_verifier_key("name+00000000+" + base64.b64encode(b"\x02" + b"k" * 32).decode())
    with pytest.raises(MalformedNoteError, match="must start with"):
        parse_signer_key(GO_VKEY)


@settings(max_examples=60, deadline=None)
@given(
    origin=st.text(st.characters(codec="utf-8", min_codepoint=0x20), min_size=1),
    size=st.integers(0, 2**64 - 1),
    root_hash=st.binary(min_size=32, max_size=32),
    extensions=st.lists(
        st.text(st.characters(codec="utf-8", min_codepoint=0x20), min_size=1, max_size=20),
        max_size=3,
    ),
)
def test_checkpoint_round_trip_property(
    origin: str, size: int, root_hash: bytes, extensions: list[str]
) -> None:
    checkpoint = Checkpoint(origin, size, root_hash, tuple(extensions))
    assert parse_checkpoint_body(checkpoint.body()) == checkpoint
    note = sign_checkpoint(checkpoint, "log.example", KEY)
    assert open_signed_note(note, [verifier_key("log.example", KEY.public_key())]) == checkpoint
