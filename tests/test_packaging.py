"""An embedding server gets the default policy and the schemas with
`pip install`: the wheel carries them and the installed package finds them.
And `pip install chat-recovery` (no extras) gives a CLI that works for
everything but `serve`, which says which extra it needs."""

import json
import subprocess
import sys
import venv
import zipfile

import pytest

from conftest import NOW, ROOT

SERVE_ONLY = ("starlette", "uvicorn", "redis", "prometheus_client", "anyio")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    dist = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (path,) = dist.glob("chat_recovery-*.whl")
    return path


def test_wheel_carries_rules_and_schemas_and_works_installed(tmp_path, wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in ROOT.joinpath("rules").glob("*.yaml"):
        assert f"chat_recovery/_bundled/rules/{path.name}" in names
    for path in ROOT.joinpath("schemas").glob("*.json"):
        assert f"chat_recovery/_bundled/schemas/{path.name}" in names
    assert "chat_recovery/py.typed" in names
    for name in ("index.html", "app.js", "app.css"):  # the playground's page, built: no Node at install
        assert f"chat_recovery/playground/static/{name}" in names

    target = tmp_path / "site"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr
    probe = (
        "import chat_recovery as cr, chat_recovery.policy.bundled as b;"
        "assert str(cr.__file__).startswith(%r), cr.__file__;"
        "p = cr.load_policy(); print(b.rules_dir(), len(p.info))"
    ) % str(target)
    ran = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith(str(target / "chat_recovery" / "_bundled" / "rules")) and ran.stdout.split()[-1] == "69"


def test_without_extras_every_command_but_serve_works_and_serve_names_its_extra(tmp_path, wheel):
    """The wheel in a fresh venv with its dependencies only (pyyaml,
    jsonschema, durable-rules), as `docs/ci.md` tells CI to install it."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python, exe = env_dir / "bin" / "python", env_dir / "bin" / "chat-recovery"
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", str(wheel)], capture_output=True, text=True, timeout=600
    )
    assert installed.returncode == 0, installed.stderr
    missing = subprocess.run(
        [str(python), "-c", f"import importlib.util as u; print([m for m in {SERVE_ONLY!r} if u.find_spec(m)])"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert missing.stdout.strip() == "[]", "the fresh venv holds part of the serve extra"

    def run(*args):
        return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, cwd=tmp_path, timeout=300)

    recovered = run("recover", "--now", NOW, *sorted((ROOT / "examples" / "agents-disagree").glob("*.json")))
    assert recovered.returncode == 0, recovered.stderr
    assert json.loads(recovered.stdout)["visitorId"] == "v-3003"
    for args in (
        ("policy", "check"),
        ("policy", "check", ROOT / "rules"),
        ("policy", "test"),
        ("policy", "test", ROOT / "rules"),
    ):
        done = run(*args)
        assert done.returncode == 0, (args, done.stderr)
        assert "Traceback" not in done.stderr
    helped = run("serve", "--help")
    assert helped.returncode == 0 and "--port" in helped.stdout
    served = run("serve")
    assert served.returncode == 2 and served.stdout == ""
    assert served.stderr.count("\n") == 1 and "pip install 'chat-recovery[serve]'" in served.stderr, served.stderr
    playground = run("playground")
    assert playground.returncode == 2 and playground.stdout == ""
    assert playground.stderr.count("\n") == 1 and "pip install 'chat-recovery[serve]'" in playground.stderr, playground.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["policy", "check"],
        ["policy", "test"],
        ["policy", "docs"],
        ["policy", "diff", "rules", "rules", "--no-suites"],
        ["recover", "--now", NOW, "examples/plain-visitor/1-visitor.json"],
        ["serve", "--help"],
        ["playground", "--help"],
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_commands_other_than_serve_do_not_import_the_service(argv):
    """A cheap guard for the test above: the modules the serve extra brings
    (and the app that imports them) stay out of every other command."""
    probe = (
        "import sys, json\nfrom chat_recovery.cli import main\ntry:\n    main(%r)\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in %r or m == 'chat_recovery.service.app')))"
        % (argv, SERVE_ONLY)
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []
