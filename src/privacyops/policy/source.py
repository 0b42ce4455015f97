"""Moved to :mod:`privacyops.yamlfile` (one YAML reader for policy and connectors); these names
stay importable from here for code written against the old place."""

from privacyops.yamlfile import Loc, Position, SourceMap, YamlProblem, dotted, parse_yaml

__all__ = ["Loc", "Position", "SourceMap", "YamlProblem", "dotted", "parse_yaml"]
