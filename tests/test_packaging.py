"""An embedding server gets the default policy and the schemas with
`pip install`: the wheel carries them and the installed package finds them."""
import subprocess
import sys
import zipfile

from conftest import ROOT


def test_wheel_carries_rules_and_schemas_and_works_installed(tmp_path):
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(ROOT)],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("chat_recovery-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in ROOT.joinpath("rules").glob("*.yaml"):
        assert f"chat_recovery/_bundled/rules/{path.name}" in names
    for path in ROOT.joinpath("schemas").glob("*.json"):
        assert f"chat_recovery/_bundled/schemas/{path.name}" in names
    assert "chat_recovery/py.typed" in names

    target = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                               capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr
    probe = ("import chat_recovery as cr, chat_recovery.bundled as b;"
             "assert str(cr.__file__).startswith(%r), cr.__file__;"
             "p = cr.load_policy(); print(b.rules_dir(), len(p.info))") % str(target)
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path,
                         env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith(str(target / "chat_recovery" / "_bundled" / "rules")) and ran.stdout.split()[-1] == "69"
