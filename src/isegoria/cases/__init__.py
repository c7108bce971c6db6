"""Cases: reports, juries, ballots, verdicts, appeals and retrials."""
