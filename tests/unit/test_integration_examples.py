"""The integration pages' example mappings send each reason to the rule it means.

The examples cite the demo world's rule ids; a reason mapped to the wrong rule (a threat to
the intimate-images law) or to a rule the demo never enacts is a wrong example that people
copy. Each mapped reason here is checked against the harm category of the demo's rule.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from isegoria.demo.law import INTERNATIONAL_BASELINE, NATIONAL

DOCS = Path(__file__).resolve().parents[2] / "docs" / "integrations"
RULE_ID = re.compile(r"\b(?:intl|EU|FR|DE|MX|US)-\d+\b")
PAIR = re.compile(r'"([^"]+)":\s*"((?:intl|EU|FR|DE|MX|US)-\d+)"')

#: What each reason or keyword used in the examples means, as a harm category.
MEANS = {
    "threat": "cyber_violence",
    "threatened": "cyber_violence",
    "1": "cyber_violence",  # Mastodon's example: a server whose rule 1 is "no threats"
    "doxxed": "data_protection_and_privacy",
    "scam": "scams_and_fraud",
    "spam": "other_terms_violation",
    "com.atproto.moderation.defs#reasonspam": "other_terms_violation",
    "nudes": "cyber_violence_against_women",
}


def _demo_rules() -> dict[str, str]:
    """Rule id -> harm category, numbered per jurisdiction in the order the demo enacts."""
    counts: Counter[str] = Counter()
    rules = {}
    for bill in INTERNATIONAL_BASELINE + NATIONAL:
        counts[bill.jurisdiction] += 1
        rules[f"{bill.jurisdiction}-{counts[bill.jurisdiction]}"] = bill.draft.harm_category
    return rules


PAGES = sorted(DOCS.glob("*.md"))


def test_the_demo_numbers_its_rules_as_the_pages_say() -> None:
    rules = _demo_rules()
    assert rules["intl-2"] == "cyber_violence" and rules["intl-5"] == "other_terms_violation"
    assert rules["MX-1"] == "cyber_violence_against_women"


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_rule_an_integration_page_cites_exists_in_the_demo(page: Path) -> None:
    missing = sorted(set(RULE_ID.findall(page.read_text())) - set(_demo_rules()))
    assert missing == [], f"{page.name} cites rules the demo does not have: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_mapped_reason_goes_to_the_rule_it_means(page: Path) -> None:
    rules = _demo_rules()
    for reason, rule in PAIR.findall(page.read_text()):
        meaning = MEANS.get(reason.casefold())
        assert meaning is not None, f"{page.name}: say in MEANS what {reason!r} means"
        assert rules.get(rule) == meaning, (
            f"{page.name} maps {reason!r} to {rule} ({rules.get(rule)}), "
            f"but {reason!r} means {meaning}"
        )


def test_the_check_catches_the_old_mistake() -> None:
    rules = _demo_rules()
    assert rules["MX-1"] != MEANS["threat"]  # "threat" -> MX-1 was the intimate-images law
    assert "intl-7" not in rules  # the old default rule of the federation pages
