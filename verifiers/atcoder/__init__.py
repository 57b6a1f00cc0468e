"""AtCoder heuristic contests: generators, scorers, judge."""
