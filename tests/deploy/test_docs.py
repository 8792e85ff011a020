"""The README's role table is the Bicep's, and README.zh-CN.md keeps step with README.md: the same
commands (every line of the bash blocks, comments aside), the same JSON examples, the same setting names."""

from __future__ import annotations

import re

from devstack.azurite import PROJECT_ROOT
from tests.deploy import bicep

ENGLISH = PROJECT_ROOT / "README.md"
CHINESE = PROJECT_ROOT / "README.zh-CN.md"
ROLE_ROWS = {"CMK Image Builder": "builderActions", "CMK Image Builder registration": "registrationActions",
             "CMK Image Builder audit": "auditActions", "CMK Image Builder verification": "verificationActions",
             "CMK Image Builder network": "networkActions", "CMK Image Builder key chain": "keyChainActions"}  # fmt: skip
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
SETTING = re.compile(r"\b(?:[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|AzureWebJobsStorage(?:__\w+)?)\b")
INLINE = re.compile(r"`([^`\n]+)`")


def blocks(text: str, language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(text) if lang == language]


def commands(text: str) -> set[str]:
    """Each line of the bash blocks, without its trailing `# comment` (that part is prose)."""
    found = set()
    for body in blocks(text, "bash"):
        for line in body.splitlines():
            code = re.sub(r"(^|\s)#\s.*$", "", line).strip()
            if code:
                found.add(" ".join(code.split()))
    return found


def settings(text: str) -> set[str]:
    outside = FENCE.sub("", text)
    return {name for span in INLINE.findall(outside) for name in SETTING.findall(span)}


def role_table(text: str) -> dict[str, list[str]]:
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] in ROLE_ROWS:
            rows[ROLE_ROWS[cells[0]]] = re.findall(r"`([^`]+)`", cells[2])
    return rows


def test_the_readme_role_table_is_the_bicep_roles():
    assert role_table(ENGLISH.read_text(encoding="utf-8")) == bicep.role_actions()


def test_the_chinese_readme_has_the_same_role_table():
    """Role names are Azure identifiers: the Chinese table keeps them, and the actions, as they are."""
    assert role_table(CHINESE.read_text(encoding="utf-8")) == bicep.role_actions()


def test_both_readmes_have_the_same_commands():
    english, chinese = commands(ENGLISH.read_text(encoding="utf-8")), commands(CHINESE.read_text(encoding="utf-8"))
    assert sorted(english - chinese) == [], "commands in README.md missing from README.zh-CN.md"
    assert sorted(chinese - english) == [], "commands in README.zh-CN.md that README.md does not have"


def test_both_readmes_have_the_same_json_examples():
    english = sorted(blocks(ENGLISH.read_text(encoding="utf-8"), "json"))
    assert english == sorted(blocks(CHINESE.read_text(encoding="utf-8"), "json"))


def test_both_readmes_name_the_same_settings():
    english, chinese = settings(ENGLISH.read_text(encoding="utf-8")), settings(CHINESE.read_text(encoding="utf-8"))
    assert {"AZURE_CLOUD", "REQUIRED_FEATURES", "AzureWebJobsStorage"} <= english
    assert sorted(english - chinese) == [], "settings README.md names that README.zh-CN.md does not"
    assert sorted(chinese - english) == [], "settings README.zh-CN.md names that README.md does not"


def test_the_comparison_sees_a_missing_command_and_setting():
    text = "```bash\nmake demo   # 演示\n```\n`POLL_MAX_SECONDS` and `X`\n"
    assert commands(text) == {"make demo"} and settings(text) == {"POLL_MAX_SECONDS"}
    assert commands("```bash\n# only a comment\n```\n") == set()
