"""Commands the documentation and tools tell a user to run exist, and work in a new shell."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def code_blocks(path):
    return re.findall(r"```(?:bash|sh)\n(.*?)```", path.read_text(), re.S)


def test_every_rdlab_command_in_the_docs_sets_its_pythonpath():
    for path in sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]:
        for block in code_blocks(path):
            for line in block.splitlines():
                if "-m rdlab" in line and "PYTHONPATH=" not in line:
                    assert "export PYTHONPATH=tests/lab" in block, "%s: %s" % (path.name, line)


def test_every_make_target_the_tools_and_docs_name_exists():
    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.M))
    texts = sorted((ROOT / "tools").glob("*.sh")) + sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
    for path in texts:
        text = path.read_text()
        # Commands, not prose ("make it a shared file system"): scripts whole, in docs code blocks and `make x`.
        commands = [text] if path.suffix == ".sh" else code_blocks(path) + re.findall(r"`(make [^`]*)`", text)
        for command in commands:
            for target in re.findall(r"\bmake ([a-z][\w-]*)", command):
                assert target in targets, "%s names make %s" % (path.name, target)


def test_the_readme_lists_each_document_once_and_says_how_to_install_from_a_checkout():
    readme = (ROOT / "README.md").read_text()
    documentation = readme.split("## Documentation", 1)[1].split("\n## ", 1)[0]
    links = re.findall(r"\]\((docs/[\w./-]+)\)", documentation)
    assert len(links) == len(set(links)), sorted(link for link in links if links.count(link) > 1)
    install = readme.split("## Install", 1)[1].split("\n## ", 1)[0]
    assert "ansible-galaxy collection build" in install and "ansible-galaxy collection install build/" in install


def test_ansible_doc_l_says_the_host_bridge_is_internal():
    import yaml
    doc = yaml.safe_load((ROOT / "plugins" / "modules" / "host_bridge.yml").read_text())["DOCUMENTATION"]
    assert doc["short_description"].startswith("Internal ")  # what `ansible-doc -l` shows first
