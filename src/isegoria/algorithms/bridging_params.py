"""Constants of the bridging (Community Notes) scorer, each with its source.

Sources, cited below by short name:

* [paper]: S. Wojcik et al., *Birdwatch: Crowd Wisdom and Bridging Algorithms can Inform
  Understanding and Reduce the Spread of Misinformation*, arXiv:2210.15723 (2022).
* [ranking]: Community Notes guide, "Note ranking algorithm"
  (documentation/under-the-hood/ranking-notes.md in github.com/twitter/communitynotes):
  sections "Helpful Rating Mapping", "Matrix Factorization", "CRH Inertia" and
  "Complete Algorithm Steps".
* [contributors]: Community Notes guide, "Contributor helpfulness scores"
  (documentation/under-the-hood/contributor-scores.md), sections "Author Helpfulness
  Scores", "Rater Helpfulness Score" and "Filtering Ratings Based on Helpfulness Scores".
* [code]: the defaults of the public scorer (``MFBaseScorer.__init__`` and
  ``MatrixFactorization.__init__`` in scoring/src/scoring of the same repository). Only
  numbers are taken from it, never code.
* [rules]: the status rules of that scorer, ``compute_scored_notes`` and ``is_crnh_ratio``
  in scoring/src/scoring/note_ratings.py, the rule classes of scoring_rules.py
  (``NMtoCRNH``, ``RuleFromFunction``'s "only notes that say the post is misleading",
  ``FilterTagOutliers``, ``FilterIncorrect``), tag_filter.py, incorrect_filter.py and
  constants.py (``tagPercentileForNormalization``, ``intervalHalfWidth``), with the
  guide's sections "Note Status", "Tag Outlier Filtering", "Additional Filtering for
  Incorrect Tags" and "Additional Not Helpful Scoring" (read at the repository's state
  of 2026-07; :mod:`isegoria.algorithms.bridging_rules` says which rule is which).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal

# [ranking] "Helpful Rating Mapping": Yes -> 1.0, Somewhat -> 0.5, No -> 0.0.
HELPFUL: Final = 1.0
SOMEWHAT_HELPFUL: Final = 0.5
NOT_HELPFUL: Final = 0.0

# Integer codes of a note status, as stored in the scorer's numpy arrays.
CODE_NEEDS_MORE_RATINGS: Final = 0
CODE_HELPFUL: Final = 1
CODE_NOT_HELPFUL: Final = 2

# The "not helpful" reason tags of a rating, by the public ratings file's column names, in
# that file's order ([rules] constants.notHelpfulTagsTSVOrder). Bit i of a rating's tag
# mask (``RatingsMatrix.tags``) is set when the rater chose NOT_HELPFUL_TAGS[i].
NOT_HELPFUL_TAGS: Final = (
    "notHelpfulOther", "notHelpfulIncorrect", "notHelpfulSourcesMissingOrUnreliable",
    "notHelpfulOpinionSpeculationOrBias", "notHelpfulMissingKeyPoints", "notHelpfulOutdated",
    "notHelpfulHardToUnderstand", "notHelpfulArgumentativeOrBiased", "notHelpfulOffTopic",
    "notHelpfulSpamHarassmentOrAbuse", "notHelpfulIrrelevantSources",
    "notHelpfulOpinionSpeculation", "notHelpfulNoteNotNeeded",
)  # fmt: skip
TAG_BIT: Final = {name: 1 << index for index, name in enumerate(NOT_HELPFUL_TAGS)}
#: The tag the incorrect filter counts ([rules] ``FilterIncorrect``).
INCORRECT_TAG: Final = "notHelpfulIncorrect"
#: The tag outlier filter skips this one ([ranking] "Tag Outlier Filtering": "we disregard
#: the 'Typos or unclear language' tag"; [rules] ``FilterTagOutliers``).
TAG_OUTLIER_IGNORED: Final = frozenset({"notHelpfulHardToUnderstand"})


class NoteStatus(StrEnum):
    """The status of a note ([ranking] "Note Status")."""

    NEEDS_MORE_RATINGS = "needs_more_ratings"
    HELPFUL = "helpful"
    NOT_HELPFUL = "not_helpful"

    @property
    def code(self) -> int:
        """The integer code of this status in the scorer's arrays."""
        return _CODE_BY_STATUS[self]

    @classmethod
    def from_code(cls, code: int) -> NoteStatus:
        """The status stored as ``code`` in the scorer's arrays."""
        try:
            return STATUS_BY_CODE[code]
        except IndexError:
            raise ValueError(f"unknown note status code {code}; expected 0, 1 or 2") from None


STATUS_BY_CODE: Final[tuple[NoteStatus, ...]] = (
    NoteStatus.NEEDS_MORE_RATINGS,
    NoteStatus.HELPFUL,
    NoteStatus.NOT_HELPFUL,
)
_CODE_BY_STATUS: Final = {status: code for code, status in enumerate(STATUS_BY_CODE)}

PenaltyScaling = Literal["documented", "per_rating_mean"]


@dataclass(frozen=True, slots=True)
class ScoringParams:
    """Every constant of the bridging scorer; the defaults are the published ones."""

    # --- the model ([ranking] "Matrix Factorization", [paper] §3) -----------------------
    intercept_lambda: float = 0.15
    """lambda_i, the L2 weight on mu, rater and note intercepts ([ranking]: 0.15)."""
    factor_lambda: float = 0.03
    """lambda_f, the L2 weight on rater and note factors ([ranking]: 0.03, 5x less)."""
    penalty_scaling: PenaltyScaling = "per_rating_mean"
    """How the penalties are weighed against the squared errors.

    ``"per_rating_mean"`` (default) is what [code] minimises: the *mean* squared error
    plus lambda times the *mean* square of each parameter block (and lambda_i mu^2).
    Times the number of ratings N this is the sum of squared errors with each block's
    penalty weighted by N / (size of the block), e.g. lambda_i x (ratings per note) on
    note intercepts. ``"documented"`` takes [ranking]'s formula literally, with plain
    sums, so the penalties stay fixed while notes gather ratings.

    Why the default: the thresholds (0.40, -0.05 - 0.8 |f|) were tuned on [code]'s loss,
    and on planted two-camp data with self-selected raters the literal formula lets
    partisan notes rated only by their own camp reach 0.40 (93 of 20,194 partisan notes
    helpful on the 10^6-rating data of benchmarks/notes_bench.py), while [code]'s scaling rated
    none helpful, at the price of more notes left needing ratings.
    """

    # --- data pre-filter ([ranking] "Complete Algorithm Steps", step 1) -----------------
    min_ratings_per_note: int = 5
    """Notes with fewer ratings are left out of the fit ([ranking] step 1; [code])."""
    min_ratings_per_rater: int = 10
    """Raters with fewer ratings (on the kept notes) are left out ([contributors]; [code])."""

    # --- statuses ([ranking] "Note Status" and "Matrix Factorization") ------------------
    min_ratings_for_status: int = 5
    """A note needs this many ratings in the final fit to leave needs-more-ratings."""
    helpful_intercept: float = 0.40
    """A note is helpful when its intercept is at least this ([ranking])..."""
    helpful_max_abs_factor: float = 0.50
    """... and the magnitude of its factor is below this ([code] ``factorThreshold``)."""
    not_helpful_intercept: float = -0.05
    """Not helpful when intercept < this - multiplier * |factor| ([ranking])."""
    not_helpful_factor_multiplier: float = 0.8
    """The multiplier in the not-helpful threshold above ([ranking]: 0.8)."""

    not_misleading_not_helpful_intercept: float = -0.15
    """A note whose writer says the post is *not* misleading is not helpful when its
    intercept is below this, whatever its rating count ([rules] ``NMtoCRNH``,
    ``crnhThresholdNMIntercept``). Such a note is never helpful: [ranking] "Note Status"
    shows only notes that say the post is misleading ([rules] ``GeneralCRH`` and the
    inertia rule apply only to those)."""

    # --- the ratio rule ([ranking] "Additional Not Helpful Scoring"; [rules] RatioCRNH) -
    ratio_max_side_mean: float = 0.4
    """Not helpful when the mean rating from raters of *each* factor sign is at most this
    ([rules] ``is_crnh_ratio`` ``maxHelpfulNumPerSide``)..."""
    ratio_max_mean_of_sides: float = 0.3
    """... the average of the two means is at most this (``maxAvgHelpfulNumPerSide``)..."""
    ratio_min_raters_per_side: int = 3
    """... each sign has at least this many raters (``minMinSignCount``), and the note has
    ``min_ratings_for_status`` ratings. Rater signs are the final fit's (negative factor:
    one side; zero or positive: the other), over every rating of a rater in that fit."""

    # --- the tag outlier filter ([ranking] "Tag Outlier Filtering"; [rules] TagFilter) --
    tag_outlier_min_weight: float = 2.5
    """A note loses a helpful status when, for some not-helpful tag, the distance-weighted
    number of ratings with that tag exceeds this ([rules] ``minAdjustedTotal``)..."""
    tag_outlier_percentile: float = 95.0
    """... and that tag's weighted share exceeds this percentile of the same share over
    the notes rated helpful before the filters ([rules] ``tagFilterPercentile``)."""
    tag_weight_distance_percentile: float = 40.0
    """A rating's tag weight is 1 / (1 + (d / d_p)^5), d the distance between the rater's
    and the note's z-normalised factors and d_p this percentile of d over all ratings
    ([rules] ``tagPercentileForNormalization``)."""
    tag_weight_exponent: float = 5.0
    """The exponent of that weight ([ranking] "Tag Outlier Filtering": 5)."""
    tag_outlier_super_threshold: float | None = None
    """Intercept at which a note flagged by the tag filter is helpful all the same. The
    guide still says 0.5; the public scorer turned it off (``crhSuperThreshold = None``,
    2026-07), so by default a flagged note is never helpful."""

    # --- the incorrect filter ([ranking] "Additional Filtering for Incorrect Tags") -----
    incorrect_min_tags: int = 2
    """A note loses a helpful status when raters near it gave "incorrect" at least this
    many times ([rules] ``FilterIncorrect`` ``tagThreshold``)..."""
    incorrect_min_voters: int = 3
    """... at least this many raters near it gave some not-helpful tag (``voteThreshold``)..."""
    incorrect_min_score: float = 2.5
    """... and incorrect tags / ln(1 + sum of those raters' propensity to tag
    "incorrect") is at least this (``incorrectFilterThreshold``)."""
    incorrect_factor_clip: float = 0.4
    """Rater and note factors are clipped to +/- this before comparing them ([rules])..."""
    incorrect_interval_half_width: float = 0.3
    """... and a rater is "near" a note when they differ by less than this
    (``intervalHalfWidth``)."""

    # --- net helpful minimums ([ranking] "Agreement Safeguards") ------------------------
    net_helpful_minimums: bool = False
    """Apply the net helpful minimums below. Off by default, unlike the public core model:
    on the planted two-camp populations it holds back a share of bridging notes whose
    smaller camp rated them only a few times, which the scorer's model tests (which
    predate the rule) count as misses; switching it on is a decision of its own
    (docs/notes.md, "Published rules")."""
    min_net_helpful: int = 4
    """A helpful note needs, on each side of the final fit's rater factors, at least this
    many more helpful than not-helpful ratings ([rules] ``MinMinorityRaters``; [code]
    ``MFCoreScorer`` ``minMinorityNetHelpfulRatings``)..."""
    net_helpful_without_ratio: int = 10
    """... and below this many, also a net helpful ratio of ``min_net_helpful_ratio``
    ([rules] ``RequireRaterBalance`` ``maxMinorityNetHelpfulRatings``)..."""
    min_net_helpful_ratio: float = 0.05
    """... the smaller side's net helpful ratings over all the note's ratings
    ([code] ``minMinorityNetHelpfulRatio``)."""

    # --- hysteresis ([ranking] "CRH Inertia") -------------------------------------------
    helpful_intercept_margin: float = 0.01
    """A helpful note keeps its status until its intercept falls below
    ``helpful_intercept - margin`` ([ranking]: 0.40 -> 0.39)."""
    helpful_factor_margin: float = 0.01
    """Ours, by symmetry: a helpful note keeps its status while |factor| stays below
    ``helpful_max_abs_factor + margin``. [code] does not re-check the factor for notes
    already helpful; we keep the check, with a margin, so a note that becomes clearly
    one-sided still loses the status."""
    not_helpful_margin: float = 0.01
    """Ours, by symmetry with the helpful side: a not-helpful note keeps its status until
    its intercept rises above the not-helpful threshold plus this margin."""

    # --- rater quality ([contributors]) ---------------------------------------------------
    min_rater_agreement: float = 0.66
    """Raters enter the final fit only if at least this share of their helpful / not
    helpful ratings on notes that got a first-round status agree with it."""
    min_author_crh_vs_crnh: float = 0.0
    """Authors need (share helpful) - crnh_multiplier * (share not helpful) >= this."""
    author_crnh_multiplier: float = 5.0
    """[contributors] "Author Helpful vs. Not Helpful Ratio": not-helpful notes weigh 5x."""
    min_author_mean_note_score: float = 0.05
    """Authors need a mean intercept of their scored notes of at least this."""

    # --- optimiser (ours; see bridging_model) ---------------------------------------------
    max_iterations: int = 2000
    """Upper bound on alternating-least-squares sweeps per fit."""
    step_tolerance: float = 1e-6
    """Converged when no parameter would move by more than this under a Newton step on
    that parameter alone (|dL/dtheta| / d2L/dtheta2). Statuses use 0.01-wide margins."""
    power_iterations: int = 30
    """Power-method steps for the starting factors (leading singular pair of residuals)."""
    seed: int = 0
    """Seed of the power method's starting vector; a fit is a pure function of it."""

    def __post_init__(self) -> None:
        """Refuse parameters that make the model or the status rules meaningless."""
        for name in ("intercept_lambda", "factor_lambda"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        for name in (
            "min_ratings_per_note",
            "min_ratings_per_rater",
            "min_ratings_for_status",
            "max_iterations",
            "power_iterations",
            "ratio_min_raters_per_side",
            "incorrect_min_tags",
            "incorrect_min_voters",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in (
            "helpful_intercept_margin",
            "helpful_factor_margin",
            "not_helpful_margin",
            "not_helpful_factor_multiplier",
            "author_crnh_multiplier",
            "tag_outlier_min_weight",
            "tag_weight_exponent",
            "incorrect_min_score",
            "incorrect_factor_clip",
            "incorrect_interval_half_width",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")
        if not 0 <= self.min_rater_agreement <= 1:
            raise ValueError("min_rater_agreement must lie in [0, 1]")
        if self.helpful_max_abs_factor <= 0 or self.step_tolerance <= 0:
            raise ValueError("helpful_max_abs_factor and step_tolerance must be positive")
        if self.helpful_intercept - self.helpful_intercept_margin <= (
            self.not_helpful_intercept + self.not_helpful_margin
        ):
            raise ValueError("the helpful and not-helpful intercept bands must not overlap")
        if self.min_net_helpful < 0 or self.net_helpful_without_ratio < self.min_net_helpful:
            raise ValueError("need 0 <= min_net_helpful <= net_helpful_without_ratio")
        for name in ("ratio_max_side_mean", "ratio_max_mean_of_sides", "min_net_helpful_ratio"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must lie in [0, 1], got {getattr(self, name)}")
        for name in ("tag_outlier_percentile", "tag_weight_distance_percentile"):
            if not 0 < getattr(self, name) <= 100:
                raise ValueError(f"{name} must lie in (0, 100], got {getattr(self, name)}")
        if self.penalty_scaling not in ("documented", "per_rating_mean"):
            raise ValueError(f"unknown penalty_scaling {self.penalty_scaling!r}")


DEFAULT_PARAMS: Final = ScoringParams()
