"""The documented list of rule kinds (docs/compliance.md, "The kinds of rule") is the list the code knows:
RuleKind, with the stage, the threshold and the params (and their defaults) of compliance/rules/validators.py."""

import json
import re
from pathlib import Path

from django.conf import settings

from compliance.rules.models import PRETRADE_KINDS, RuleKind
from compliance.rules.validators import KINDS, NONE

DOC = Path(settings.BASE_DIR) / "docs" / "compliance.md"


def documented_kinds() -> dict[str, list[str]]:
    text = DOC.read_text()
    section = text.split("### The kinds of rule", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = re.match(r"^\| `([A-Z_]+)` \|", line)
        if match:
            rows[match[1]] = [cell.strip() for cell in line.strip().strip("|").split("|")]
    return rows


def test_the_documented_kinds_are_the_kinds_of_the_code_in_order():
    assert list(documented_kinds()) == list(RuleKind.values)
    assert set(KINDS) == set(RuleKind.values)


def test_each_documented_kind_has_its_stage_threshold_and_params_with_their_defaults():
    for kind, (_name, stage, _checks, threshold, params) in documented_kinds().items():
        spec = KINDS[kind]
        assert stage == ("pre-trade" if kind in PRETRADE_KINDS else "surveillance"), kind
        assert (threshold == "none") is (spec.threshold == NONE), kind
        if not spec.params:
            assert params == "none", kind
        for param in spec.params:
            assert f"`{param.name}` (`{json.dumps(param.default)}`" in params, (kind, param.name)
        assert set(re.findall(r"`([a-z_]+)` \(`", params)) == {p.name for p in spec.params}, kind
