"""The DSA Transparency Database statement schema (v2) and a validator for its rules.

Every enumeration, length limit and conditional rule below is the database's own
(``app/Http/Requests/StatementStoreRequest.php``, ``app/Models/Statement.php``,
``app/Services/EuropeanCountriesService.php`` and ``EuropeanLanguagesService.php`` in
github.com/digital-services-act/transparency-database at commit 69e80a0b). Where the
database silently drops a field that does not apply (its ``exclude_unless`` rules), this
validator reports it instead: an exporter that emits it has a bug.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any, Final
from urllib.parse import urlsplit

__all__ = ["ARRAY_FIELDS", "FIELDS", "ISO_639_1", "MAX_BATCH", "validate_record"]

MAX_BATCH: Final = 100  # POST /api/v1/statements: 'statements' => 'required|array|between:1,100'

DECISION_VISIBILITY: Final = frozenset(
    f"DECISION_VISIBILITY_{v}"
    for v in (
        "CONTENT_REMOVED CONTENT_DISABLED CONTENT_DEMOTED CONTENT_AGE_RESTRICTED "
        "CONTENT_INTERACTION_RESTRICTED CONTENT_LABELLED OTHER"
    ).split()
)
DECISION_MONETARY: Final = frozenset(
    f"DECISION_MONETARY_{v}" for v in ("SUSPENSION", "TERMINATION", "OTHER")
)
DECISION_PROVISION: Final = frozenset(
    f"DECISION_PROVISION_{v}"
    for v in ("PARTIAL_SUSPENSION", "TOTAL_SUSPENSION", "PARTIAL_TERMINATION", "TOTAL_TERMINATION")
)
DECISION_ACCOUNT: Final = frozenset({"DECISION_ACCOUNT_SUSPENDED", "DECISION_ACCOUNT_TERMINATED"})
ACCOUNT_TYPE: Final = frozenset({"ACCOUNT_TYPE_BUSINESS", "ACCOUNT_TYPE_PRIVATE"})
DECISION_GROUND: Final = frozenset(
    {"DECISION_GROUND_ILLEGAL_CONTENT", "DECISION_GROUND_INCOMPATIBLE_CONTENT"}
)
CONTENT_TYPE: Final = frozenset(
    f"CONTENT_TYPE_{v}"
    for v in ("APP", "AUDIO", "IMAGE", "PRODUCT", "SYNTHETIC_MEDIA", "TEXT", "VIDEO", "OTHER")
)
CATEGORY: Final = frozenset(
    f"STATEMENT_CATEGORY_{v}"
    for v in (
        "ANIMAL_WELFARE CONSUMER_INFORMATION CYBER_VIOLENCE CYBER_VIOLENCE_AGAINST_WOMEN "
        "DATA_PROTECTION_AND_PRIVACY_VIOLATIONS ILLEGAL_OR_HARMFUL_SPEECH "
        "INTELLECTUAL_PROPERTY_INFRINGEMENTS NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS "
        "NOT_SPECIFIED_NOTICE OTHER_VIOLATION_TC PROTECTION_OF_MINORS RISK_FOR_PUBLIC_SECURITY "
        "SCAMS_AND_FRAUD SELF_HARM UNSAFE_AND_PROHIBITED_PRODUCTS VIOLENCE"
    ).split()
)
SOURCE_TYPE: Final = frozenset(
    {
        "SOURCE_ARTICLE_16",
        "SOURCE_TRUSTED_FLAGGER",
        "SOURCE_TYPE_OTHER_NOTIFICATION",
        "SOURCE_VOLUNTARY",
    }
)
AUTOMATED_DETECTION: Final = frozenset({"Yes", "No"})
AUTOMATED_DECISION: Final = frozenset(
    {"AUTOMATED_DECISION_FULLY", "AUTOMATED_DECISION_PARTIALLY", "AUTOMATED_DECISION_NOT_AUTOMATED"}
)
#: Statement::KEYWORDS, the values of category_specification.
KEYWORDS: Final = frozenset(
    f"KEYWORD_{v}"
    for v in (
        "ADULT_SEXUAL_MATERIAL AGE_SPECIFIC_RESTRICTIONS AGE_SPECIFIC_RESTRICTIONS_MINORS "
        "ANIMAL_HARM BIOMETRIC_DATA_BREACH BULLYING_AGAINST_GIRLS "
        "CHILD_SEXUAL_ABUSE_MATERIAL CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE "
        "CONTENT_PROMOTING_EATING_DISORDERS COORDINATED_HARM COPYRIGHT_INFRINGEMENT "
        "CYBER_BULLYING_INTIMIDATION CYBER_HARASSMENT CYBER_HARASSMENT_AGAINST_WOMEN "
        "CYBER_INCITEMENT CYBER_STALKING CYBER_STALKING_AGAINST_WOMEN DATA_FALSIFICATION "
        "DEFAMATION DESIGN_INFRINGEMENT DISCRIMINATION FEMALE_GENDERED_DISINFORMATION "
        "GEOGRAPHIC_INDICATIONS_INFRINGEMENT GEOGRAPHICAL_REQUIREMENTS "
        "GOODS_SERVICES_NOT_PERMITTED GROOMING_SEXUAL_ENTICEMENT_MINORS HATE_SPEECH "
        "HIDDEN_ADVERTISEMENT HUMAN_EXPLOITATION HUMAN_TRAFFICKING ILLEGAL_ORGANIZATIONS "
        "IMPERSONATION_ACCOUNT_HIJACKING INAUTHENTIC_ACCOUNTS INAUTHENTIC_LISTINGS "
        "INAUTHENTIC_USER_REVIEWS INCITEMENT_AGAINST_WOMEN INCITEMENT_VIOLENCE_HATRED "
        "INSUFFICIENT_INFORMATION_ON_TRADERS LANGUAGE_REQUIREMENTS "
        "MISINFORMATION_DISINFORMATION MISLEADING_INFO_CONSUMER_RIGHTS "
        "MISLEADING_INFO_GOODS_SERVICES MISSING_PROCESSING_GROUND "
        "NON_CONSENSUAL_IMAGE_SHARING NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN "
        "NON_CONSENSUAL_MATERIAL_DEEPFAKE NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN "
        "NONCOMPLIANCE_PRICING NUDITY PATENT_INFRINGEMENT PHISHING PROHIBITED_PRODUCTS "
        "PYRAMID_SCHEMES RIGHT_TO_BE_FORGOTTEN RISK_ENVIRONMENTAL_DAMAGE RISK_PUBLIC_HEALTH "
        "SELF_MUTILATION STALKING SUICIDE TERRORIST_CONTENT"
    ).split()
)
#: EuropeanCountriesService::EUROPEAN_COUNTRY_CODES: the EU 27 plus Iceland, Liechtenstein
#: and Norway (the EEA); Greece is GR.
TERRITORIAL_SCOPE_CODES: Final = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IS IT LI LT LU LV MT NL NO PL PT RO SE SI "
    "SK".split()
)
#: EuropeanLanguagesService::ALL_LANGUAGES: ISO 639-1, upper case.
ISO_639_1: Final = frozenset(
    "AB AA AF AK SQ AM AR AN HY AS AV AE AY AZ BM BA EU BE BN BH BI BS BR BG MY CA KM CH CE NY "
    "ZH CU CV KW CO CR HR CS DA DV NL DZ EN EO ET EE FO FJ FI FR FF GD GL LG KA DE KI EL KL GN "
    "GU HT HA HE HZ HI HO HU IS IO IG ID IA IE IU IK GA IT JA JV KN KR KS KK RW KV KG KO KJ KU "
    "KY LO LA LV LB LI LN LT LU MK MG MS ML MT GV MI MR MH RO MN NA NV ND NG NE SE NO NB NN II "
    "OC OJ OR OM OS PI PA PS FA PL PT QU RM RN RU SM SG SA SC SR SN SD SI SK SL SO ST NR ES SU "
    "SW SS SV TL TY TG TA TT TE TH BO TI TO TS TN TR TK TW UG UK UR UZ VE VI VO WA CY FY WO XH "
    "YI YO ZA ZU".split()
)

#: Every field, in the order the CSV export writes them.
FIELDS: Final = (
    "puid", "decision_visibility", "decision_visibility_other", "decision_monetary",
    "decision_monetary_other", "decision_provision", "decision_account", "account_type",
    "decision_ground", "decision_ground_reference_url", "illegal_content_legal_ground",
    "illegal_content_explanation", "incompatible_content_ground",
    "incompatible_content_explanation", "incompatible_content_illegal", "category",
    "category_addition", "category_specification", "category_specification_other",
    "content_type", "content_type_other", "content_language", "content_date",
    "application_date", "end_date_account_restriction", "end_date_monetary_restriction",
    "end_date_service_restriction", "end_date_visibility_restriction", "territorial_scope",
    "source_type", "source_identity", "automated_detection", "automated_decision",
    "decision_facts", "content_id_ean",
)  # fmt: skip
ARRAY_FIELDS: Final = frozenset(
    {"decision_visibility", "category_addition", "category_specification", "content_type",
     "territorial_scope"}
)  # fmt: skip

_REQUIRED: Final = (
    "puid", "decision_ground", "category", "content_type", "content_date", "application_date",
    "decision_facts", "source_type", "automated_detection", "automated_decision",
)  # fmt: skip
_ENUMS: Final[Mapping[str, frozenset[str]]] = {
    "decision_visibility": DECISION_VISIBILITY, "decision_monetary": DECISION_MONETARY,
    "decision_provision": DECISION_PROVISION, "decision_account": DECISION_ACCOUNT,
    "account_type": ACCOUNT_TYPE, "decision_ground": DECISION_GROUND, "category": CATEGORY,
    "category_addition": CATEGORY, "content_type": CONTENT_TYPE,
    "territorial_scope": TERRITORIAL_SCOPE_CODES, "content_language": ISO_639_1,
    "source_type": SOURCE_TYPE, "automated_detection": AUTOMATED_DETECTION,
    "automated_decision": AUTOMATED_DECISION, "category_specification": KEYWORDS,
    "incompatible_content_illegal": AUTOMATED_DETECTION,
}  # fmt: skip
_MAX_LENGTH: Final[Mapping[str, int]] = {
    "puid": 500, "decision_visibility_other": 500, "decision_monetary_other": 500,
    "decision_ground_reference_url": 500, "illegal_content_legal_ground": 500,
    "illegal_content_explanation": 2000, "incompatible_content_ground": 500,
    "incompatible_content_explanation": 2000, "category_specification_other": 500,
    "content_type_other": 500, "decision_facts": 5000, "source_identity": 500,
}  # fmt: skip
#: date_format:Y-m-d with after_or_equal / before_or_equal bounds.
_DATES: Final[Mapping[str, tuple[date | None, date]]] = {
    "content_date": (date(2000, 1, 1), date(2038, 1, 1)),
    "application_date": (date(2020, 1, 1), date(2038, 1, 1)),
    "end_date_account_restriction": (None, date(2038, 1, 1)),
    "end_date_monetary_restriction": (None, date(2038, 1, 1)),
    "end_date_service_restriction": (None, date(2038, 1, 1)),
    "end_date_visibility_restriction": (None, date(2038, 1, 1)),
}
_PUID: Final = re.compile(r"[a-zA-Z0-9_-]+")
_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_ILLEGAL_ONLY: Final = ("illegal_content_legal_ground", "illegal_content_explanation")
_INCOMPATIBLE_ONLY: Final = (
    "incompatible_content_ground",
    "incompatible_content_explanation",
    "incompatible_content_illegal",
)


def _present(record: Mapping[str, Any], name: str) -> bool:
    value = record.get(name)
    return value is not None and value != "" and value != []


def _check_enum(name: str, value: Any, errors: list[str]) -> None:
    allowed = _ENUMS[name]
    values = value if name in ARRAY_FIELDS else [value]
    if name in ARRAY_FIELDS and not isinstance(value, list):
        errors.append(f"{name} must be a list")
        return
    for item in values:
        if item not in allowed:
            errors.append(f"{name}: {item!r} is not one of the allowed values")


def _check_date(name: str, value: Any, errors: list[str]) -> None:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        errors.append(f"{name} must be a date in the format YYYY-MM-DD, got {value!r}")
        return
    try:
        day = date.fromisoformat(value)
    except ValueError:
        errors.append(f"{name} {value!r} is not a calendar date")
        return
    low, high = _DATES[name]
    if low and day < low:
        errors.append(f"{name} {value} is before {low.isoformat()}")
    if day > high:
        errors.append(f"{name} {value} is after {high.isoformat()}")


def validate_record(record: Mapping[str, Any]) -> list[str]:
    """Every rule the database would enforce that ``record`` breaks (empty: valid)."""
    errors = [f"unknown field {name!r}" for name in record if name not in FIELDS]
    errors += [f"{name} is required" for name in _REQUIRED if not _present(record, name)]
    decisions = ("decision_visibility", "decision_monetary", "decision_provision",
                 "decision_account")  # fmt: skip
    if not any(_present(record, name) for name in decisions):
        errors.append(f"at least one of {', '.join(decisions)} is required")
    for name, value in record.items():
        if value is None or name not in FIELDS:
            continue
        if name in _ENUMS:
            _check_enum(name, value, errors)
        if name in _DATES:
            _check_date(name, value, errors)
        if name in _MAX_LENGTH and (not isinstance(value, str) or len(value) > _MAX_LENGTH[name]):
            errors.append(f"{name} must be text of at most {_MAX_LENGTH[name]} characters")
    ean = record.get("content_id_ean")
    if ean is not None and not (isinstance(ean, str) and re.fullmatch(r"[0-9]{13}", ean)):
        errors.append("content_id_ean must be 13 digits (an EAN-13)")
    puid = record.get("puid")
    if isinstance(puid, str) and puid and not _PUID.fullmatch(puid):
        errors.append("puid may contain only letters, digits, '-' and '_'")
    url = record.get("decision_ground_reference_url")
    if url is not None and (
        not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https")
        or not urlsplit(url).netloc
    ):  # fmt: skip
        errors.append("decision_ground_reference_url must be an http(s) URL")
    ground = record.get("decision_ground")
    own, other = (
        (_ILLEGAL_ONLY, _INCOMPATIBLE_ONLY)
        if ground == "DECISION_GROUND_ILLEGAL_CONTENT"
        else (_INCOMPATIBLE_ONLY, _ILLEGAL_ONLY)
    )
    if ground in DECISION_GROUND:
        errors += [
            f"{name} is required when decision_ground is {ground}"
            for name in own[:2]
            if not _present(record, name)
        ]
        errors += [
            f"{name} must be absent when decision_ground is {ground}"
            for name in other
            if _present(record, name)
        ]
    _conditional(record, errors)
    return errors


def _conditional(record: Mapping[str, Any], errors: list[str]) -> None:
    """The ``*_other`` fields: required with OTHER, absent without; no identity if voluntary."""
    pairs = (
        ("decision_visibility", "DECISION_VISIBILITY_OTHER", "decision_visibility_other"),
        ("decision_monetary", "DECISION_MONETARY_OTHER", "decision_monetary_other"),
        ("content_type", "CONTENT_TYPE_OTHER", "content_type_other"),
    )
    for field, other_value, other_field in pairs:
        value = record.get(field)
        chosen = other_value in value if isinstance(value, list) else value == other_value
        if chosen and not _present(record, other_field):
            errors.append(f"{other_field} is required when {field} is {other_value}")
        if not chosen and _present(record, other_field):
            errors.append(f"{other_field} must be absent unless {field} is {other_value}")
    if record.get("source_type") == "SOURCE_VOLUNTARY" and _present(record, "source_identity"):
        errors.append("source_identity must be absent when source_type is SOURCE_VOLUNTARY")
