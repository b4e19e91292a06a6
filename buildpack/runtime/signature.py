"""A signed runtime store: ``manifest.json.sig`` beside ``manifest.json``.

The store's builder signs the manifest with an SSH key (``ssh-keygen -Y sign``, namespace
``buildpack-python-store``); a build whose platform sets ``PYTHON_RUNTIME_STORE_PUBLIC_KEY``
verifies the manifest with ``ssh-keygen -Y verify`` before it reads a byte of it. The
manifest's sha256 values then protect the archives, so a signed manifest protects the
whole store. OpenSSH is on every build host; no library is needed.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from buildpack.base.children import run_bytes
from buildpack.base.output import BuildError

SIGNATURE_NAME = "manifest.json.sig"
NAMESPACE = "buildpack-python-store"
PUBLIC_KEY_VAR = "PYTHON_RUNTIME_STORE_PUBLIC_KEY"
MAX_SIGNATURE_BYTES = 64 * 1024  # an SSH signature is under 2 KB
MAX_PUBLIC_KEY_BYTES = 16 * 1024
DEADLINE = 60  # seconds, for one ssh-keygen run
_KEY_TYPES = ("ssh-", "ecdsa-", "sk-")


def _ssh_keygen(purpose: str) -> str:
    found = shutil.which("ssh-keygen")
    if found is None:
        raise BuildError(
            f"{purpose} needs ssh-keygen, which is not installed",
            "ssh-keygen (OpenSSH 8.1 or newer) signs and verifies runtime store manifests.\n"
            "Install it (Debian/Ubuntu: apt-get install openssh-client).",
            error_id="runtime-store::no-ssh-keygen")
    return found


def _run(cmd: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    try:
        return run_bytes(cmd, stdin if stdin is not None else b"", timeout=DEADLINE)
    except BuildError:  # process::timeout: its group was ended
        return subprocess.CompletedProcess(cmd, -1, b"", f"timed out after {DEADLINE}s".encode())


def _tail(proc: subprocess.CompletedProcess[bytes]) -> str:
    text = (proc.stderr or proc.stdout or b"").decode("utf-8", "replace").strip()
    return "\n".join(text.splitlines()[-5:])[:1000] or f"exit status {proc.returncode}"


def public_key(value: str) -> str:
    """The one public key line ``PYTHON_RUNTIME_STORE_PUBLIC_KEY`` gives: the key itself
    (``ssh-ed25519 AAAA... comment``) or the path of a ``.pub`` file."""
    text = value.strip()
    if not text.startswith(_KEY_TYPES):
        path = Path(text)
        try:
            if path.stat().st_size > MAX_PUBLIC_KEY_BYTES:
                raise _bad_key(f"{text} is larger than {MAX_PUBLIC_KEY_BYTES} bytes")
            text = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise _bad_key(f"it is neither an SSH public key nor a readable .pub file ({exc})") from None
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if len(lines) != 1 or not lines[0].startswith(_KEY_TYPES) or len(lines[0].split()) < 2:
        raise _bad_key("it must hold exactly one public key line, such as\n"
                       "  ssh-ed25519 AAAAC3Nza... store@example.com")
    check = _run([_ssh_keygen("Verifying the runtime store"), "-l", "-f", "/dev/stdin"], lines[0].encode())
    if check.returncode != 0:
        raise _bad_key(f"ssh-keygen cannot read it: {_tail(check)}")
    return lines[0]


def _bad_key(why: str) -> BuildError:
    return BuildError(
        f"{PUBLIC_KEY_VAR} is not a usable public key",
        f"{PUBLIC_KEY_VAR}: {why}.\n\nSet it to the public half of the key the store is signed "
        "with (bin/build-runtime-store --sign KEY), or to the path of its .pub file.",
        error_id="runtime-store::public-key-invalid")


def verify(manifest: Path, signature: Path, key: str, store: str) -> None:
    """Raise ``runtime-store::signature-invalid`` unless ``signature`` is ``key``'s
    signature of ``manifest`` in this namespace. ``store`` names the store in the error."""
    keygen = _ssh_keygen("Verifying the runtime store")
    with tempfile.TemporaryDirectory(prefix="store-signers-") as scratch:
        allowed = Path(scratch) / "allowed_signers"
        allowed.write_text(f'{NAMESPACE} namespaces="{NAMESPACE}" {key}\n', encoding="utf-8")
        proc = _run([keygen, "-Y", "verify", "-f", str(allowed), "-I", NAMESPACE, "-n", NAMESPACE,
                     "-s", str(signature)], manifest.read_bytes())
    if proc.returncode != 0:
        raise BuildError(
            "The runtime store's manifest is not signed by the expected key",
            f"{store}: {SIGNATURE_NAME} does not verify manifest.json with the key of\n"
            f"{PUBLIC_KEY_VAR} (ssh-keygen: {_tail(proc)}).\n\n"
            "Either the manifest was changed after it was signed, it was signed with another\n"
            "key, or the store is not the one the platform means. Nothing was downloaded.\n"
            "Re-sign the store with bin/build-runtime-store --sign KEY, or check\n"
            f"PYTHON_RUNTIME_STORE and {PUBLIC_KEY_VAR}.",
            error_id="runtime-store::signature-invalid")


def missing_signature(store: str, problem: str) -> BuildError:
    return BuildError(
        "The runtime store's manifest is not signed",
        f"{PUBLIC_KEY_VAR} is set, so the manifest must be signed, but {store}\n"
        f"has no {SIGNATURE_NAME} ({problem}). Nothing was downloaded.\n\n"
        "Sign the store with bin/build-runtime-store --sign KEY (it writes\n"
        f"{SIGNATURE_NAME} beside manifest.json), or check PYTHON_RUNTIME_STORE.",
        error_id="runtime-store::signature-missing")


def sign(manifest: Path, private_key: Path) -> Path:
    """Write ``manifest.json.sig`` beside ``manifest`` (replacing an older one) with
    ``ssh-keygen -Y sign``; the signature is made on a copy, then moved into place."""
    keygen = _ssh_keygen("Signing the runtime store")
    with tempfile.TemporaryDirectory(prefix="store-sign-", dir=manifest.parent) as scratch:
        copy = Path(scratch) / manifest.name
        shutil.copyfile(manifest, copy)
        proc = _run([keygen, "-Y", "sign", "-f", str(private_key), "-n", NAMESPACE, str(copy)])
        made = copy.with_name(copy.name + ".sig")
        if proc.returncode != 0 or not made.is_file():
            raise BuildError(
                f"Could not sign {manifest} with {private_key}",
                f"ssh-keygen -Y sign: {_tail(proc)}\n\nGive the path of an SSH private key "
                "without a passphrase (or one ssh-agent holds),\ne.g. one made with "
                "`ssh-keygen -t ed25519 -N '' -f store-key`.",
                error_id="store-builder::sign-failed")
        target = manifest.with_name(SIGNATURE_NAME)
        made.replace(target)
    return target
